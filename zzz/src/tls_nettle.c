/* The arithmetic of a handshake through Nettle, plugged into BearSSL's
 * hooks: X25519 key exchange, ECDSA and RSA signatures with the server's
 * key (converted once, at start-up), SHA-1 and SHA-256 (the transcript,
 * the engine's HMAC-DRBG) and the SHA-256 PRF. Only with ZZZ_HAVE_NETTLE. */
#include "tls.h"

#include <nettle/bignum.h>
#include <nettle/curve25519.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/hmac.h>
#include <nettle/rsa.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A certificate's key as Nettle takes it. */
struct tls_nettle_key {
    int key_type;   /* BR_KEYTYPE_EC or BR_KEYTYPE_RSA */
    size_t ec_len;  /* EC: bytes of r and of s in a raw signature */
    size_t rsa_len; /* RSA: bytes of the modulus (and of a signature) */
    struct ecc_scalar ec;
    struct rsa_public_key rsa_pub;
    struct rsa_private_key rsa;
};

/* ---- randomness for nonces and blinding ---- */

/* Nettle asks for random bytes through a callback that cannot fail, and
 * the kernel's generator (getrandom) is the source. A failed read leaves
 * a fixed non-zero filler (zeros would make Nettle draw again forever)
 * and marks the context: the caller then throws the result away, so a
 * signature made with a predictable nonce never leaves. */
typedef struct tls_random {
    bool failed;
} tls_random;

static void random_fill(void *arg, size_t len, uint8_t *dst)
{
    tls_random *r = arg;
    while (len > 0) {
        ssize_t n = getrandom(dst, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            memset(dst, 0x01, len);
            r->failed = true;
            return;
        }
        dst += n;
        len -= (size_t)n;
    }
}

/* ---- X25519 ---- */

/* Scalars are little-endian for BearSSL's Curve25519 code as for RFC
 * 7748 and Nettle; a shorter one is zero-extended at the top. */
static bool scalar_le(uint8_t out[32], const unsigned char *k, size_t klen)
{
    if (klen > 32)
        return false;
    memset(out, 0, 32);
    memcpy(out, k, klen);
    return true;
}

/* An all-zero result means the peer's point had a small order: refuse
 * it (RFC 7748, section 6.1), without a branch on the secret bytes. */
static uint32_t nonzero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return (uint32_t)(acc | (uint8_t)-acc) >> 7;
}

static const br_ec_impl *bear_ec(void)
{
    return br_ec_get_default();
}

static const unsigned char *nettle_ec_generator(int curve, size_t *len)
{
    return bear_ec()->generator(curve, len);
}

static const unsigned char *nettle_ec_order(int curve, size_t *len)
{
    return bear_ec()->order(curve, len);
}

static size_t nettle_ec_xoff(int curve, size_t *len)
{
    return bear_ec()->xoff(curve, len);
}

static uint32_t nettle_ec_mul(unsigned char *G, size_t Glen, const unsigned char *kb, size_t kblen,
                              int curve)
{
    if (curve != BR_EC_curve25519)
        return bear_ec()->mul(G, Glen, kb, kblen, curve);
    uint8_t k[32], out[32];
    if (Glen != 32 || !scalar_le(k, kb, kblen))
        return 0;
    curve25519_mul(out, k, G);   /* ignores the point's top bit (RFC 7748) */
    explicit_bzero(k, sizeof k); /* a plain memset of a dead local may go */
    memcpy(G, out, 32);
    uint32_t ok = nonzero(out, sizeof out);
    explicit_bzero(out, sizeof out);
    return ok;
}

static size_t nettle_ec_mulgen(unsigned char *R, const unsigned char *x, size_t xlen, int curve)
{
    if (curve != BR_EC_curve25519)
        return bear_ec()->mulgen(R, x, xlen, curve);
    uint8_t k[32];
    if (!scalar_le(k, x, xlen))
        return 0;
    curve25519_mul_g(R, k);
    explicit_bzero(k, sizeof k);
    return 32;
}

static uint32_t nettle_ec_muladd(unsigned char *A, const unsigned char *B, size_t len,
                                 const unsigned char *x, size_t xlen, const unsigned char *y,
                                 size_t ylen, int curve)
{
    /* Only ECDSA verification adds points; Curve25519 has no muladd. */
    return bear_ec()->muladd(A, B, len, x, xlen, y, ylen, curve);
}

const br_ec_impl zzz_tls_nettle_ec = {
    /* The curves of BearSSL's default set (P-256, P-384, P-521 and
     * Curve25519), resolved at link time to the same constant. */
    .supported_curves = (uint32_t)1 << BR_EC_secp256r1 | (uint32_t)1 << BR_EC_secp384r1 |
                        (uint32_t)1 << BR_EC_secp521r1 | (uint32_t)1 << BR_EC_curve25519,
    .generator = nettle_ec_generator,
    .order = nettle_ec_order,
    .xoff = nettle_ec_xoff,
    .mul = nettle_ec_mul,
    .mulgen = nettle_ec_mulgen,
    .muladd = nettle_ec_muladd,
};

/* ---- the server's key ---- */

static const struct ecc_curve *nettle_curve(int curve)
{
    switch (curve) {
    case BR_EC_secp256r1:
        return nettle_get_secp_256r1();
    case BR_EC_secp384r1:
        return nettle_get_secp_384r1();
    case BR_EC_secp521r1:
        return nettle_get_secp_521r1();
    default:
        return NULL;
    }
}

/* Overwrites a number's limbs before GMP frees them: they are the key. */
static void mpz_wipe(mpz_t x)
{
    if (x->_mp_d)
        memset(x->_mp_d, 0, (size_t)x->_mp_alloc * sizeof(mp_limb_t));
    mpz_clear(x);
}

static int load_ec(struct tls_nettle_key *nk, const br_ec_private_key *sk)
{
    const struct ecc_curve *curve = nettle_curve(sk->curve);
    if (!curve)
        return -ENOTSUP;
    mpz_t x;
    nettle_mpz_init_set_str_256_u(x, sk->xlen, sk->x);
    ecc_scalar_init(&nk->ec, curve);
    int ok = ecc_scalar_set(&nk->ec, x); /* 0: not in 1..q-1 */
    mpz_wipe(x);
    nk->ec_len = (ecc_bit_size(curve) + 7) / 8;
    return ok ? 0 : -EINVAL;
}

static int load_rsa(struct tls_nettle_key *nk, const tls_cert *tc)
{
    br_x509_decoder_context dc;
    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, tc->chain[0].data, tc->chain[0].data_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    if (!pk || pk->key_type != BR_KEYTYPE_RSA)
        return -EINVAL;
    const br_rsa_private_key *sk = &tc->rsa;
    rsa_public_key_init(&nk->rsa_pub);
    rsa_private_key_init(&nk->rsa);
    nettle_mpz_set_str_256_u(nk->rsa_pub.n, pk->key.rsa.nlen, pk->key.rsa.n);
    nettle_mpz_set_str_256_u(nk->rsa_pub.e, pk->key.rsa.elen, pk->key.rsa.e);
    nettle_mpz_set_str_256_u(nk->rsa.p, sk->plen, sk->p);
    nettle_mpz_set_str_256_u(nk->rsa.q, sk->qlen, sk->q);
    nettle_mpz_set_str_256_u(nk->rsa.a, sk->dplen, sk->dp);
    nettle_mpz_set_str_256_u(nk->rsa.b, sk->dqlen, sk->dq);
    nettle_mpz_set_str_256_u(nk->rsa.c, sk->iqlen, sk->iq);
    if (!rsa_public_key_prepare(&nk->rsa_pub) || !rsa_private_key_prepare(&nk->rsa))
        return -EINVAL;
    nk->rsa_len = nk->rsa_pub.size;
    return 0;
}

int zzz_tls_nettle_key_load(tls_cert *tc)
{
    struct tls_nettle_key *nk = calloc(1, sizeof *nk);
    if (!nk)
        return -ENOMEM;
    nk->key_type = tc->key_type;
    tc->nettle = nk;
    return tc->key_type == BR_KEYTYPE_EC ? load_ec(nk, &tc->ec) : load_rsa(nk, tc);
}

void zzz_tls_nettle_key_free(tls_cert *tc)
{
    struct tls_nettle_key *nk = tc->nettle;
    if (!nk)
        return;
    if (nk->key_type == BR_KEYTYPE_EC && nk->ec.p) {
        memset(nk->ec.p, 0, (size_t)ecc_size(nk->ec.ecc) * sizeof(mp_limb_t));
        ecc_scalar_clear(&nk->ec);
    } else if (nk->key_type == BR_KEYTYPE_RSA && nk->rsa.p->_mp_d) {
        mpz_wipe(nk->rsa.p), mpz_wipe(nk->rsa.q), mpz_wipe(nk->rsa.d);
        mpz_wipe(nk->rsa.a), mpz_wipe(nk->rsa.b), mpz_wipe(nk->rsa.c);
        rsa_public_key_clear(&nk->rsa_pub);
    }
    free(nk);
    tc->nettle = NULL;
}

/* ---- signing ---- */

static size_t hash_len(const br_hash_class *hf)
{
    return (size_t)(hf->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
}

size_t zzz_tls_nettle_ecdsa_sign(const br_ec_impl *impl, const br_hash_class *hf,
                                 const void *hash_value, const br_ec_private_key *sk, void *sig)
{
    (void)impl;
    const tls_cert *tc =
        (const tls_cert *)(const void *)((const char *)sk - offsetof(tls_cert, ec));
    const struct tls_nettle_key *nk = tc->nettle;
    if (!nk || nk->key_type != BR_KEYTYPE_EC)
        return 0;
    struct dsa_signature rs;
    dsa_signature_init(&rs);
    tls_random rnd = {0};
    ecdsa_sign(&nk->ec, &rnd, random_fill, hash_len(hf), hash_value, &rs);
    size_t len = 0;
    if (!rnd.failed) {
        /* r and s at the curve's width, then BearSSL's DER encoding. */
        unsigned char *out = sig;
        nettle_mpz_get_str_256(nk->ec_len, out, rs.r);
        nettle_mpz_get_str_256(nk->ec_len, out + nk->ec_len, rs.s);
        len = br_ecdsa_raw_to_asn1(sig, 2 * nk->ec_len);
    }
    dsa_signature_clear(&rs);
    return len;
}

uint32_t zzz_tls_nettle_rsa_sign(const unsigned char *hash_oid, const unsigned char *hash,
                                 size_t hash_len_, const br_rsa_private_key *sk, unsigned char *x)
{
    const tls_cert *tc =
        (const tls_cert *)(const void *)((const char *)sk - offsetof(tls_cert, rsa));
    const struct tls_nettle_key *nk = tc->nettle;
    if (!nk || nk->key_type != BR_KEYTYPE_RSA || hash_len_ > 64)
        return 0;
    /* PKCS#1 v1.5 wants the DigestInfo DER: SEQUENCE { SEQUENCE { OID,
     * NULL }, OCTET STRING hash }; BearSSL gives the OID with its length
     * first, or none (the bare hash is signed then). */
    uint8_t info[2 + 2 + 2 + 255 + 2 + 2 + 64];
    size_t n = 0;
    if (hash_oid) {
        size_t oid_len = hash_oid[0];
        if (oid_len > 32)
            return 0;
        size_t inner = 2 + oid_len + 2;
        info[n++] = 0x30, info[n++] = (uint8_t)(2 + inner + 2 + hash_len_);
        info[n++] = 0x30, info[n++] = (uint8_t)inner;
        info[n++] = 0x06, info[n++] = (uint8_t)oid_len;
        memcpy(info + n, hash_oid + 1, oid_len);
        n += oid_len;
        info[n++] = 0x05, info[n++] = 0x00;
        info[n++] = 0x04, info[n++] = (uint8_t)hash_len_;
    }
    memcpy(info + n, hash, hash_len_);
    n += hash_len_;
    mpz_t s;
    mpz_init(s);
    tls_random rnd = {0};
    /* Blinded, side-channel silent (rsa_sec_compute_root), and checked
     * against the public key before it is returned. */
    int ok = rsa_pkcs1_sign_tr(&nk->rsa_pub, &nk->rsa, &rnd, random_fill, n, info, s);
    if (ok && !rnd.failed)
        nettle_mpz_get_str_256(nk->rsa_len, x, s);
    mpz_clear(s);
    return ok && !rnd.failed;
}

/* ---- hashes ---- */

/* BearSSL keeps a hash's running state in its own storage (the engine's
 * multi-hasher holds one per hash, HMAC keys hold two) and moves it in
 * and out through state()/set_state(); the format here is BearSSL's (the
 * chaining value as big-endian words), so a state saved by one class is
 * taken by the other. */
static void put32be(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24), p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8), p[3] = (unsigned char)x;
}

static uint32_t get32be(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define HASH_CLASS(name, NAME, ID, words)                                                          \
    typedef struct {                                                                               \
        const br_hash_class *vtable;                                                               \
        struct name##_ctx n;                                                                       \
    } hash_##name;                                                                                 \
    _Static_assert(sizeof(hash_##name) <= sizeof(br_hash_compat_context),                          \
                   "BearSSL holds hash contexts in a br_hash_compat_context");                     \
                                                                                                   \
    static void hash_##name##_init(const br_hash_class **ctx)                                      \
    {                                                                                              \
        hash_##name *h = (hash_##name *)(void *)ctx;                                               \
        h->vtable = &zzz_tls_nettle_##name##_vtable;                                               \
        name##_init(&h->n);                                                                        \
    }                                                                                              \
                                                                                                   \
    static void hash_##name##_update(const br_hash_class **ctx, const void *data, size_t len)      \
    {                                                                                              \
        hash_##name *h = (hash_##name *)(void *)ctx;                                               \
        name##_update(&h->n, len, data);                                                           \
    }                                                                                              \
                                                                                                   \
    /* out() leaves the context as it was: the digest is taken on a copy. */                       \
    static void hash_##name##_out(const br_hash_class *const *ctx, void *dst)                      \
    {                                                                                              \
        struct name##_ctx copy = ((const hash_##name *)(const void *)ctx)->n;                      \
        name##_digest(&copy, NAME##_DIGEST_SIZE, dst);                                             \
        explicit_bzero(&copy, sizeof copy); /* it may hold an HMAC key's state */                  \
    }                                                                                              \
                                                                                                   \
    static uint64_t hash_##name##_state(const br_hash_class *const *ctx, void *dst)                \
    {                                                                                              \
        const hash_##name *h = (const hash_##name *)(const void *)ctx;                             \
        for (size_t i = 0; i < (words); i++)                                                       \
            put32be((unsigned char *)dst + 4 * i, h->n.state[i]);                                  \
        return h->n.count * NAME##_BLOCK_SIZE + h->n.index;                                        \
    }                                                                                              \
                                                                                                   \
    static void hash_##name##_set_state(const br_hash_class **ctx, const void *stb,                \
                                        uint64_t count)                                            \
    {                                                                                              \
        hash_##name *h = (hash_##name *)(void *)ctx;                                               \
        h->vtable = &zzz_tls_nettle_##name##_vtable;                                               \
        for (size_t i = 0; i < (words); i++)                                                       \
            h->n.state[i] = get32be((const unsigned char *)stb + 4 * i);                           \
        h->n.count = count / NAME##_BLOCK_SIZE;                                                    \
        h->n.index = 0;                                                                            \
    }                                                                                              \
                                                                                                   \
    const br_hash_class zzz_tls_nettle_##name##_vtable = {                                         \
        .context_size = sizeof(hash_##name),                                                       \
        .desc = BR_HASHDESC_ID(ID) | BR_HASHDESC_OUT(NAME##_DIGEST_SIZE) |                         \
                BR_HASHDESC_STATE(4 * (words)) | BR_HASHDESC_LBLEN(6) | BR_HASHDESC_MD_PADDING |   \
                BR_HASHDESC_MD_PADDING_BE,                                                         \
        .init = hash_##name##_init,                                                                \
        .update = hash_##name##_update,                                                            \
        .out = hash_##name##_out,                                                                  \
        .state = hash_##name##_state,                                                              \
        .set_state = hash_##name##_set_state,                                                      \
    };

HASH_CLASS(sha1, SHA1, br_sha1_ID, 5)
HASH_CLASS(sha256, SHA256, br_sha256_ID, 8)

/* ---- the TLS 1.2 PRF ---- */

static void prf_mac_input(struct hmac_sha256_ctx *h, const char *label, size_t seed_num,
                          const br_tls_prf_seed_chunk *seed)
{
    hmac_sha256_update(h, strlen(label), (const uint8_t *)label);
    for (size_t i = 0; i < seed_num; i++)
        hmac_sha256_update(h, seed[i].len, seed[i].data);
}

void zzz_tls_nettle_prf_sha256(void *dst, size_t len, const void *secret, size_t secret_len,
                               const char *label, size_t seed_num,
                               const br_tls_prf_seed_chunk *seed)
{
    /* P_SHA256: A(0) = label + seed, A(i) = HMAC(secret, A(i-1)); the
     * output is HMAC(secret, A(1) + label + seed) || HMAC(secret, A(2) +
     * label + seed) || ... (digest() leaves the key set for the next). */
    struct hmac_sha256_ctx h;
    uint8_t a[SHA256_DIGEST_SIZE], block[SHA256_DIGEST_SIZE];
    unsigned char *out = dst;
    hmac_sha256_set_key(&h, secret_len, secret);
    prf_mac_input(&h, label, seed_num, seed);
    hmac_sha256_digest(&h, sizeof a, a);
    while (len > 0) {
        hmac_sha256_update(&h, sizeof a, a);
        prf_mac_input(&h, label, seed_num, seed);
        hmac_sha256_digest(&h, sizeof block, block);
        size_t n = len < sizeof block ? len : sizeof block;
        memcpy(out, block, n);
        out += n;
        len -= n;
        if (len > 0) {
            hmac_sha256_update(&h, sizeof a, a);
            hmac_sha256_digest(&h, sizeof a, a);
        }
    }
    explicit_bzero(&h, sizeof h);
    explicit_bzero(a, sizeof a);
    explicit_bzero(block, sizeof block);
}
