/* Nettle's arithmetic behind BearSSL's hooks (tls_nettle.c): RFC 7748's
 * X25519 vectors through the br_ec_impl, and signatures made through the
 * signing hooks with the test certificates' keys, checked by BearSSL's
 * own verifiers and by `openssl dgst -verify`. Needs ZZZ_TLS_DIR (the
 * certificates of tls/make-certs.sh). */
#include "tls.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void unhex(unsigned char *out, const char *hex, size_t len)
{
    cr_assert_eq(strlen(hex), 2 * len);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
}

/* X25519(k, u) through an implementation: BearSSL passes the scalar
 * little-endian, as RFC 7748 writes it. */
static void x25519(const br_ec_impl *impl, unsigned char out[32], const unsigned char k[32],
                   const unsigned char u[32])
{
    memcpy(out, u, 32);
    cr_assert_eq(impl->mul(out, 32, k, 32, BR_EC_curve25519), 1);
}

Test(tls_nettle, rfc7748_function_vectors)
{
    static const char *const vectors[][3] = {
        /* section 5.2: scalar, u-coordinate, result */
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        unsigned char k[32], u[32], want[32], got[32], bear[32];
        unhex(k, vectors[i][0], 32);
        unhex(u, vectors[i][1], 32);
        unhex(want, vectors[i][2], 32);
        x25519(&zzz_tls_nettle_ec, got, k, u);
        cr_assert_arr_eq(got, want, 32, "vector %zu", i + 1);
        /* BearSSL's own code agrees: the byte order is the one it uses. */
        x25519(&br_ec_c25519_m31, bear, k, u);
        cr_assert_arr_eq(bear, want, 32, "vector %zu through BearSSL", i + 1);
    }
}

/* Section 5.2's iteration: k = 9, u = 9; then (k, u) = (X25519(k, u), k). */
Test(tls_nettle, rfc7748_iterated)
{
    unsigned char k[32] = {9}, u[32] = {9}, want1[32], want1000[32];
    unhex(want1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", 32);
    unhex(want1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", 32);
    for (int i = 1; i <= 1000; i++) {
        unsigned char r[32];
        x25519(&zzz_tls_nettle_ec, r, k, u);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1)
            cr_assert_arr_eq(k, want1, 32, "after one iteration");
    }
    cr_assert_arr_eq(k, want1000, 32, "after 1,000 iterations");
}

/* Section 6.1: each side's public key from mulgen, and the secret both
 * derive with mul. */
Test(tls_nettle, rfc7748_diffie_hellman)
{
    unsigned char a[32], b[32], a_pub[32], b_pub[32], shared[32];
    unhex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", 32);
    unhex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", 32);
    unhex(a_pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", 32);
    unhex(b_pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", 32);
    unhex(shared, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", 32);
    const br_ec_impl *ec = &zzz_tls_nettle_ec;
    unsigned char pub[32], s1[32], s2[32];
    cr_assert_eq(ec->mulgen(pub, a, 32, BR_EC_curve25519), 32);
    cr_assert_arr_eq(pub, a_pub, 32, "Alice's public key");
    cr_assert_eq(ec->mulgen(pub, b, 32, BR_EC_curve25519), 32);
    cr_assert_arr_eq(pub, b_pub, 32, "Bob's public key");
    x25519(ec, s1, a, b_pub);
    x25519(ec, s2, b, a_pub);
    cr_assert_arr_eq(s1, shared, 32, "Alice's secret");
    cr_assert_arr_eq(s2, shared, 32, "Bob's secret");
    /* Where the secret sits in mul's output, as BearSSL's code says. */
    size_t xlen, xoff = ec->xoff(BR_EC_curve25519, &xlen);
    cr_assert_eq(xoff, 0);
    cr_assert_eq(xlen, 32);
}

/* Bad input: wrong lengths, and a point of small order (u = 0, whose
 * shared secret is all zeros) is refused. */
Test(tls_nettle, x25519_refusals)
{
    const br_ec_impl *ec = &zzz_tls_nettle_ec;
    unsigned char k[33] = {1, 2, 3, [31] = 0x40}, g[32] = {0};
    cr_assert_eq(ec->mul(g, 32, k, 32, BR_EC_curve25519), 0, "an all-zero secret was taken");
    g[0] = 9;
    cr_assert_eq(ec->mul(g, 31, k, 32, BR_EC_curve25519), 0, "a 31-byte point was taken");
    cr_assert_eq(ec->mul(g, 32, k, 33, BR_EC_curve25519), 0, "a 33-byte scalar was taken");
    cr_assert_eq(ec->mulgen(g, k, 33, BR_EC_curve25519), 0, "a 33-byte scalar was taken");
    cr_assert(ec->supported_curves & (1u << BR_EC_curve25519));
    cr_assert(ec->supported_curves & (1u << BR_EC_secp256r1));
}

/* The other curves are BearSSL's: a P-256 Diffie-Hellman through the
 * wrapper matches BearSSL's default implementation. */
Test(tls_nettle, other_curves_are_bearssl)
{
    const br_ec_impl *ec = &zzz_tls_nettle_ec, *bear = br_ec_get_default();
    unsigned char k[32] = {0x12, 0x34}, kb[32] = {0x56, 0x78}, p1[65], p2[65], q[65];
    k[31] = 1, kb[31] = 3;
    size_t len = ec->mulgen(p1, k, 32, BR_EC_secp256r1);
    cr_assert_eq(len, 65);
    cr_assert_eq(bear->mulgen(p2, k, 32, BR_EC_secp256r1), 65);
    cr_assert_arr_eq(p1, p2, 65);
    memcpy(q, p1, 65);
    cr_assert_eq(ec->mul(q, 65, kb, 32, BR_EC_secp256r1), 1);
    cr_assert_eq(bear->mul(p2, 65, kb, 32, BR_EC_secp256r1), 1);
    cr_assert_arr_eq(q, p2, 65);
}

/* ---- signatures through the hooks ---- */

static const char *tls_dir(void)
{
    const char *dir = getenv("ZZZ_TLS_DIR");
    cr_assert(dir, "ZZZ_TLS_DIR is not set");
    return dir;
}

static zzz_tls_ctx *load(const char *chain, const char *key)
{
    char cert_path[512], key_path[512];
    snprintf(cert_path, sizeof cert_path, "%s/%s", tls_dir(), chain);
    snprintf(key_path, sizeof key_path, "%s/%s", tls_dir(), key);
    zzz_tls_cert cert = {.cert_file = cert_path, .key_file = key_path};
    zzz_tls_config cfg = {.certs = &cert, .cert_count = 1};
    zzz_tls_ctx *ctx = NULL;
    int err = zzz_tls_ctx_create(&ctx, &cfg);
    cr_assert_eq(err, 0, "%s: %s", chain, zzz_last_error());
    cr_assert_not_null(ctx->certs[0].nettle);
    return ctx;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* `openssl dgst -HASH -verify` with the leaf certificate's public key:
 * 0 when it says "Verified OK". */
static int openssl_verify(const char *chain, const char *hash, const void *msg, size_t msg_len,
                          const void *sig, size_t sig_len)
{
    char dir[] = "/tmp/zzz-nettle-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048], path[128];
    snprintf(path, sizeof path, "%s/msg", dir);
    write_file(path, msg, msg_len);
    snprintf(path, sizeof path, "%s/sig", dir);
    write_file(path, sig, sig_len);
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s/%s' -pubkey -noout >%s/pub.pem && "
             "openssl dgst -%s -verify %s/pub.pem -signature %s/sig %s/msg "
             "| grep -qx 'Verified OK'",
             tls_dir(), chain, dir, hash, dir, dir, dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    return rc;
}

typedef struct hash_case {
    const char *name; /* for openssl dgst */
    const br_hash_class *hf;
    const unsigned char *oid; /* BearSSL's PKCS#1 encoding */
} hash_case;

static size_t hash_msg(const hash_case *h, const void *msg, size_t len, unsigned char *out)
{
    br_hash_compat_context hc;
    h->hf->init(&hc.vtable);
    h->hf->update(&hc.vtable, msg, len);
    h->hf->out(&hc.vtable, out);
    return (h->hf->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
}

static const hash_case hashes[] = {
    {"sha256", &br_sha256_vtable, BR_HASH_OID_SHA256},
    {"sha384", &br_sha384_vtable, BR_HASH_OID_SHA384},
    {"sha512", &br_sha512_vtable, BR_HASH_OID_SHA512},
    {"sha1", &br_sha1_vtable, BR_HASH_OID_SHA1},
};

static void check_ecdsa(const char *chain, const char *key, int curve)
{
    zzz_tls_ctx *ctx = load(chain, key);
    const tls_cert *tc = &ctx->certs[0];
    cr_assert_eq(tc->ec.curve, curve);
    br_x509_decoder_context dc;
    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, tc->chain[0].data, tc->chain[0].data_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    cr_assert(pk && pk->key_type == BR_KEYTYPE_EC);
    static const char msg[] = "a ServerKeyExchange, more or less";
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        unsigned char h[64], sig[160], other[160];
        size_t hlen = hash_msg(&hashes[i], msg, sizeof msg - 1, h);
        size_t len = zzz_tls_nettle_ecdsa_sign(&zzz_tls_nettle_ec, hashes[i].hf, h, &tc->ec, sig);
        cr_assert(len > 0 && len <= 139, "%s %s: length %zu", chain, hashes[i].name, len);
        cr_assert_eq(br_ecdsa_i31_vrfy_asn1(br_ec_get_default(), h, hlen, &pk->key.ec, sig, len),
                     1, "%s %s: BearSSL refuses the signature", chain, hashes[i].name);
        cr_assert_eq(openssl_verify(chain, hashes[i].name, msg, sizeof msg - 1, sig, len), 0,
                     "%s %s: openssl refuses the signature", chain, hashes[i].name);
        /* A fresh nonce each time: two signatures of one hash differ. */
        size_t len2 = zzz_tls_nettle_ecdsa_sign(&zzz_tls_nettle_ec, hashes[i].hf, h, &tc->ec, other);
        cr_assert(len2 > 0);
        cr_assert(len != len2 || memcmp(sig, other, len) != 0, "the same nonce twice");
        /* And the checks can fail: another hash is refused. */
        h[0] ^= 1;
        cr_assert_eq(br_ecdsa_i31_vrfy_asn1(br_ec_get_default(), h, hlen, &pk->key.ec, sig, len),
                     0, "%s %s: a wrong hash verified", chain, hashes[i].name);
        cr_assert_neq(openssl_verify(chain, hashes[i].name, "x", 1, sig, len), 0);
    }
    zzz_tls_ctx_destroy(ctx);
}

Test(tls_nettle, ecdsa_p256)
{
    check_ecdsa("ec-chain.pem", "ec-key.pem", BR_EC_secp256r1);
}

Test(tls_nettle, ecdsa_p384)
{
    check_ecdsa("p384-chain.pem", "p384-key.pem", BR_EC_secp384r1);
}

Test(tls_nettle, ecdsa_p521)
{
    check_ecdsa("p521-chain.pem", "p521-key.pem", BR_EC_secp521r1);
}

Test(tls_nettle, rsa_pkcs1)
{
    zzz_tls_ctx *ctx = load("rsa-chain.pem", "rsa-key.pem");
    const tls_cert *tc = &ctx->certs[0];
    br_x509_decoder_context dc;
    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, tc->chain[0].data, tc->chain[0].data_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    cr_assert(pk && pk->key_type == BR_KEYTYPE_RSA);
    static const char msg[] = "a ServerKeyExchange, more or less";
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        unsigned char h[64], sig[512], bear[512], back[64];
        size_t hlen = hash_msg(&hashes[i], msg, sizeof msg - 1, h);
        size_t len = pk->key.rsa.nlen;
        cr_assert_eq(zzz_tls_nettle_rsa_sign(hashes[i].oid, h, hlen, &tc->rsa, sig), 1);
        /* PKCS#1 v1.5 is deterministic: BearSSL's own signer agrees. */
        cr_assert_eq(br_rsa_i31_pkcs1_sign(hashes[i].oid, h, hlen, &tc->rsa, bear), 1);
        cr_assert_arr_eq(sig, bear, len, "%s: not BearSSL's signature", hashes[i].name);
        cr_assert_eq(br_rsa_i31_pkcs1_vrfy(sig, len, hashes[i].oid, hlen, &pk->key.rsa, back), 1);
        cr_assert_arr_eq(back, h, hlen);
        cr_assert_eq(openssl_verify("rsa-chain.pem", hashes[i].name, msg, sizeof msg - 1, sig, len),
                     0, "%s: openssl refuses the signature", hashes[i].name);
        cr_assert_neq(openssl_verify("rsa-chain.pem", hashes[i].name, "x", 1, sig, len), 0);
    }
    zzz_tls_ctx_destroy(ctx);
}

/* ---- hashes and the PRF ---- */

typedef struct {
    const br_hash_class *ours, *bear;
    size_t out_len;
} hash_pair;

static const hash_pair hash_pairs[] = {
    {&zzz_tls_nettle_sha1_vtable, &br_sha1_vtable, 20},
    {&zzz_tls_nettle_sha256_vtable, &br_sha256_vtable, 32},
};

static void fill(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

static void hash_all(const br_hash_class *hc, const void *data, size_t len, size_t step,
                     unsigned char *out)
{
    br_hash_compat_context c;
    hc->init(&c.vtable);
    for (size_t off = 0; off < len; off += step)
        hc->update(&c.vtable, (const unsigned char *)data + off, len - off < step ? len - off : step);
    hc->out(&c.vtable, out);
}

Test(tls_nettle, hash_classes_match_bearssl)
{
    static unsigned char msg[3000];
    fill(msg, sizeof msg, 1);
    static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 3000};
    static const size_t steps[] = {1, 7, 64, 3000};
    for (size_t p = 0; p < sizeof hash_pairs / sizeof hash_pairs[0]; p++) {
        const hash_pair *hp = &hash_pairs[p];
        /* The same identity, sizes and padding for BearSSL's code. */
        cr_assert_eq(hp->ours->desc, hp->bear->desc, "pair %zu", p);
        cr_assert_leq(hp->ours->context_size, sizeof(br_hash_compat_context));
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
                unsigned char a[64], b[64];
                hash_all(hp->ours, msg, lens[l], steps[s], a);
                hash_all(hp->bear, msg, lens[l], 3000, b);
                cr_assert_arr_eq(a, b, hp->out_len, "pair %zu, %zu bytes in steps of %zu", p,
                                 lens[l], steps[s]);
            }
    }
}

/* The published SHA-256 vector of "abc" (FIPS 180-2), so the pair is
 * not only checked against itself. */
Test(tls_nettle, sha256_known_answer)
{
    unsigned char got[32], want[32];
    unhex(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 32);
    hash_all(&zzz_tls_nettle_sha256_vtable, "abc", 3, 3, got);
    cr_assert_arr_eq(got, want, 32);
}

/* out() does not disturb the running hash; state() and set_state()
 * speak BearSSL's format both ways, at a block boundary. */
Test(tls_nettle, hash_state_round_trips)
{
    static unsigned char msg[640];
    fill(msg, sizeof msg, 2);
    for (size_t p = 0; p < sizeof hash_pairs / sizeof hash_pairs[0]; p++) {
        const hash_pair *hp = &hash_pairs[p];
        unsigned char want[64], got[64], st_ours[64], st_bear[64];
        hash_all(hp->bear, msg, sizeof msg, sizeof msg, want);

        br_hash_compat_context c;
        hp->ours->init(&c.vtable);
        hp->ours->update(&c.vtable, msg, 100);
        hp->ours->out(&c.vtable, got); /* a digest in the middle */
        hp->ours->update(&c.vtable, msg + 100, sizeof msg - 100);
        hp->ours->out(&c.vtable, got);
        cr_assert_arr_eq(got, want, hp->out_len, "pair %zu: out() changed the context", p);

        /* Ours to BearSSL's after two blocks, and back after five. */
        br_hash_compat_context a, b;
        hp->ours->init(&a.vtable);
        hp->ours->update(&a.vtable, msg, 128);
        cr_assert_eq(hp->ours->state(&a.vtable, st_ours), 128);
        hp->bear->init(&b.vtable);
        hp->bear->update(&b.vtable, msg, 128);
        cr_assert_eq(hp->bear->state(&b.vtable, st_bear), 128);
        size_t st_len = hp->out_len; /* SHA-1's and SHA-256's state is their output's size */
        cr_assert_arr_eq(st_ours, st_bear, st_len, "pair %zu: state after two blocks", p);

        hp->bear->set_state(&b.vtable, st_ours, 128);
        hp->bear->update(&b.vtable, msg + 128, 192);
        cr_assert_eq(hp->bear->state(&b.vtable, st_bear), 320);
        hp->ours->set_state(&a.vtable, st_bear, 320);
        hp->ours->update(&a.vtable, msg + 320, sizeof msg - 320);
        cr_assert_eq(hp->ours->state(&a.vtable, st_ours), sizeof msg);
        hp->ours->out(&a.vtable, got);
        cr_assert_arr_eq(got, want, hp->out_len, "pair %zu: across set_state", p);
    }
}

/* What the engine does with them: a multi-hasher fed a byte at a time,
 * HMAC, and an HMAC-DRBG give what BearSSL's own classes give. */
Test(tls_nettle, hash_classes_in_bearssl_constructions)
{
    static unsigned char msg[700];
    fill(msg, sizeof msg, 3);
    for (size_t p = 0; p < sizeof hash_pairs / sizeof hash_pairs[0]; p++) {
        const hash_pair *hp = &hash_pairs[p];
        int id = (int)(hp->ours->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK;
        unsigned char a[64], b[64];

        br_multihash_context ma, mb;
        br_multihash_zero(&ma);
        br_multihash_zero(&mb);
        br_multihash_setimpl(&ma, id, hp->ours);
        br_multihash_setimpl(&mb, id, hp->bear);
        br_multihash_init(&ma);
        br_multihash_init(&mb);
        for (size_t i = 0; i < sizeof msg; i++)
            br_multihash_update(&ma, msg + i, 1);
        br_multihash_update(&mb, msg, sizeof msg);
        cr_assert_eq(br_multihash_out(&ma, id, a), hp->out_len);
        cr_assert_eq(br_multihash_out(&mb, id, b), hp->out_len);
        cr_assert_arr_eq(a, b, hp->out_len, "pair %zu: multi-hasher", p);

        br_hmac_key_context ka, kb;
        br_hmac_context ha, hb;
        br_hmac_key_init(&ka, hp->ours, msg, 100); /* a key longer than a block */
        br_hmac_key_init(&kb, hp->bear, msg, 100);
        br_hmac_init(&ha, &ka, 0);
        br_hmac_init(&hb, &kb, 0);
        br_hmac_update(&ha, msg + 100, 300);
        br_hmac_update(&hb, msg + 100, 300);
        cr_assert_eq(br_hmac_out(&ha, a), hp->out_len);
        cr_assert_eq(br_hmac_out(&hb, b), hp->out_len);
        cr_assert_arr_eq(a, b, hp->out_len, "pair %zu: HMAC", p);

        br_hmac_drbg_context da, db;
        br_hmac_drbg_init(&da, hp->ours, msg, 48);
        br_hmac_drbg_init(&db, hp->bear, msg, 48);
        unsigned char ra[100], rb[100];
        br_hmac_drbg_generate(&da, ra, sizeof ra);
        br_hmac_drbg_generate(&db, rb, sizeof rb);
        cr_assert_arr_eq(ra, rb, sizeof ra, "pair %zu: HMAC-DRBG", p);
    }
}

/* RFC 4231's test case 2 through BearSSL's HMAC with our SHA-256. */
Test(tls_nettle, hmac_sha256_known_answer)
{
    static const char data[] = "what do ya want for nothing?";
    unsigned char got[32], want[32];
    unhex(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
    br_hmac_key_context k;
    br_hmac_context h;
    br_hmac_key_init(&k, &zzz_tls_nettle_sha256_vtable, "Jefe", 4);
    br_hmac_init(&h, &k, 0);
    br_hmac_update(&h, data, sizeof data - 1);
    br_hmac_out(&h, got);
    cr_assert_arr_eq(got, want, 32);
}

/* The TLS 1.2 SHA-256 PRF: the vector circulated for TLS 1.2
 * implementers (secret, seed and "test label", 100 bytes out), then
 * BearSSL's own PRF as the oracle for the lengths a handshake asks
 * (12: Finished, 48: the master secret, 40 and more: key blocks) and
 * for seeds in several chunks. */
Test(tls_nettle, prf_sha256)
{
    unsigned char secret[16], seed[16], want[100], got[100];
    unhex(secret, "9bbe436ba940f017b17652849a71db35", 16);
    unhex(seed, "a0ba9f936cda311827a6f796ffd5198c", 16);
    unhex(want,
          "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b"
          "4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee"
          "42c5a72e5a5110fff70187347b66",
          100);
    br_tls_prf_seed_chunk one = {seed, sizeof seed};
    zzz_tls_nettle_prf_sha256(got, sizeof got, secret, sizeof secret, "test label", 1, &one);
    cr_assert_arr_eq(got, want, 100);

    static unsigned char key[48], s1[32], s2[32], s3[5];
    fill(key, sizeof key, 4), fill(s1, sizeof s1, 5), fill(s2, sizeof s2, 6), fill(s3, sizeof s3, 7);
    br_tls_prf_seed_chunk chunks[3] = {{s1, sizeof s1}, {s2, sizeof s2}, {s3, sizeof s3}};
    static const size_t lens[] = {0, 1, 12, 31, 32, 33, 40, 48, 64, 104, 200};
    for (size_t n = 1; n <= 3; n++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            unsigned char a[200], b[200];
            memset(a, 0xAA, sizeof a);
            memset(b, 0xAA, sizeof b);
            zzz_tls_nettle_prf_sha256(a, lens[l], key, sizeof key, "key expansion", n, chunks);
            br_tls12_sha256_prf(b, lens[l], key, sizeof key, "key expansion", n, chunks);
            cr_assert_arr_eq(a, b, sizeof a, "%zu chunks, %zu bytes", n, lens[l]);
        }
}

/* A connection's engine, as zzz sets it up: Nettle's SHA-1, SHA-256 and
 * PRF, and for the record ciphers the same code BearSSL's defaults pick
 * on this CPU (chosen once per context, not asked of the CPU per
 * connection). */
Test(tls_nettle, engine_setup)
{
    zzz_tls_ctx *ctx = load("ec-chain.pem", "ec-key.pem");
    zzz_tls_conn *t = calloc(1, ctx->state_size);
    cr_assert_not_null(t);
    zzz_tls_engine_setup(t, ctx);
    const br_ssl_engine_context *eng = &t->sc.eng;
    cr_assert_eq(br_multihash_getimpl(&eng->mhash, br_sha1_ID), &zzz_tls_nettle_sha1_vtable);
    cr_assert_eq(br_multihash_getimpl(&eng->mhash, br_sha256_ID), &zzz_tls_nettle_sha256_vtable);
    cr_assert_eq(br_multihash_getimpl(&eng->mhash, br_sha384_ID), &br_sha384_vtable);
    cr_assert_null(br_multihash_getimpl(&eng->mhash, br_sha224_ID));
    cr_assert_eq(eng->prf_sha256, zzz_tls_nettle_prf_sha256);

    br_ssl_server_context *bear = calloc(1, sizeof *bear);
    cr_assert_not_null(bear);
    br_ssl_server_zero(bear);
    br_ssl_engine_set_default_aes_gcm(&bear->eng);
    br_ssl_engine_set_default_chapol(&bear->eng);
    cr_assert_eq(eng->iaes_ctr, bear->eng.iaes_ctr);
    cr_assert_eq(eng->ighash, bear->eng.ighash);
    cr_assert_eq(eng->ichacha, bear->eng.ichacha);
    cr_assert_eq(eng->ipoly, bear->eng.ipoly);
    cr_assert_eq(eng->igcm_in, bear->eng.igcm_in);
    cr_assert_eq(eng->igcm_out, bear->eng.igcm_out);
    cr_assert_eq(eng->ichapol_in, bear->eng.ichapol_in);
    cr_assert_eq(eng->ichapol_out, bear->eng.ichapol_out);
    free(bear);
    free(t);
    zzz_tls_ctx_destroy(ctx);
}
