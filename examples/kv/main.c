/* kv: a line-based key-value store over TCP, a second protocol on the zzz
 * server (proof that the server is not tied to HTTP). It uses what HTTP
 * uses: per-thread state from the thread hooks, the connection calls,
 * and on_destroy to free the store.
 *
 *   SET key value\n  ->  OK\n
 *   GET key\n        ->  VALUE value\n   or  NOT_FOUND\n
 *   DEL key\n        ->  DELETED\n       or  NOT_FOUND\n
 *   STATS\n          ->  STATS n\n: the commands this connection's thread
 *                       has served, this one included
 *   anything else    ->  ERROR <why>\n
 *
 * Keys are 1..250 bytes without spaces, values up to 4096 bytes. A line
 * longer than the read buffer is refused and the connection closed. At
 * exit it prints how many commands its threads served. */
#include <zzz.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_MAX_KEY 250
#define KV_MAX_VALUE 4096
#define KV_BUCKETS 4096

typedef struct kv_entry {
    struct kv_entry *next;
    size_t key_len;
    size_t value_len;
    char data[]; /* key then value */
} kv_entry;

typedef struct kv_store {
    pthread_mutex_t lock;
    kv_entry *buckets[KV_BUCKETS];
    atomic_ulong commands; /* summed from the threads as they stop */
} kv_store;

/* Each thread counts its own commands: no lock, no shared cache line. */
typedef struct kv_thread {
    unsigned long commands;
} kv_thread;

static size_t kv_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return (size_t)(h % KV_BUCKETS);
}

static kv_entry **kv_find(kv_store *kv, const char *key, size_t len)
{
    kv_entry **slot = &kv->buckets[kv_hash(key, len)];
    while (*slot && !((*slot)->key_len == len && memcmp((*slot)->data, key, len) == 0))
        slot = &(*slot)->next;
    return slot;
}

static int kv_set(kv_store *kv, const char *key, size_t klen, const char *value, size_t vlen)
{
    kv_entry *e = malloc(sizeof *e + klen + vlen);
    if (!e)
        return -ENOMEM;
    e->key_len = klen;
    e->value_len = vlen;
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, value, vlen);
    pthread_mutex_lock(&kv->lock);
    kv_entry **slot = kv_find(kv, key, klen);
    kv_entry *old = *slot;
    e->next = old ? old->next : NULL;
    *slot = e;
    pthread_mutex_unlock(&kv->lock);
    free(old);
    return 0;
}

/* Copies the value into out (KV_MAX_VALUE bytes); returns its length or -1. */
static ssize_t kv_get(kv_store *kv, const char *key, size_t klen, char *out)
{
    ssize_t n = -1;
    pthread_mutex_lock(&kv->lock);
    kv_entry *e = *kv_find(kv, key, klen);
    if (e) {
        memcpy(out, e->data + e->key_len, e->value_len);
        n = (ssize_t)e->value_len;
    }
    pthread_mutex_unlock(&kv->lock);
    return n;
}

static bool kv_del(kv_store *kv, const char *key, size_t klen)
{
    pthread_mutex_lock(&kv->lock);
    kv_entry **slot = kv_find(kv, key, klen);
    kv_entry *e = *slot;
    if (e)
        *slot = e->next;
    pthread_mutex_unlock(&kv->lock);
    free(e);
    return e != NULL;
}

/* on_destroy: the server is done with the store. */
static void kv_free(void *user)
{
    kv_store *kv = user;
    for (size_t i = 0; i < KV_BUCKETS; i++) {
        for (kv_entry *e = kv->buckets[i]; e;) {
            kv_entry *next = e->next;
            free(e);
            e = next;
        }
        kv->buckets[i] = NULL;
    }
}

static int kv_thread_start(void *user, void **thread_data)
{
    (void)user;
    kv_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    *thread_data = t;
    return 0;
}

static void kv_thread_stop(void *user, void *thread_data)
{
    kv_store *kv = user;
    kv_thread *t = thread_data;
    atomic_fetch_add(&kv->commands, t->commands);
    free(t);
}

/* Answers one command line (without its newline). */
static int kv_command(zzz_conn *conn, kv_store *kv, kv_thread *t, char *line, size_t len)
{
    t->commands++;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 5 && memcmp(line, "STATS", 5) == 0) {
        char reply[32];
        int n = snprintf(reply, sizeof reply, "STATS %lu\n", t->commands);
        return zzz_conn_out(conn, reply, (size_t)n);
    }
    char *sp = memchr(line, ' ', len);
    size_t cmd_len = sp ? (size_t)(sp - line) : len;
    char *key = sp ? sp + 1 : line + len;
    size_t rest = (size_t)(line + len - key);
    char *sp2 = memchr(key, ' ', rest);
    size_t key_len = sp2 ? (size_t)(sp2 - key) : rest;
    if (key_len == 0 || key_len > KV_MAX_KEY)
        return zzz_conn_out(conn, "ERROR bad key\n", 14);
    if (cmd_len == 3 && memcmp(line, "SET", 3) == 0) {
        if (!sp2)
            return zzz_conn_out(conn, "ERROR SET needs a value\n", 24);
        size_t vlen = rest - key_len - 1;
        if (vlen > KV_MAX_VALUE)
            return zzz_conn_out(conn, "ERROR value too long\n", 21);
        if (kv_set(kv, key, key_len, sp2 + 1, vlen) != 0)
            return zzz_conn_out(conn, "ERROR out of memory\n", 20);
        return zzz_conn_out(conn, "OK\n", 3);
    }
    if (sp2)
        return zzz_conn_out(conn, "ERROR too many arguments\n", 25);
    if (cmd_len == 3 && memcmp(line, "GET", 3) == 0) {
        char value[KV_MAX_VALUE];
        ssize_t n = kv_get(kv, key, key_len, value);
        if (n < 0)
            return zzz_conn_out(conn, "NOT_FOUND\n", 10);
        int err = zzz_conn_out(conn, "VALUE ", 6);
        if (err == 0)
            err = zzz_conn_out(conn, value, (size_t)n);
        return err ? err : zzz_conn_out(conn, "\n", 1);
    }
    if (cmd_len == 3 && memcmp(line, "DEL", 3) == 0) {
        if (kv_del(kv, key, key_len))
            return zzz_conn_out(conn, "DELETED\n", 8);
        return zzz_conn_out(conn, "NOT_FOUND\n", 10);
    }
    return zzz_conn_out(conn, "ERROR unknown command\n", 22);
}

/* The protocol: answer every whole line there is, then say what comes
 * next. The server sends the answers before the connection waits, and
 * while it waits (idle, or with half a line kept for when the rest
 * comes) it holds no task and no buffer. */
static zzz_conn_next kv_on_conn(zzz_conn *conn, void *user)
{
    kv_store *kv = user;
    kv_thread *t = zzz_conn_thread_data(conn);
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data)
        return ZZZ_CLOSE;
    for (;;) {
        char *nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - in->data);
            if (kv_command(conn, kv, t, in->data, len) != 0)
                return ZZZ_CLOSE;
            zzz_conn_consume(conn, len + 1);
            continue;
        }
        if (in->len == in->cap) {
            zzz_conn_out(conn, "ERROR line too long\n", 20);
            return ZZZ_CLOSE; /* what is queued is sent first */
        }
        /* More may have come while we answered: take it without waiting. */
        ssize_t n = zzz_conn_fill_now(conn);
        if (n == -EAGAIN)
            return ZZZ_WAIT;
        if (n <= 0)
            return ZZZ_CLOSE;
    }
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--host ADDR] [--port N] [--threads N]\n", prog);
}

int main(int argc, char **argv)
{
    zzz_server_config cfg = {.host = "127.0.0.1", .port = 7001, .threads = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            cfg.host = argv[++i];
        else {
            usage(argv[0]);
            return 2;
        }
    }
    static kv_store kv = {.lock = PTHREAD_MUTEX_INITIALIZER};
    cfg.on_conn = kv_on_conn;
    cfg.on_thread_start = kv_thread_start;
    cfg.on_thread_stop = kv_thread_stop;
    cfg.on_destroy = kv_free;
    cfg.user = &kv;
    cfg.on_start = on_start;
    cfg.start_arg = (void *)cfg.host;
    zzz_server *server;
    int err = zzz_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "kv: cannot listen on %s:%u: %s\n", cfg.host, cfg.port, strerror(-err));
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server); /* frees the store's entries (on_destroy) */
    printf("kv: served %lu commands\n", atomic_load(&kv.commands));
    if (err) {
        fprintf(stderr, "kv: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
