/* The rate-limit layer: a token bucket per client, kept as its
 * theoretical arrival time (GCRA), in a fixed table of sets shared by
 * every thread, each set under its own spin lock; 429 past the limit. */
#include "layer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h> /* isfinite, a macro: no libm */
#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define RL_DEFAULT_RATE 10.0
#define RL_MAX_RATE 1e6
#define RL_MAX_BURST 1000000u
#define RL_DEFAULT_CLIENTS 65536u
#define RL_MAX_CLIENTS (1u << 24)
/* The longest a bucket may take to fill (burst / rate), so that the
 * arithmetic in nanoseconds stays far from 64 bits. */
#define RL_MAX_FILL_S 1e9
/* Entries per set: a set and its lock fill four cache lines. */
#define RL_WAYS 10

typedef struct rl_entry {
    uint64_t k0, k1; /* the client's key */
    uint64_t tat;    /* when its bucket is full again; 0: a free entry */
} rl_entry;

typedef struct rl_set {
    _Alignas(64) atomic_uint lock;
    rl_entry e[RL_WAYS];
} rl_set;

typedef struct rl_state {
    rl_set *sets;
    size_t set_count;   /* a power of two */
    uint64_t interval;  /* ns between requests at the rate */
    uint64_t tolerance; /* ns a bucket may run ahead: interval * (burst - 1) */
    unsigned v6_bits;
    zzz_str (*key)(zzz_req *req, void *key_user);
    void *key_user;
    uint64_t seed[2];
} rl_state;

static void rl_free(void *p)
{
    rl_state *st = p;
    if (st->sets)
        munmap(st->sets, st->set_count * sizeof *st->sets);
    free(st);
}

/* ---- the bucket ---------------------------------------------------------- */

/* One request at now against a bucket whose full time is *tat (0 or
 * anything before now: full). Returns 0 and takes a token (moves *tat),
 * or the nanoseconds until a token is there, leaving *tat alone. */
static uint64_t rl_step(uint64_t *tat, uint64_t now, uint64_t interval, uint64_t tolerance)
{
    uint64_t t = *tat > now ? *tat : now;
    if (t - now > tolerance)
        return t - now - tolerance;
    *tat = t + interval;
    return 0;
}

/* Retry-After: whole seconds, rounded up, never 0. */
static uint64_t rl_retry_seconds(uint64_t wait_ns)
{
    uint64_t s = wait_ns / 1000000000u + (wait_ns % 1000000000u != 0);
    return s ? s : 1;
}

/* ---- keys ------------------------------------------------------------------- */

/* splitmix64's finalizer: every input bit moves every output bit. */
static uint64_t rl_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return x;
}

static uint64_t rl_hash_bytes(zzz_str s, uint64_t seed)
{
    uint64_t h = rl_mix(seed ^ s.len);
    size_t i = 0;
    for (; i + 8 <= s.len; i += 8) {
        uint64_t w;
        memcpy(&w, s.ptr + i, 8);
        h = rl_mix(h ^ w) + 0x9e3779b97f4a7c15u;
    }
    uint64_t tail = 0;
    memcpy(&tail, s.ptr + i, s.len - i);
    return rl_mix(h ^ tail ^ (uint64_t)(s.len - i) << 59);
}

static uint64_t rl_load_be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The key of a peer's address: IPv4 (and IPv4-mapped IPv6) as its mapped
 * form, IPv6 cut to its first v6_bits. False for another family. */
static bool rl_addr_key(const struct sockaddr *sa, unsigned v6_bits, uint64_t key[2])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[0] = 0;
        key[1] = 0xffff00000000u | ntohl(in->sin_addr.s_addr);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    key[0] = rl_load_be(a->s6_addr);
    key[1] = rl_load_be(a->s6_addr + 8);
    if (IN6_IS_ADDR_V4MAPPED(a))
        return true;
    if (v6_bits <= 64) {
        if (v6_bits < 64)
            key[0] &= v6_bits ? ~(uint64_t)0 << (64 - v6_bits) : 0;
        key[1] = 0;
    } else if (v6_bits < 128) {
        key[1] &= ~(uint64_t)0 << (128 - v6_bits);
    }
    return true;
}

/* ---- the table -------------------------------------------------------------- */

static void rl_lock(rl_set *s)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&s->lock, memory_order_relaxed)) {
            /* The holder may have lost its CPU: let it run. */
            if (++spins >= 64) {
                sched_yield();
                spins = 0;
            }
        }
    }
}

static void rl_unlock(rl_set *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* One request from the client `key` at now: 0 when it passes, else the
 * nanoseconds until one would. A client not in its set takes the entry
 * of the fullest bucket there (a free one, or one full again, first):
 * forgetting that client loses the least. */
static uint64_t rl_take(rl_state *st, const uint64_t key[2], uint64_t now)
{
    uint64_t h = rl_mix(key[0] ^ st->seed[0]) ^ rl_mix(key[1] + st->seed[1]);
    rl_set *s = &st->sets[h & (st->set_count - 1)];
    rl_lock(s);
    rl_entry *hit = NULL, *victim = &s->e[0];
    for (int i = 0; i < RL_WAYS; i++) {
        rl_entry *e = &s->e[i];
        if (e->tat != 0 && e->k0 == key[0] && e->k1 == key[1]) {
            hit = e;
            break;
        }
        if (e->tat < victim->tat)
            victim = e;
    }
    if (!hit) {
        hit = victim;
        *hit = (rl_entry){key[0], key[1], 0};
    }
    uint64_t wait = rl_step(&hit->tat, now, st->interval, st->tolerance);
    rl_unlock(s);
    return wait;
}

static void rl_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    rl_state *st = user;
    uint64_t key[2];
    bool limited;
    if (st->key) {
        zzz_str k = st->key(req, st->key_user);
        limited = k.len > 0;
        if (limited) {
            key[0] = rl_hash_bytes(k, st->seed[0]);
            key[1] = rl_hash_bytes(k, st->seed[1]);
        }
    } else {
        limited = rl_addr_key(zzz_req_peer(req, NULL), st->v6_bits, key);
    }
    uint64_t wait = limited ? rl_take(st, key, tardy_now()) : 0;
    if (wait == 0) {
        zzz_next_run(next);
        return;
    }
    char seconds[24];
    snprintf(seconds, sizeof seconds, "%llu", (unsigned long long)rl_retry_seconds(wait));
    zzz_res_header(res, "Retry-After", seconds);
    zzz_res_error(res, 429, "rate limit reached");
}

/* ---- making it ---------------------------------------------------------------- */

static void rl_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof seed[0], GRND_NONBLOCK) == (ssize_t)(2 * sizeof seed[0]))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[0] = rl_mix((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)seed);
    seed[1] = rl_mix(seed[0] ^ (uint64_t)ts.tv_sec);
}

int zzz_rate_limit_layer(zzz_router *router, const zzz_rate_limit_config *cfg, zzz_layer *layer,
                         void **user)
{
    static const zzz_rate_limit_config defaults;
    if (!router || !layer || !user)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    double rate = cfg->rate == 0 ? RL_DEFAULT_RATE : cfg->rate;
    if (!isfinite(rate) || rate < 0 || rate > RL_MAX_RATE || cfg->burst > RL_MAX_BURST ||
        cfg->clients > RL_MAX_CLIENTS || cfg->ipv6_prefix > 128)
        return -EINVAL;
    unsigned burst = cfg->burst;
    if (burst == 0) {
        burst = (unsigned)rate; /* rounded up, at least 1 */
        if (burst < rate || burst == 0)
            burst++;
    }
    if ((double)burst / rate > RL_MAX_FILL_S)
        return -EINVAL;
    rl_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->interval = (uint64_t)(1e9 / rate + 0.5);
    if (st->interval == 0)
        st->interval = 1;
    st->tolerance = st->interval * (burst - 1);
    st->v6_bits = cfg->ipv6_prefix ? cfg->ipv6_prefix : 64;
    st->key = cfg->key;
    st->key_user = cfg->key_user;
    rl_seed(st->seed);
    size_t clients = cfg->clients ? cfg->clients : RL_DEFAULT_CLIENTS;
    size_t sets = 1;
    while (sets * RL_WAYS < clients)
        sets *= 2;
    /* Zero pages from the kernel: only the sets clients land in are
     * touched. */
    void *mem = mmap(NULL, sets * sizeof(rl_set), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        free(st);
        return -ENOMEM;
    }
    st->sets = mem;
    st->set_count = sets;
    return zzz_http_layer_make(router, rl_layer, st, rl_free, layer, user);
}

int zzz_use_rate_limit(zzz_router *router, const char *prefix, const zzz_rate_limit_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_rate_limit_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
