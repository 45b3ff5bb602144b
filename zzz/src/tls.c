/* TLS through BearSSL: certificates and keys loaded and checked at
 * start-up, the engine of each connection (from the worker's pool), the
 * handshake, records in and out, SNI through a policy that picks a
 * certificate by the name the client asks for, and a session cache shared
 * by the server's threads. See stream.h for the calls' promises. */
#include "deadline.h"
#include "stream.h"

#include <bearssl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_DEFAULT_SESSIONS 1024u
#define TLS_DEFAULT_HANDSHAKE_MS 10000u
#define TLS_DEFAULT_TRIM_MS 1000u
#define TLS_MAX_RECORD 16384u
#define TLS_MIN_RECORD 512u
#define TLS_OUT_OVERHEAD (BR_SSL_BUFSIZE_OUTPUT - TLS_MAX_RECORD)
#define TLS_SESSION_BYTES 100u /* what BearSSL's LRU cache stores per session */
#define TLS_MAX_PEM (1u << 20) /* a certificate or key file larger is refused */
#define TLS_STAGE 4096u        /* read-ahead for small records (zzz_tls_conn.stage) */

/* ECDHE only (forward secrecy), AEAD only; the server's order wins. */
static const uint16_t tls_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

static const char *tls_alpn[] = {"http/1.1"};

/* One certificate chain and its key, owned by the context. */
typedef struct tls_cert {
    br_x509_certificate *chain;
    size_t chain_len;
    int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    br_rsa_private_key rsa;
    br_ec_private_key ec;
    unsigned char *key_mem; /* the key's numbers, which rsa / ec point into */
    char **names;
    size_t name_count;
} tls_cert;

/* A session cache all threads share: BearSSL's LRU behind a lock (taken
 * once per handshake). */
typedef struct tls_cache {
    const br_ssl_session_cache_class *vtable;
    br_ssl_session_cache_lru lru;
    pthread_mutex_t lock;
    unsigned char *store;
    size_t store_len;
} tls_cache;

struct zzz_tls_ctx {
    tls_cert *certs;
    unsigned cert_count;
    uint64_t handshake_ns;
    uint64_t trim_ns;
    size_t record_size;
    size_t state_size;
    tls_cache cache;
};

/* A connection's TLS state: one slot of the worker's pool. */
struct zzz_tls_conn {
    br_ssl_server_context sc;
    /* The policy BearSSL calls once the ClientHello is in (tls_choose). */
    const br_ssl_server_policy_class *policy;
    const zzz_tls_ctx *ctx;
    bool established; /* the handshake finished */
    bool broken;      /* the socket failed or the peer left: send nothing more */
    /* Bytes received ahead of what the engine asked for. BearSSL takes a
     * record's 5-byte header and then its body; reading into here first
     * gets a small record (or several) in one recv instead of two. */
    uint16_t staged_off, staged_len;
    /* Where the bytes fed to the engine stand in the record stream: a
     * partial header, or body bytes still to come. Both zero: at a record
     * boundary, so the input buffer holds nothing the engine needs. */
    uint8_t header_have;
    uint8_t header[5];
    uint32_t body_left;
    uint64_t idle_since; /* when it last went idle (tardy_now) */
    uint64_t open_deadline; /* when an unfinished handshake gives up */
    bool trimmed;        /* its buffer pages went back to the kernel */
    unsigned char stage[TLS_STAGE];
    unsigned char buffers[]; /* input (BR_SSL_BUFSIZE_INPUT), then output */
};

/* ---- loading ------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *data;
    size_t len, cap;
} bytes;

static int bytes_append(bytes *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return -ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void bytes_free(bytes *b)
{
    if (b->data)
        memset(b->data, 0, b->cap); /* it may have held a private key */
    free(b->data);
    *b = (bytes){0};
}

/* Reads a whole PEM source: the file when `path` is set, else the buffer. */
static int pem_source(const char *path, const char *mem, size_t mem_len, const char *what,
                      bytes *out)
{
    *out = (bytes){0};
    if (!path) {
        if (!mem || mem_len == 0) {
            zzz_set_error("tls: no %s given (neither a file nor PEM text)", what);
            return -EINVAL;
        }
        return bytes_append(out, mem, mem_len);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        zzz_set_error("tls: %s: cannot open the %s: %s", path, what, strerror(errno));
        return err;
    }
    int err = 0;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            zzz_set_error("tls: %s: cannot read the %s: %s", path, what, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > TLS_MAX_PEM) {
            zzz_set_error("tls: %s: larger than %u bytes: not a %s", path, TLS_MAX_PEM, what);
            err = -EINVAL;
            break;
        }
        if ((err = bytes_append(out, chunk, (size_t)n)) != 0)
            break;
    }
    close(fd);
    if (err)
        bytes_free(out);
    return err;
}

/* Where the PEM decoder writes an object's bytes. */
typedef struct pem_dest {
    bytes der;
    int err;
} pem_dest;

static void pem_append(void *arg, const void *data, size_t len)
{
    pem_dest *d = arg;
    if (d->err == 0)
        d->err = bytes_append(&d->der, data, len);
}

/* Calls `fn` for every PEM object of `pem` with its label and DER bytes.
 * Returns 0, the first non-zero return of fn, -EINVAL for broken PEM. */
static int pem_each(const bytes *pem, int (*fn)(const char *label, const bytes *der, void *arg),
                    void *arg)
{
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    pem_dest dest = {0};
    char label[128] = "";
    bool inside = false;
    int err = 0;
    /* The text, then a newline in case the last line has none. */
    static const unsigned char nl = '\n';
    const unsigned char *parts[2] = {pem->data, &nl};
    size_t lens[2] = {pem->len, 1};
    for (int part = 0; part < 2 && err == 0; part++) {
        const unsigned char *src = parts[part];
        size_t left = lens[part];
        while (left > 0 && err == 0) {
            size_t used = br_pem_decoder_push(&pc, src, left);
            src += used;
            left -= used;
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                snprintf(label, sizeof label, "%s", br_pem_decoder_name(&pc));
                dest.der.len = 0;
                dest.err = 0;
                inside = true;
                br_pem_decoder_setdest(&pc, pem_append, &dest);
                break;
            case BR_PEM_END_OBJ:
                inside = false;
                err = dest.err ? dest.err : fn(label, &dest.der, arg);
                break;
            case BR_PEM_ERROR:
                err = -EINVAL;
                break;
            default:
                break;
            }
        }
    }
    if (err == 0 && inside)
        err = -EINVAL; /* cut off inside an object */
    bytes_free(&dest.der);
    return err;
}

/* ---- certificates ---- */

typedef struct chain_load {
    bytes *ders; /* one per CERTIFICATE object */
    size_t count;
} chain_load;

static int chain_collect(const char *label, const bytes *der, void *arg)
{
    chain_load *cl = arg;
    if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "X509 CERTIFICATE") != 0)
        return 0; /* other objects (a key in a combined file) are skipped */
    bytes *grown = realloc(cl->ders, (cl->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    cl->ders = grown;
    cl->ders[cl->count] = (bytes){0};
    int err = bytes_append(&cl->ders[cl->count], der->data, der->len);
    if (err == 0)
        cl->count++;
    return err;
}

/* The certificate's public key, decoded (it points into `dc`). */
static const br_x509_pkey *cert_key(br_x509_decoder_context *dc, const void *der, size_t len)
{
    br_x509_decoder_init(dc, NULL, NULL);
    br_x509_decoder_push(dc, der, len);
    return br_x509_decoder_get_pkey(dc);
}

static int load_chain(tls_cert *tc, const zzz_tls_cert *src, const char *name)
{
    bytes pem;
    int err =
        pem_source(src->cert_file, src->cert_pem, src->cert_pem_len, "certificate chain", &pem);
    if (err)
        return err;
    chain_load cl = {0};
    err = pem_each(&pem, chain_collect, &cl);
    bytes_free(&pem);
    if (err == -EINVAL) {
        zzz_set_error("tls: %s: not valid PEM", name);
    } else if (err == 0 && cl.count == 0) {
        zzz_set_error("tls: %s: holds no CERTIFICATE block", name);
        err = -EINVAL;
    }
    for (size_t i = 0; err == 0 && i < cl.count; i++) {
        br_x509_decoder_context dc;
        if (!cert_key(&dc, cl.ders[i].data, cl.ders[i].len)) {
            zzz_set_error("tls: %s: certificate %zu cannot be decoded (BearSSL error %d)", name,
                          i + 1, br_x509_decoder_last_error(&dc));
            err = -EINVAL;
        }
    }
    if (err == 0) {
        tc->chain = calloc(cl.count, sizeof *tc->chain);
        if (!tc->chain)
            err = -ENOMEM;
    }
    for (size_t i = 0; i < cl.count; i++) {
        if (err == 0) {
            /* The chain takes over the DER bytes. */
            tc->chain[i].data = cl.ders[i].data;
            tc->chain[i].data_len = cl.ders[i].len;
        } else {
            bytes_free(&cl.ders[i]);
        }
    }
    if (err == 0)
        tc->chain_len = cl.count;
    free(cl.ders);
    return err;
}

/* ---- private keys ---- */

typedef struct key_load {
    br_skey_decoder_context dc;
    bool found;
    bool encrypted;
} key_load;

static int key_collect(const char *label, const bytes *der, void *arg)
{
    key_load *kl = arg;
    if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
        kl->encrypted = true;
        return 0;
    }
    if (kl->found || (strcmp(label, "PRIVATE KEY") != 0 && strcmp(label, "RSA PRIVATE KEY") != 0 &&
                      strcmp(label, "EC PRIVATE KEY") != 0))
        return 0;
    kl->found = true;
    br_skey_decoder_init(&kl->dc);
    br_skey_decoder_push(&kl->dc, der->data, der->len);
    return 0;
}

/* Copies the key's numbers into one block the certificate owns. */
static int key_keep(tls_cert *tc, const key_load *kl)
{
    if (tc->key_type == BR_KEYTYPE_RSA) {
        const br_rsa_private_key *k = br_skey_decoder_get_rsa(&kl->dc);
        size_t total = k->plen + k->qlen + k->dplen + k->dqlen + k->iqlen;
        unsigned char *m = malloc(total);
        if (!m)
            return -ENOMEM;
        tc->key_mem = m;
        tc->rsa.n_bitlen = k->n_bitlen;
        const unsigned char *from[5] = {k->p, k->q, k->dp, k->dq, k->iq};
        size_t lens[5] = {k->plen, k->qlen, k->dplen, k->dqlen, k->iqlen};
        unsigned char *to[5];
        for (int i = 0; i < 5; i++) {
            memcpy(m, from[i], lens[i]);
            to[i] = m;
            m += lens[i];
        }
        tc->rsa.p = to[0], tc->rsa.plen = lens[0];
        tc->rsa.q = to[1], tc->rsa.qlen = lens[1];
        tc->rsa.dp = to[2], tc->rsa.dplen = lens[2];
        tc->rsa.dq = to[3], tc->rsa.dqlen = lens[3];
        tc->rsa.iq = to[4], tc->rsa.iqlen = lens[4];
        return 0;
    }
    const br_ec_private_key *k = br_skey_decoder_get_ec(&kl->dc);
    tc->key_mem = malloc(k->xlen);
    if (!tc->key_mem)
        return -ENOMEM;
    memcpy(tc->key_mem, k->x, k->xlen);
    tc->ec = (br_ec_private_key){.curve = k->curve, .x = tc->key_mem, .xlen = k->xlen};
    return 0;
}

static size_t key_mem_len(const tls_cert *tc)
{
    if (tc->key_type == BR_KEYTYPE_RSA)
        return tc->rsa.plen + tc->rsa.qlen + tc->rsa.dplen + tc->rsa.dqlen + tc->rsa.iqlen;
    return tc->ec.xlen;
}

/* Big-endian numbers, equal once leading zeros are dropped. */
static bool same_number(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    while (alen > 0 && *a == 0)
        a++, alen--;
    while (blen > 0 && *b == 0)
        b++, blen--;
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Does the private key belong to the leaf certificate? */
static int key_matches(const tls_cert *tc, const char *key_name, const char *cert_name)
{
    br_x509_decoder_context dc;
    const br_x509_pkey *pk = cert_key(&dc, tc->chain[0].data, tc->chain[0].data_len);
    bool match = false;
    if (pk && pk->key_type == BR_KEYTYPE_RSA && tc->key_type == BR_KEYTYPE_RSA) {
        unsigned char n[1024]; /* up to 8192-bit moduli */
        br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
        size_t nlen = modulus(NULL, &tc->rsa);
        /* The exponent can be recomputed only from primes = 3 mod 4 (0
         * otherwise); the modulus alone already ties the pair. */
        uint32_t e = br_rsa_compute_pubexp_get_default()(&tc->rsa);
        unsigned char eb[4] = {(unsigned char)(e >> 24), (unsigned char)(e >> 16),
                               (unsigned char)(e >> 8), (unsigned char)e};
        if (nlen > 0 && nlen <= sizeof n && modulus(n, &tc->rsa) == nlen)
            match = same_number(n, nlen, pk->key.rsa.n, pk->key.rsa.nlen) &&
                    (e == 0 || same_number(eb, sizeof eb, pk->key.rsa.e, pk->key.rsa.elen));
    } else if (pk && pk->key_type == BR_KEYTYPE_EC && tc->key_type == BR_KEYTYPE_EC) {
        unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
        br_ec_public_key pub;
        size_t qlen = br_ec_compute_pub(br_ec_get_default(), &pub, q, &tc->ec);
        match = qlen > 0 && pk->key.ec.curve == tc->ec.curve && pk->key.ec.qlen == qlen &&
                memcmp(pk->key.ec.q, q, qlen) == 0;
    }
    if (!match) {
        zzz_set_error("tls: %s: the key does not match the certificate in %s", key_name, cert_name);
        return -EINVAL;
    }
    return 0;
}

/* Reads the key, checks its type, keeps it; sets the error message. */
static int key_decode(tls_cert *tc, const bytes *pem, const char *name)
{
    key_load *kl = calloc(1, sizeof *kl);
    if (!kl)
        return -ENOMEM;
    int err = pem_each(pem, key_collect, kl);
    int code = kl->found ? br_skey_decoder_last_error(&kl->dc) : 0;
    if (err == -EINVAL) {
        zzz_set_error("tls: %s: not valid PEM", name);
    } else if (err) {
        /* out of memory */
    } else if (!kl->found && kl->encrypted) {
        zzz_set_error("tls: %s: the key is encrypted; give it decrypted", name);
        err = -EINVAL;
    } else if (!kl->found) {
        zzz_set_error("tls: %s: holds no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block",
                      name);
        err = -EINVAL;
    } else if (code == BR_ERR_X509_UNSUPPORTED) {
        zzz_set_error("tls: %s: unsupported key type (RSA, or EC on P-256, P-384, P-521)", name);
        err = -ENOTSUP;
    } else if (code != 0) {
        zzz_set_error("tls: %s: the key cannot be decoded (BearSSL error %d)", name, code);
        err = -EINVAL;
    } else {
        tc->key_type = br_skey_decoder_key_type(&kl->dc);
        int curve = tc->key_type == BR_KEYTYPE_EC ? br_skey_decoder_get_ec(&kl->dc)->curve : 0;
        if (tc->key_type == BR_KEYTYPE_EC && curve != BR_EC_secp256r1 && curve != BR_EC_secp384r1 &&
            curve != BR_EC_secp521r1) {
            zzz_set_error("tls: %s: EC keys on curve %d cannot sign here (P-256, P-384, P-521)",
                          name, curve);
            err = -ENOTSUP;
        } else if (tc->key_type != BR_KEYTYPE_EC && tc->key_type != BR_KEYTYPE_RSA) {
            zzz_set_error("tls: %s: unsupported key type", name);
            err = -ENOTSUP;
        } else {
            err = key_keep(tc, kl);
        }
    }
    memset(kl, 0, sizeof *kl); /* the decoder held the key */
    free(kl);
    return err;
}

static int load_key(tls_cert *tc, const zzz_tls_cert *src, const char *name, const char *cert_name)
{
    bytes pem;
    int err = pem_source(src->key_file, src->key_pem, src->key_pem_len, "private key", &pem);
    if (err)
        return err;
    err = key_decode(tc, &pem, name);
    bytes_free(&pem);
    if (err == 0)
        err = key_matches(tc, name, cert_name);
    return err;
}

static int load_names(tls_cert *tc, const zzz_tls_cert *src, const char *cert_name)
{
    if (!src->names)
        return 0;
    size_t n = 0;
    while (src->names[n])
        n++;
    tc->names = calloc(n ? n : 1, sizeof *tc->names);
    if (!tc->names)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *name = src->names[i];
        size_t len = strlen(name);
        bool wildcard = len > 2 && name[0] == '*' && name[1] == '.';
        if (len == 0 || len > 255 || strchr(name + (wildcard ? 2 : 0), '*')) {
            zzz_set_error("tls: %s: bad host name \"%s\" (a name, or \"*.\" and a domain)",
                          cert_name, name);
            return -EINVAL;
        }
        tc->names[i] = strdup(name);
        if (!tc->names[i])
            return -ENOMEM;
        tc->name_count = i + 1;
    }
    return 0;
}

static void cert_free(tls_cert *tc)
{
    for (size_t i = 0; i < tc->chain_len; i++)
        free(tc->chain[i].data);
    free(tc->chain);
    if (tc->key_mem) {
        memset(tc->key_mem, 0, key_mem_len(tc));
        free(tc->key_mem);
    }
    for (size_t i = 0; i < tc->name_count; i++)
        free(tc->names[i]);
    free(tc->names);
    memset(tc, 0, sizeof *tc);
}

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

/* ---- the context ---- */

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
        const zzz_tls_cert *src = &cfg->certs[i];
        char cert_name[64], key_name[64];
        snprintf(cert_name, sizeof cert_name, "certificate %u (in memory)", i + 1);
        snprintf(key_name, sizeof key_name, "key %u (in memory)", i + 1);
        const char *cn = src->cert_file ? src->cert_file : cert_name;
        const char *kn = src->key_file ? src->key_file : key_name;
        tls_cert *tc = &ctx->certs[i];
        ctx->cert_count = i + 1;
        err = load_chain(tc, src, cn);
        if (err == 0)
            err = load_key(tc, src, kn, cn);
        if (err == 0)
            err = load_names(tc, src, cn);
    }
    uint32_t hs_ms =
        cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : TLS_DEFAULT_HANDSHAKE_MS;
    ctx->handshake_ns = (uint64_t)hs_ms * 1000000u;
    ctx->trim_ns =
        (uint64_t)(cfg->idle_trim_ms ? cfg->idle_trim_ms : TLS_DEFAULT_TRIM_MS) * 1000000u;
    ctx->record_size = cfg->record_size ? cfg->record_size : TLS_MAX_RECORD;
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
        cert_free(&ctx->certs[i]);
    free(ctx->certs);
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
                                     br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
    else
        br_ssl_server_set_single_ec(sc, tc->chain, tc->chain_len, &tc->ec, BR_KEYTYPE_SIGN,
                                    BR_KEYTYPE_EC, br_ec_get_default(),
                                    br_ecdsa_sign_asn1_get_default());
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

/* ---- a connection ---- */

static void engine_setup(zzz_tls_conn *t, const zzz_tls_ctx *ctx)
{
    br_ssl_server_context *sc = &t->sc;
    br_ssl_engine_context *eng = &sc->eng;
    br_ssl_server_zero(sc);
    br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(eng, tls_suites, sizeof tls_suites / sizeof tls_suites[0]);
    /* Hashes for the transcript, the PRF and the ServerKeyExchange
     * signature (whichever the client supports). */
    br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
    br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_ec(eng);
    br_ssl_engine_set_default_aes_gcm(eng);
    br_ssl_engine_set_default_chapol(eng);
    br_ssl_engine_set_protocol_names(eng, tls_alpn, sizeof tls_alpn / sizeof tls_alpn[0]);
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

/* Sends every record the engine has ready. */
static int tls_send_records(zzz_conn *c, zzz_tls_conn *t)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &len);
        zzz_conn_send_arm(c);
        ssize_t n = tardy_send(c->fd, rec, len, 0);
        if (n < 0) {
            t->broken = true;
            return (int)n;
        }
        zzz_conn_send_progress(c, (size_t)n);
        br_ssl_engine_sendrec_ack(eng, (size_t)n);
    }
    return 0;
}

/* Follows the record framing of n bytes about to be fed to the engine. */
static void tls_track_records(zzz_tls_conn *t, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (t->body_left > 0) {
            size_t k = n < t->body_left ? n : t->body_left;
            t->body_left -= (uint32_t)k;
            p += k;
            n -= k;
            continue;
        }
        t->header[t->header_have++] = *p++;
        n--;
        if (t->header_have == sizeof t->header) {
            t->body_left = (uint32_t)t->header[3] << 8 | t->header[4];
            t->header_have = 0;
        }
    }
}

/* Feeds the engine what it asks for, from the read-ahead or the socket
 * (without waiting when `now`). Returns > 0, 0 at FIN, -EAGAIN (`now`
 * only: nothing has arrived), or -errno. */
static ssize_t tls_recv_records(zzz_conn *c, zzz_tls_conn *t, bool now)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    size_t want;
    unsigned char *rec = br_ssl_engine_recvrec_buf(eng, &want);
    if (t->staged_len == 0) {
        /* A large record body goes straight in, uncopied. */
        bool direct = want >= TLS_STAGE;
        void *into = direct ? rec : t->stage;
        size_t room = direct ? want : TLS_STAGE;
        ssize_t n;
        if (now) {
            n = recv(c->fd, into, room, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return -EAGAIN;
            if (n < 0)
                n = -errno;
        } else {
            n = tardy_recv(c->fd, into, room, 0);
        }
        if (n <= 0) {
            t->broken = true;
            return n;
        }
        if (direct) {
            tls_track_records(t, rec, (size_t)n);
            br_ssl_engine_recvrec_ack(eng, (size_t)n);
            return n;
        }
        t->staged_off = 0;
        t->staged_len = (uint16_t)n;
    }
    size_t n = t->staged_len < want ? t->staged_len : want;
    memcpy(rec, t->stage + t->staged_off, n);
    tls_track_records(t, rec, n);
    t->staged_off = (uint16_t)(t->staged_off + n);
    t->staged_len = (uint16_t)(t->staged_len - n);
    br_ssl_engine_recvrec_ack(eng, n);
    return (ssize_t)n;
}

/* For a closed engine: 0 after a clean close_notify, else -EPROTO. */
static int tls_closed_error(zzz_tls_conn *t)
{
    t->broken = true;
    return br_ssl_engine_last_error(&t->sc.eng) == BR_ERR_OK ? 0 : -EPROTO;
}

int zzz_tls_open(zzz_conn *c)
{
    zzz_tls_ctx *ctx = c->worker->server->tls;
    zzz_tls_conn *t = c->tls;
    if (!t) {
        t = (zzz_tls_conn *)(void *)zzz_pool_get(&c->worker->tls_pool);
        if (!t)
            return -ENOBUFS;
        c->tls = t;
        t->open_deadline = tardy_now() + ctx->handshake_ns;
        t->established = false;
        t->broken = false;
        t->staged_off = t->staged_len = 0;
        t->header_have = 0;
        t->body_left = 0;
        t->trimmed = false;
        engine_setup(t, ctx);
        if (!br_ssl_server_reset(&t->sc)) {
            t->broken = true;
            return -EPROTO; /* no entropy to seed it, or a bad setting */
        }
    }
    if (t->established)
        return 0;
    if (t->broken)
        return -EPROTO;
    /* The handshake moves on with what has arrived and never waits for
     * the client: between its flights the connection waits holding no
     * task (a client that sends half a ClientHello holds nothing scarce).
     * Only our own flight's send may wait, within the handshake's time. */
    if (tardy_now() >= t->open_deadline)
        return -ETIMEDOUT;
    uint64_t saved = zzz_deadline_push(t->open_deadline);
    br_ssl_engine_context *eng = &t->sc.eng;
    int err = 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_SENDREC) {
            /* Our flight (or an alert) first: the client waits for it. */
            if ((err = tls_send_records(c, t)) != 0)
                break;
        } else if (st & BR_SSL_CLOSED) {
            tls_closed_error(t);
            err = -EPROTO;
            break;
        } else if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) {
            t->established = true;
            break;
        } else if (st & BR_SSL_RECVREC) {
            ssize_t n = tls_recv_records(c, t, true);
            if (n <= 0) {
                err = n == 0 ? -ECONNRESET : (int)n;
                break;
            }
        } else {
            err = -EPROTO;
            break;
        }
    }
    zzz_deadline_pop(saved);
    return err == 0 ? 1 : err;
}

uint64_t zzz_tls_open_deadline(const zzz_conn *c)
{
    return c->tls && !c->tls->established ? c->tls->open_deadline : 0;
}

static ssize_t tls_recv(zzz_conn *c, void *buf, size_t len, bool now)
{
    zzz_tls_conn *t = c->tls;
    br_ssl_engine_context *eng = &t->sc.eng;
    if (len == 0)
        return 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_RECVAPP) {
            size_t avail;
            unsigned char *app = br_ssl_engine_recvapp_buf(eng, &avail);
            size_t n = avail < len ? avail : len;
            memcpy(buf, app, n);
            br_ssl_engine_recvapp_ack(eng, n);
            return (ssize_t)n;
        }
        if (st & BR_SSL_SENDREC) {
            int err = tls_send_records(c, t);
            if (err)
                return err;
        } else if (st & BR_SSL_CLOSED) {
            return tls_closed_error(t);
        } else if (t->broken) {
            return 0; /* the peer left without close_notify */
        } else if (st & BR_SSL_RECVREC) {
            ssize_t n = tls_recv_records(c, t, now);
            if (n <= 0)
                return n;
        } else {
            return -EPROTO;
        }
    }
}

ssize_t zzz_tls_recv(zzz_conn *c, void *buf, size_t len)
{
    return tls_recv(c, buf, len, false);
}

ssize_t zzz_tls_recv_now(zzz_conn *c, void *buf, size_t len)
{
    return tls_recv(c, buf, len, true);
}

int zzz_tls_writev(zzz_conn *c, const struct iovec *iov, int iovcnt)
{
    zzz_tls_conn *t = c->tls;
    br_ssl_engine_context *eng = &t->sc.eng;
    for (int i = 0; i < iovcnt; i++) {
        const unsigned char *src = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0) {
            unsigned st = br_ssl_engine_current_state(eng);
            if (st & BR_SSL_CLOSED) {
                t->broken = true;
                return -EPIPE;
            }
            if (st & BR_SSL_SENDAPP) {
                size_t room;
                unsigned char *app = br_ssl_engine_sendapp_buf(eng, &room);
                size_t n = room < left ? room : left;
                memcpy(app, src, n);
                br_ssl_engine_sendapp_ack(eng, n);
                src += n;
                left -= n;
            } else if (st & BR_SSL_SENDREC) {
                int err = tls_send_records(c, t);
                if (err)
                    return err;
            } else {
                return -EPROTO;
            }
        }
    }
    br_ssl_engine_flush(eng, 0);
    return tls_send_records(c, t);
}

bool zzz_tls_pending(const zzz_conn *c)
{
    const zzz_tls_conn *t = c->tls;
    return t->staged_len > 0 || (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_RECVAPP) != 0;
}

void zzz_tls_idle(zzz_conn *c)
{
    c->tls->idle_since = tardy_now();
    c->tls->trimmed = false;
}

bool zzz_tls_trim(zzz_conn *c, uint64_t idle_before)
{
    zzz_tls_conn *t = c->tls;
    if (t->trimmed || t->idle_since > idle_before || !t->established || t->staged_len > 0 ||
        t->header_have > 0 || t->body_left > 0)
        return false;
    /* Nothing decrypted waits, nothing is queued to send (every write
     * flushes): the stage and both record buffers hold nothing needed.
     * Only whole pages inside this slot go: its neighbour's engine may
     * share the first and last. */
    if (br_ssl_engine_current_state(&t->sc.eng) & (BR_SSL_RECVAPP | BR_SSL_SENDREC))
        return false;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)t->stage + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)t + t->ctx->state_size) & ~(page - 1);
    t->trimmed = true;
    if (to > from)
        madvise((void *)from, to - from, MADV_DONTNEED);
    return true;
}

void zzz_tls_close(zzz_conn *c, bool graceful)
{
    zzz_tls_conn *t = c->tls;
    br_ssl_engine_context *eng = &t->sc.eng;
    if (graceful && t->established && !t->broken && c->fd >= 0 &&
        !(br_ssl_engine_current_state(eng) & BR_SSL_CLOSED)) {
        /* close_notify in non-blocking sends: a peer that does not read
         * it is not waited for. */
        br_ssl_engine_close(eng);
        while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
            size_t len;
            unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &len);
            ssize_t n = send(c->fd, rec, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0)
                break;
            br_ssl_engine_sendrec_ack(eng, (size_t)n);
        }
    }
    zzz_pool_put(&c->worker->tls_pool, (char *)t);
    c->tls = NULL;
}

bool zzz_tls_info_get(const zzz_conn *c, zzz_tls_info *info)
{
    if (!info)
        return true;
    /* BearSSL's getters take the engine without const. */
    br_ssl_engine_context *eng = &c->tls->sc.eng;
    br_ssl_session_parameters params;
    br_ssl_engine_get_session_parameters(eng, &params);
    info->version = (uint16_t)br_ssl_engine_get_version(eng);
    info->cipher_suite = params.cipher_suite;
    info->server_name = br_ssl_engine_get_server_name(eng);
    info->alpn = br_ssl_engine_get_selected_protocol(eng);
    return true;
}
