/* What the TLS files share: the server's TLS context (tls_config.c),
 * a connection's TLS state (tls_stream.c) and the PEM reader
 * (tls_pem.c). Only with ZZZ_HAVE_TLS. Not installed. */
#ifndef ZZZ_TLS_H
#define ZZZ_TLS_H

#include "stream.h"

#include <bearssl.h>

#include <pthread.h>

#define TLS_STAGE 4096u /* read-ahead for small records (zzz_tls_conn.stage) */

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
    /* The same key as Nettle takes it (tls_nettle.c); NULL without
     * Nettle. The signing hooks find it from &rsa or &ec. */
    struct tls_nettle_key *nettle;
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
    const char **alpn; /* the protocol names, in one block with their text */
    size_t alpn_count; /* 0: no ALPN */
    tls_cache cache;
    /* The record ciphers' code, chosen once for the CPU (BearSSL's
     * defaults ask the CPU through CPUID, which costs microseconds on a
     * virtual machine: not something to do per connection). */
    const br_block_ctr_class *aes_ctr;
    br_ghash ghash;
    br_chacha20_run chacha;
    br_poly1305_run poly;
};

/* A connection's TLS state: one slot of the worker's pool. */
struct zzz_tls_conn {
    br_ssl_server_context sc;
    /* The policy BearSSL calls once the ClientHello is in (tls_choose). */
    const br_ssl_server_policy_class *policy;
    const zzz_tls_ctx *ctx;
    bool established; /* the handshake finished */
    bool broken;      /* the socket failed or the peer left: send nothing more */
    bool close_sent;  /* tls_finish sent close_notify: close sends nothing */
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
    uint64_t record_since;  /* when the record being received began */
    uint64_t idle_since;    /* when it last went idle (tardy_now) */
    uint64_t open_deadline; /* when an unfinished handshake gives up */
    bool trimmed;           /* its buffer pages went back to the kernel */
    unsigned char stage[TLS_STAGE];
    unsigned char buffers[]; /* input (BR_SSL_BUFSIZE_INPUT), then output */
};

/* ---- PEM (tls_pem.c) ---- */

/* A growing byte buffer; zzz_bytes_free wipes it (it may hold a key). */
typedef struct zzz_bytes {
    unsigned char *data;
    size_t len, cap;
} zzz_bytes;

int zzz_bytes_append(zzz_bytes *b, const void *data, size_t len);
void zzz_bytes_free(zzz_bytes *b);

/* Reads a whole PEM source: the file when `path` is set, else the buffer
 * mem[0..mem_len). `what` names it in the error message. 0 or -errno. */
int zzz_pem_read(const char *path, const char *mem, size_t mem_len, const char *what,
                 zzz_bytes *out);

/* Calls `fn` for every PEM object of `pem` with its label and DER bytes.
 * Returns 0, the first non-zero return of fn, -EINVAL for broken PEM. */
int zzz_pem_each(const zzz_bytes *pem,
                 int (*fn)(const char *label, const zzz_bytes *der, void *arg), void *arg);

/* ---- Nettle's arithmetic (tls_nettle.c, only with ZZZ_HAVE_NETTLE) ---- */

#ifdef ZZZ_HAVE_NETTLE
/* BearSSL's curve interface with Curve25519 (X25519) through Nettle and
 * P-256, P-384, P-521 through BearSSL's default code. Curve25519
 * scalars and points are RFC 7748's 32 little-endian bytes, as BearSSL
 * gives them.
 * mul() returns 0 for a bad length or an all-zero shared secret. */
extern const br_ec_impl zzz_tls_nettle_ec;

/* Converts the certificate's key (tc->ec or tc->rsa, already checked
 * against the certificate) into tc->nettle. 0, -ENOMEM, -ENOTSUP (a
 * curve Nettle does not sign on here), -EINVAL (Nettle refuses the
 * numbers). tc->nettle is set even on failure: free it with
 * zzz_tls_nettle_key_free, which wipes the key. */
int zzz_tls_nettle_key_load(tls_cert *tc);
void zzz_tls_nettle_key_free(tls_cert *tc);

/* A br_ecdsa_sign for br_ssl_server_set_single_ec: `sk` must be the `ec`
 * field of a tls_cert whose key was loaded. Signs the hash (truncated to
 * the curve's order as ECDSA does) with a nonce from getrandom, writes
 * the ASN.1 (DER) signature into sig (room for 139 bytes) and returns
 * its length, or 0 (no key, or no randomness). */
size_t zzz_tls_nettle_ecdsa_sign(const br_ec_impl *impl, const br_hash_class *hf,
                                 const void *hash_value, const br_ec_private_key *sk, void *sig);

/* A br_rsa_pkcs1_sign for br_ssl_server_set_single_rsa: `sk` must be the
 * `rsa` field of a tls_cert whose key was loaded. PKCS#1 v1.5 with the
 * DigestInfo for hash_oid (BearSSL's encoding; NULL: the bare hash),
 * blinded and side-channel silent. Writes the modulus-sized signature
 * into x; 1 on success, 0 on failure. */
uint32_t zzz_tls_nettle_rsa_sign(const unsigned char *hash_oid, const unsigned char *hash,
                                 size_t hash_len, const br_rsa_private_key *sk, unsigned char *x);

/* SHA-1 and SHA-256 as BearSSL hash classes, computed by Nettle (which
 * uses the CPU's SHA instructions where it has them). Same desc, output
 * and running-state format as br_sha1_vtable and br_sha256_vtable (the
 * state is the chaining value as big-endian words; state() returns the
 * bytes hashed so far, set_state() takes a count that is a multiple of
 * the block size), so they serve the engine's transcript hashes, its
 * HMAC-DRBG and HMAC wherever BearSSL's would. A context fits in a
 * br_hash_compat_context. */
extern const br_hash_class zzz_tls_nettle_sha1_vtable;
extern const br_hash_class zzz_tls_nettle_sha256_vtable;

/* The TLS 1.2 PRF with SHA-256 (RFC 5246, section 5), through Nettle's
 * HMAC-SHA256: a br_tls_prf_impl for br_ssl_engine_set_prf_sha256. Writes
 * len bytes of P_SHA256(secret, label || seed[0] || ... ) into dst, and
 * wipes what it computed on the way. */
void zzz_tls_nettle_prf_sha256(void *dst, size_t len, const void *secret, size_t secret_len,
                               const char *label, size_t seed_num,
                               const br_tls_prf_seed_chunk *seed);
#endif

/* ---- certificates (tls_cert.c) ---- */

/* Loads entry `index` (from 0) of the configuration's certificates into tc
 * (zeroed): its chain, its key, checked against the chain's first
 * certificate (and, with Nettle, converted for signing), and its names.
 * 0 or -errno (-ENOENT, -EINVAL, -ENOMEM, ...), with zzz_last_error naming
 * the file and the reason; on failure tc holds what was loaded. */
int zzz_tls_cert_load(tls_cert *tc, const zzz_tls_cert *src, unsigned index);
/* Frees what zzz_tls_cert_load took, wiping the key, and zeroes tc. */
void zzz_tls_cert_free(tls_cert *tc);

/* ---- the context (tls_config.c) ---- */

/* Sets up a connection's engine for the context: versions, suites,
 * hashes, ALPN, the SNI policy, the session cache and its buffers. */
void zzz_tls_engine_setup(zzz_tls_conn *t, const zzz_tls_ctx *ctx);

#endif
