/* The request-ID layer: the client's ID when it is sane, else one made
 * from a random prefix per thread and a counter; sent back on every
 * answer and readable by handlers and layers (zzz_request_id). */
#include "layer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RID_HEADER_MAX 64
#define RID_DEFAULT_MAX 200
#define RID_MAX 1024
/* A made ID: 16 hex digits, '-', 8 to 16 more. */
#define RID_MADE_MAX 33

typedef struct rid_state {
    char header[RID_HEADER_MAX + 1];
    size_t header_len;
    size_t max_len;
    bool ignore_client;
} rid_state;

/* A request's ID among its values (zzz_req_set), with what its hook
 * needs. */
typedef struct rid_value {
    const rid_state *state;
    zzz_str id;
    char text[];
} rid_value;

static const char rid_key;

/* Each thread makes its own IDs: tasks never move between threads, so
 * this needs no lock and costs no system call once the prefix is drawn. */
static _Thread_local struct {
    bool ready;
    char prefix[16];
    uint64_t count;
} rid_thread;

static const char rid_hex[] = "0123456789abcdef";

/* Letters, digits and a few punctuation marks that need no quoting in a
 * field, a log line or a URL: a client's ID made of anything else is not
 * taken (never echoed), and one is made instead. */
static bool rid_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=' || c == '@' ||
           c == '~';
}

static bool rid_is_sane(zzz_str id, size_t max_len)
{
    if (id.len == 0 || id.len > max_len)
        return false;
    for (size_t i = 0; i < id.len; i++)
        if (!rid_char_ok((unsigned char)id.ptr[i]))
            return false;
    return true;
}

static void rid_draw_prefix(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        /* No entropy yet (early boot) or no getrandom: the clock, the
         * thread and an address still tell threads and runs apart. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        seed ^= (uint64_t)gettid() << 32 ^ (uint64_t)(uintptr_t)&rid_thread;
        seed *= 0x9e3779b97f4a7c15u;
    }
    for (int i = 15; i >= 0; i--, seed >>= 4)
        rid_thread.prefix[i] = rid_hex[seed & 15];
    rid_thread.ready = true;
}

/* Writes a new ID at out (RID_MADE_MAX bytes); returns its length. */
static size_t rid_make(char *out)
{
    if (!rid_thread.ready)
        rid_draw_prefix();
    uint64_t n = rid_thread.count++;
    memcpy(out, rid_thread.prefix, 16);
    out[16] = '-';
    int digits = 8;
    while (digits < 16 && (n >> (4 * digits)) != 0)
        digits++;
    for (int i = 0; i < digits; i++)
        out[17 + i] = rid_hex[(n >> (4 * (digits - 1 - i))) & 15];
    return 17 + (size_t)digits;
}

static void rid_hook(zzz_res *res, void *user)
{
    const rid_value *v = user;
    /* The name was checked when the layer was made; the ID is of the safe
     * set, or made here. */
    if (!zzz_http_res_has_field(res, v->state->header))
        zzz_http_res_add_field(res, (zzz_str){v->state->header, v->state->header_len}, v->id);
}

static void rid_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    const rid_state *st = user;
    zzz_str given = {0};
    bool take = !st->ignore_client && zzz_req_header(req, st->header, &given) &&
                rid_is_sane(given, st->max_len);
    size_t cap = take ? given.len : RID_MADE_MAX;
    /* Copied into the request's memory: it outlives the head, which a
     * handler that takes the connection over gives up. */
    rid_value *v = zzz_alloc(req, sizeof *v + cap);
    if (v && zzz_req_set(req, &rid_key, v) == 0) {
        v->state = st;
        size_t len = take ? given.len : rid_make(v->text);
        if (take)
            memcpy(v->text, given.ptr, len);
        v->id = (zzz_str){v->text, len};
        zzz_res_on_head(res, rid_hook, v);
    }
    zzz_next_run(next);
}

zzz_str zzz_request_id(const zzz_req *req)
{
    const rid_value *v = req ? zzz_req_get(req, &rid_key) : NULL;
    return v ? v->id : (zzz_str){"", 0};
}

int zzz_request_id_layer(zzz_router *router, const zzz_request_id_config *cfg, zzz_layer *layer,
                         void **user)
{
    static const zzz_request_id_config defaults;
    if (!router || !layer || !user)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    const char *header = cfg->header ? cfg->header : "X-Request-Id";
    if (!zzz_http_is_token(header, RID_HEADER_MAX) || cfg->max_len > RID_MAX)
        return -EINVAL;
    rid_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    strcpy(st->header, header);
    st->header_len = strlen(header);
    st->max_len = cfg->max_len ? cfg->max_len : RID_DEFAULT_MAX;
    st->ignore_client = cfg->ignore_client;
    return zzz_http_layer_make(router, rid_layer, st, free, layer, user);
}

int zzz_use_request_id(zzz_router *router, const char *prefix, const zzz_request_id_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_request_id_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
