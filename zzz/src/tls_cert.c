/* A server certificate at start-up: its chain and private key read from
 * PEM (files or memory), the key checked against the certificate and, with
 * Nettle, converted for signing; the names it answers SNI for. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- certificates ---- */

typedef struct chain_load {
    zzz_bytes *ders; /* one per CERTIFICATE object */
    size_t count;
} chain_load;

static int chain_collect(const char *label, const zzz_bytes *der, void *arg)
{
    chain_load *cl = arg;
    if (strcmp(label, "CERTIFICATE") != 0 && strcmp(label, "X509 CERTIFICATE") != 0)
        return 0; /* other objects (a key in a combined file) are skipped */
    zzz_bytes *grown = realloc(cl->ders, (cl->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    cl->ders = grown;
    cl->ders[cl->count] = (zzz_bytes){0};
    int err = zzz_bytes_append(&cl->ders[cl->count], der->data, der->len);
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
    zzz_bytes pem;
    int err =
        zzz_pem_read(src->cert_file, src->cert_pem, src->cert_pem_len, "certificate chain", &pem);
    if (err)
        return err;
    chain_load cl = {0};
    err = zzz_pem_each(&pem, chain_collect, &cl);
    zzz_bytes_free(&pem);
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
            zzz_bytes_free(&cl.ders[i]);
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

static int key_collect(const char *label, const zzz_bytes *der, void *arg)
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
static int key_decode(tls_cert *tc, const zzz_bytes *pem, const char *name)
{
    key_load *kl = calloc(1, sizeof *kl);
    if (!kl)
        return -ENOMEM;
    int err = zzz_pem_each(pem, key_collect, kl);
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
    zzz_bytes pem;
    int err = zzz_pem_read(src->key_file, src->key_pem, src->key_pem_len, "private key", &pem);
    if (err)
        return err;
    err = key_decode(tc, &pem, name);
    zzz_bytes_free(&pem);
    if (err == 0)
        err = key_matches(tc, name, cert_name);
#ifdef ZZZ_HAVE_NETTLE
    if (err == 0 && (err = zzz_tls_nettle_key_load(tc)) != 0 && err != -ENOMEM)
        zzz_set_error("tls: %s: Nettle does not take this key", name);
#endif
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

void zzz_tls_cert_free(tls_cert *tc)
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
#ifdef ZZZ_HAVE_NETTLE
    zzz_tls_nettle_key_free(tc);
#endif
    memset(tc, 0, sizeof *tc);
}

/* Loads certificate entry `index` (from 0) of the configuration into tc:
 * its chain, its key (checked against the chain's first certificate) and
 * its names. 0 or -errno, with zzz_last_error saying which file and why;
 * on failure tc holds what was loaded, for zzz_tls_cert_free. */
int zzz_tls_cert_load(tls_cert *tc, const zzz_tls_cert *src, unsigned index)
{
    char cert_name[64], key_name[64];
    snprintf(cert_name, sizeof cert_name, "certificate %u (in memory)", index + 1);
    snprintf(key_name, sizeof key_name, "key %u (in memory)", index + 1);
    const char *cn = src->cert_file ? src->cert_file : cert_name;
    const char *kn = src->key_file ? src->key_file : key_name;
    int err = load_chain(tc, src, cn);
    if (err == 0)
        err = load_key(tc, src, kn, cn);
    if (err == 0)
        err = load_names(tc, src, cn);
    return err;
}
