/* TLS configuration through BearSSL: the context (its certificates, loaded
 * by tls_cert.c), the session cache the server's threads share, the SNI
 * policy that picks a certificate by the name the client asks for, and
 * the settings every connection's engine starts from. */
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TLS_DEFAULT_SESSIONS 1024u
#define TLS_DEFAULT_HANDSHAKE_MS 10000u
#define TLS_DEFAULT_TRIM_MS 1000u
#define TLS_MAX_RECORD 16384u
#define TLS_MIN_RECORD 512u
#define TLS_OUT_OVERHEAD (BR_SSL_BUFSIZE_OUTPUT - TLS_MAX_RECORD)
#define TLS_SESSION_BYTES 100u /* what BearSSL's LRU cache stores per session */

/* ECDHE only (forward secrecy), AEAD only; the server's order wins. */
static const uint16_t tls_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* Where the public-key arithmetic, SHA-1, SHA-256 and the SHA-256 PRF
 * come from: Nettle's (tls_nettle.c) when built with it, BearSSL's own
 * otherwise. (SHA-384 and SHA-512 stay BearSSL's: Nettle's contexts do
 * not fit BearSSL's hash context, and are barely faster here.) */
#ifdef ZZZ_HAVE_NETTLE
#define TLS_EC (&zzz_tls_nettle_ec)
#define TLS_ECDSA_SIGN zzz_tls_nettle_ecdsa_sign
#define TLS_RSA_SIGN zzz_tls_nettle_rsa_sign
#define TLS_SHA1 (&zzz_tls_nettle_sha1_vtable)
#define TLS_SHA256 (&zzz_tls_nettle_sha256_vtable)
#define TLS_PRF_SHA256 zzz_tls_nettle_prf_sha256
#else
#define TLS_EC br_ec_get_default()
#define TLS_ECDSA_SIGN br_ecdsa_sign_asn1_get_default()
#define TLS_RSA_SIGN br_rsa_pkcs1_sign_get_default()
#define TLS_SHA1 (&br_sha1_vtable)
#define TLS_SHA256 (&br_sha256_vtable)
#define TLS_PRF_SHA256 br_tls12_sha256_prf
#endif

/* ALPN names: RFC 7301 allows 1 to 255 bytes; a server speaks a few. */
#define TLS_ALPN_MAX_NAMES 16u
#define TLS_ALPN_MAX_LEN 255u

/* ---- the shared session cache ---- */

static void cache_save(const br_ssl_session_cache_class **vt, br_ssl_server_context *sc,
                       const br_ssl_session_parameters *params)
{
    tls_cache *c = (tls_cache *)(void *)vt;
    pthread_mutex_lock(&c->lock);
    c->lru.vtable->save(&c->lru.vtable, sc, params);
    pthread_mutex_unlock(&c->lock);
}

static int cache_load(const br_ssl_session_cache_class **vt, br_ssl_server_context *sc,
                      br_ssl_session_parameters *params)
{
    tls_cache *c = (tls_cache *)(void *)vt;
    pthread_mutex_lock(&c->lock);
    int found = c->lru.vtable->load(&c->lru.vtable, sc, params);
    pthread_mutex_unlock(&c->lock);
    return found;
}

static const br_ssl_session_cache_class cache_class = {
    .context_size = sizeof(tls_cache),
    .save = cache_save,
    .load = cache_load,
};

/* ---- ALPN ---- */

/* Copies the protocol names into one block the context owns (the
 * caller's list is not kept; each engine links to this copy). */
static int load_alpn(zzz_tls_ctx *ctx, const char *const *names)
{
    if (!names)
        return 0; /* no ALPN: BearSSL ignores a client's offer */
    size_t count = 0, bytes = 0;
    for (; names[count]; count++) {
        size_t len = strlen(names[count]);
        if (len == 0 || len > TLS_ALPN_MAX_LEN) {
            zzz_set_error("tls: alpn: protocol name %zu is %s", count + 1,
                          len ? "longer than 255 bytes" : "empty");
            return -EINVAL;
        }
        if (count == TLS_ALPN_MAX_NAMES) {
            zzz_set_error("tls: alpn: more than %u protocol names", TLS_ALPN_MAX_NAMES);
            return -EINVAL;
        }
        bytes += len + 1;
    }
    if (count == 0)
        return 0;
    ctx->alpn = malloc(count * sizeof *ctx->alpn + bytes);
    if (!ctx->alpn)
        return -ENOMEM;
    char *text = (char *)(ctx->alpn + count);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(text, names[i], len);
        ctx->alpn[i] = text;
        text += len;
    }
    ctx->alpn_count = count;
    return 0;
}

/* ---- the context ---- */

/* BearSSL's own choice for this CPU, as br_ssl_engine_set_default_aes_gcm
 * and _chapol make it: AES-NI and PCLMULQDQ (or POWER8's), SSE2 and
 * 64-bit multiplications where there are, constant-time portable code
 * where not (the 64-bit kind on 64-bit machines). Made once here, as each
 * of those calls asks the CPU. */
static void choose_ciphers(zzz_tls_ctx *ctx)
{
    bool wide = UINTPTR_MAX > 0xFFFFFFFFu;
    ctx->aes_ctr = br_aes_x86ni_ctr_get_vtable();
    if (!ctx->aes_ctr)
        ctx->aes_ctr = br_aes_pwr8_ctr_get_vtable();
    if (!ctx->aes_ctr)
        ctx->aes_ctr = wide ? &br_aes_ct64_ctr_vtable : &br_aes_ct_ctr_vtable;
    ctx->ghash = br_ghash_pclmul_get();
    if (!ctx->ghash)
        ctx->ghash = br_ghash_pwr8_get();
    if (!ctx->ghash)
        ctx->ghash = wide ? br_ghash_ctmul64 : br_ghash_ctmul;
    ctx->chacha = br_chacha20_sse2_get();
    if (!ctx->chacha)
        ctx->chacha = br_chacha20_ct_run;
    ctx->poly = br_poly1305_ctmulq_get();
    if (!ctx->poly)
        ctx->poly = br_poly1305_ctmul_run;
}

int zzz_tls_ctx_create(zzz_tls_ctx **out, const zzz_tls_config *cfg)
{
    if (!cfg->certs || cfg->cert_count == 0) {
        zzz_set_error("tls: no certificate given (certs and cert_count)");
        return -EINVAL;
    }
    if (cfg->record_size &&
        (cfg->record_size < TLS_MIN_RECORD || cfg->record_size > TLS_MAX_RECORD)) {
        zzz_set_error("tls: record_size %zu is outside %u..%u", cfg->record_size, TLS_MIN_RECORD,
                      TLS_MAX_RECORD);
        return -EINVAL;
    }
    zzz_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return -ENOMEM;
    ctx->certs = calloc(cfg->cert_count, sizeof *ctx->certs);
    int err = ctx->certs ? 0 : -ENOMEM;
    for (unsigned i = 0; err == 0 && i < cfg->cert_count; i++) {
        ctx->cert_count = i + 1;
        err = zzz_tls_cert_load(&ctx->certs[i], &cfg->certs[i], i);
    }
    if (err == 0)
        err = load_alpn(ctx, cfg->alpn);
    uint32_t hs_ms =
        cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : TLS_DEFAULT_HANDSHAKE_MS;
    ctx->handshake_ns = (uint64_t)hs_ms * 1000000u;
    ctx->trim_ns =
        (uint64_t)(cfg->idle_trim_ms ? cfg->idle_trim_ms : TLS_DEFAULT_TRIM_MS) * 1000000u;
    ctx->record_size = cfg->record_size ? cfg->record_size : TLS_MAX_RECORD;
    choose_ciphers(ctx);
    size_t state =
        sizeof(zzz_tls_conn) + BR_SSL_BUFSIZE_INPUT + ctx->record_size + TLS_OUT_OVERHEAD;
    ctx->state_size = (state + 63) & ~(size_t)63;
    unsigned sessions = cfg->session_cache_size ? cfg->session_cache_size : TLS_DEFAULT_SESSIONS;
    if (err == 0) {
        ctx->cache.store_len = (size_t)sessions * TLS_SESSION_BYTES;
        ctx->cache.store = malloc(ctx->cache.store_len);
        if (!ctx->cache.store)
            err = -ENOMEM;
    }
    if (err == 0) {
        ctx->cache.vtable = &cache_class;
        br_ssl_session_cache_lru_init(&ctx->cache.lru, ctx->cache.store, ctx->cache.store_len);
        pthread_mutex_init(&ctx->cache.lock, NULL);
    }
    if (err) {
        if (err == -ENOMEM)
            zzz_set_error("tls: out of memory");
        zzz_tls_ctx_destroy(ctx);
        return err;
    }
    *out = ctx;
    return 0;
}

void zzz_tls_ctx_destroy(zzz_tls_ctx *ctx)
{
    if (!ctx)
        return;
    for (unsigned i = 0; ctx->certs && i < ctx->cert_count; i++)
        zzz_tls_cert_free(&ctx->certs[i]);
    free(ctx->certs);
    free(ctx->alpn);
    if (ctx->cache.store) {
        if (ctx->cache.vtable)
            pthread_mutex_destroy(&ctx->cache.lock);
        memset(ctx->cache.store, 0, ctx->cache.store_len); /* session secrets */
        free(ctx->cache.store);
    }
    free(ctx);
}

size_t zzz_tls_state_size(const zzz_tls_ctx *ctx)
{
    return ctx->state_size;
}

uint64_t zzz_tls_trim_ns(const zzz_tls_ctx *ctx)
{
    return ctx->trim_ns;
}

size_t zzz_tls_cache_size(const zzz_tls_ctx *ctx)
{
    return ctx->cache.store_len;
}

/* ---- choosing a certificate (SNI) ---- */

static bool name_matches(const char *pattern, const char *host)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        /* One label, then the rest exactly: "*.b.test" takes "a.b.test". */
        const char *dot = strchr(host, '.');
        return dot && dot != host && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, host) == 0;
}

static const tls_cert *cert_for(const zzz_tls_ctx *ctx, const char *host)
{
    if (host && host[0]) {
        /* Exact names first, so "a.b.test" beats "*.b.test" elsewhere. */
        for (int pass = 0; pass < 2; pass++)
            for (unsigned i = 0; i < ctx->cert_count; i++)
                for (size_t k = 0; k < ctx->certs[i].name_count; k++) {
                    const char *pattern = ctx->certs[i].names[k];
                    if ((pattern[0] == '*') == (pass == 1) && name_matches(pattern, host))
                        return &ctx->certs[i];
                }
    }
    return &ctx->certs[0];
}

/* BearSSL asks for the policy once the ClientHello is in: pick the pair
 * for the name the client asked for, install it as the server context's
 * own single-key policy, and let that choose the suite and the signature
 * hash. The engine signs through the installed policy from then on. */
static int tls_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *csc,
                      br_ssl_server_choices *choices)
{
    zzz_tls_conn *t = (zzz_tls_conn *)(void *)((char *)pctx - offsetof(zzz_tls_conn, policy));
    br_ssl_server_context *sc = &t->sc;
    (void)csc; /* the same context, without const */
    const tls_cert *tc = cert_for(t->ctx, br_ssl_engine_get_server_name(&sc->eng));
    if (tc->key_type == BR_KEYTYPE_RSA)
        br_ssl_server_set_single_rsa(sc, tc->chain, tc->chain_len, &tc->rsa, BR_KEYTYPE_SIGN,
                                     br_rsa_private_get_default(), TLS_RSA_SIGN);
    else
        br_ssl_server_set_single_ec(sc, tc->chain, tc->chain_len, &tc->ec, BR_KEYTYPE_SIGN,
                                    BR_KEYTYPE_EC, TLS_EC, TLS_ECDSA_SIGN);
    const br_ssl_server_policy_class **chosen = sc->policy_vtable;
    return (*chosen)->choose(chosen, sc, choices);
}

static const br_ssl_server_policy_class sni_policy = {
    .context_size = sizeof(zzz_tls_conn),
    .choose = tls_choose,
    /* Never called through this class: tls_choose installs the policy
     * that signs, and no suite uses RSA or static ECDH key exchange. */
    .do_keyx = NULL,
    .do_sign = NULL,
};

void zzz_tls_engine_setup(zzz_tls_conn *t, const zzz_tls_ctx *ctx)
{
    br_ssl_server_context *sc = &t->sc;
    br_ssl_engine_context *eng = &sc->eng;
    br_ssl_server_zero(sc);
    br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(eng, tls_suites, sizeof tls_suites / sizeof tls_suites[0]);
    /* Hashes for the transcript, the PRF and the ServerKeyExchange
     * signature (whichever the client supports). Each one set runs over
     * every handshake message: SHA-224, which no client needs (TLS 1.2
     * clients all take SHA-256), is left out. SHA-1 stays for clients
     * that send no signature_algorithms (RFC 5246 then means SHA-1). */
    br_ssl_engine_set_hash(eng, br_sha1_ID, TLS_SHA1);
    br_ssl_engine_set_hash(eng, br_sha256_ID, TLS_SHA256);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf_sha256(eng, TLS_PRF_SHA256);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_ec(eng, TLS_EC);
    br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
    br_ssl_engine_set_aes_ctr(eng, ctx->aes_ctr);
    br_ssl_engine_set_ghash(eng, ctx->ghash);
    br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
    br_ssl_engine_set_chacha20(eng, ctx->chacha);
    br_ssl_engine_set_poly1305(eng, ctx->poly);
    /* A client that offers ALPN but none of ours is refused
     * (no_application_protocol) rather than served a protocol it did not
     * ask for. */
    if (ctx->alpn_count)
        br_ssl_engine_set_protocol_names(eng, ctx->alpn, ctx->alpn_count);
    br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION |
                                     BR_OPT_FAIL_ON_ALPN_MISMATCH);
    t->policy = &sni_policy;
    t->ctx = ctx;
    br_ssl_server_set_policy(sc, &t->policy);
    br_ssl_server_set_cache(sc, &((zzz_tls_ctx *)ctx)->cache.vtable);
    br_ssl_engine_set_buffers_bidi(eng, t->buffers, BR_SSL_BUFSIZE_INPUT,
                                   t->buffers + BR_SSL_BUFSIZE_INPUT,
                                   ctx->record_size + TLS_OUT_OVERHEAD);
}
