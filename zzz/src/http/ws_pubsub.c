/* Publish/subscribe for WebSocket connections across a server's threads.
 * Each thread that has subscribers keeps a hub: its topics and their
 * subscribers, and a channel that publishers on any thread drop messages
 * into; a task of the hub's thread delivers each to the local
 * subscribers' queues. A publisher copies a message once and never waits:
 * a full channel or a full queue drops or closes, as configured. */
#include "http.h"
#include "server.h"
#include "ws_impl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WS_HUB_POSTS 4096u /* posts waiting for a hub's task, at most */
#define WS_TOPIC_MAX 255u
#define WS_SUBS_MAX 64u /* subscriptions of one connection, at most */
#define WS_TOPIC_BUCKETS 64u

typedef struct ws_topic {
    struct ws_topic *next; /* in its bucket */
    ws_sub *subs;
    bool sse; /* event streams' topics are apart from WebSockets' */
    size_t len;
    char name[];
} ws_topic;

struct ws_sub {
    ws_sub *next_of_ws;     /* the connection's subscriptions */
    ws_sub *next_of_topic;  /* the topic's subscribers */
    ws_sub **prev_of_topic; /* what points at this one there */
    zzz_ws *ws;
    ws_topic *topic;
};

/* A message on its way to the hubs: one per publish, counted. */
typedef struct ws_post {
    atomic_uint refs;
    ws_shared *msg;
    bool sse;
    size_t topic_len;
    char topic[];
} ws_post;

/* The hubs of one server, and its counters. */
typedef struct ws_registry {
    struct ws_registry *next;
    const zzz_server *server;
    struct zzz_ws_hub *hubs;
    atomic_ulong dropped;
    atomic_ulong overflow_closed;
} ws_registry;

struct zzz_ws_hub {
    struct zzz_ws_hub *next; /* in its registry (under ws_lock) */
    ws_registry *reg;
    tardy_chan *posts;
    tardy_watch stop;
    bool started;  /* its task and stop watch run */
    bool stopping; /* the server stops: no more posts */
    ws_topic *buckets[WS_TOPIC_BUCKETS];
};

static pthread_mutex_t ws_lock = PTHREAD_MUTEX_INITIALIZER;
static ws_registry *ws_registries;

static ws_registry *ws_registry_of(const zzz_server *server, bool make)
{
    for (ws_registry *r = ws_registries; r; r = r->next)
        if (r->server == server)
            return r;
    if (!make)
        return NULL;
    ws_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->server = server;
    r->next = ws_registries;
    ws_registries = r;
    return r;
}

static void ws_post_put(ws_post *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        zzz_ws_shared_put(p->msg);
        free(p);
    }
}

static size_t ws_hash(const char *s, size_t len)
{
    size_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h % WS_TOPIC_BUCKETS;
}

static ws_topic *ws_topic_find(struct zzz_ws_hub *hub, const char *name, size_t len, bool sse,
                               bool make)
{
    ws_topic **bucket = &hub->buckets[ws_hash(name, len)];
    for (ws_topic *t = *bucket; t; t = t->next)
        if (t->sse == sse && t->len == len && memcmp(t->name, name, len) == 0)
            return t;
    if (!make)
        return NULL;
    ws_topic *t = calloc(1, sizeof *t + len);
    if (!t)
        return NULL;
    t->len = len;
    t->sse = sse;
    memcpy(t->name, name, len);
    t->next = *bucket;
    *bucket = t;
    return t;
}

static void ws_topic_drop_if_empty(struct zzz_ws_hub *hub, ws_topic *t)
{
    if (t->subs)
        return;
    for (ws_topic **pp = &hub->buckets[ws_hash(t->name, t->len)]; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            free(t);
            return;
        }
    }
}

/* ---- the hub's task --------------------------------------------------- */

static void ws_deliver(struct zzz_ws_hub *hub, ws_post *p)
{
    ws_topic *t = ws_topic_find(hub, p->topic, p->topic_len, p->sse, false);
    for (ws_sub *s = t ? t->subs : NULL; s; s = s->next_of_topic)
        zzz_ws_enqueue(s->ws, p->msg);
}

static void ws_hub_run(void *arg)
{
    struct zzz_ws_hub *hub = arg;
    ws_post *p;
    while (tardy_chan_recv(hub->posts, &p) == 0) {
        ws_deliver(hub, p);
        ws_post_put(p);
    }
}

/* The server stops: publishers stop finding this hub, and its task ends
 * once it has delivered what was posted. */
static void ws_hub_stop(void *arg)
{
    struct zzz_ws_hub *hub = arg;
    pthread_mutex_lock(&ws_lock);
    hub->stopping = true;
    ws_registry *reg = hub->reg;
    for (struct zzz_ws_hub **pp = &reg->hubs; *pp; pp = &(*pp)->next) {
        if (*pp == hub) {
            *pp = hub->next;
            break;
        }
    }
    pthread_mutex_unlock(&ws_lock);
    tardy_chan_close(hub->posts);
}

static const char ws_hub_key;

static void *ws_hub_make(const void *key)
{
    (void)key;
    struct zzz_ws_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return NULL;
    if (tardy_chan_create(&hub->posts, sizeof(ws_post *), WS_HUB_POSTS) != 0) {
        free(hub);
        return NULL;
    }
    return hub;
}

/* After the thread's last connection: every subscription has ended. */
static void ws_hub_free(void *ptr)
{
    struct zzz_ws_hub *hub = ptr;
    ws_post *p;
    while (tardy_chan_try_recv(hub->posts, &p) == 0)
        ws_post_put(p);
    tardy_chan_destroy(hub->posts);
    for (size_t i = 0; i < WS_TOPIC_BUCKETS; i++) {
        while (hub->buckets[i]) {
            ws_topic *t = hub->buckets[i];
            hub->buckets[i] = t->next;
            free(t);
        }
    }
    free(hub);
}

/* The hub of ws's thread, started on first use (from a task there). */
static struct zzz_ws_hub *ws_hub(zzz_ws *ws)
{
    if (ws->hub)
        return ws->hub;
    struct zzz_ws_hub *hub = zzz_http_thread_local(ws->conn, &ws_hub_key, ws_hub_make, ws_hub_free);
    if (!hub)
        return NULL;
    if (!hub->started && !hub->stopping) {
        zzz_server *server = zzz_conn_server(ws->conn);
        pthread_mutex_lock(&ws_lock);
        ws_registry *reg = ws_registry_of(server, true);
        if (reg) {
            hub->reg = reg;
            hub->next = reg->hubs;
            reg->hubs = hub;
        }
        pthread_mutex_unlock(&ws_lock);
        if (!reg)
            return NULL;
        if (tardy_spawn(ws_hub_run, hub, NULL) != 0) {
            /* No task to be had now: out of the registry, and tried again
             * at the next subscription. */
            pthread_mutex_lock(&ws_lock);
            for (struct zzz_ws_hub **pp = &reg->hubs; *pp; pp = &(*pp)->next) {
                if (*pp == hub) {
                    *pp = hub->next;
                    break;
                }
            }
            pthread_mutex_unlock(&ws_lock);
            return NULL;
        }
        memset(&hub->stop, 0, sizeof hub->stop);
        if (tardy_watch_start(&hub->stop, zzz_server_stop_fd(server), POLLIN, 0, ws_hub_stop,
                              hub) != 0) {
            /* Its task ends with the channel; the hub serves no more. */
            ws_hub_stop(hub);
            return NULL;
        }
        hub->started = true;
    }
    ws->hub = hub;
    return hub;
}

/* ---- the API ---------------------------------------------------------- */

int zzz_ws_subscribe(zzz_ws *ws, const char *topic)
{
    size_t len = topic ? strlen(topic) : 0;
    if (!ws || !topic || len > WS_TOPIC_MAX)
        return -EINVAL;
    if (tardy_runtime_self() != ws->rt)
        return -EXDEV;
    if (ws->closed)
        return -EPIPE;
    unsigned count = 0;
    for (ws_sub *s = ws->subs; s; s = s->next_of_ws, count++)
        if (s->topic->len == len && memcmp(s->topic->name, topic, len) == 0)
            return 0;
    if (count >= WS_SUBS_MAX)
        return -ENOSPC;
    struct zzz_ws_hub *hub = ws_hub(ws);
    if (!hub)
        return -ENOMEM;
    if (hub->stopping)
        return -ECANCELED;
    ws_sub *s = calloc(1, sizeof *s);
    ws_topic *t = s ? ws_topic_find(hub, topic, len, ws->sse, true) : NULL;
    if (!t) {
        free(s);
        return -ENOMEM;
    }
    s->ws = ws;
    s->topic = t;
    s->next_of_topic = t->subs;
    if (t->subs)
        t->subs->prev_of_topic = &s->next_of_topic;
    s->prev_of_topic = &t->subs;
    t->subs = s;
    s->next_of_ws = ws->subs;
    ws->subs = s;
    return 0;
}

static void ws_sub_remove(zzz_ws *ws, ws_sub *s)
{
    *s->prev_of_topic = s->next_of_topic;
    if (s->next_of_topic)
        s->next_of_topic->prev_of_topic = s->prev_of_topic;
    ws_topic_drop_if_empty(ws->hub, s->topic);
    free(s);
}

int zzz_ws_unsubscribe(zzz_ws *ws, const char *topic)
{
    if (!ws || !topic)
        return -EINVAL;
    if (tardy_runtime_self() != ws->rt)
        return -EXDEV;
    size_t len = strlen(topic);
    for (ws_sub **pp = &ws->subs; *pp; pp = &(*pp)->next_of_ws) {
        ws_sub *s = *pp;
        if (s->topic->len == len && memcmp(s->topic->name, topic, len) == 0) {
            *pp = s->next_of_ws;
            ws_sub_remove(ws, s);
            return 0;
        }
    }
    return -ENOENT;
}

void zzz_ws_unsubscribe_all(zzz_ws *ws)
{
    while (ws->subs) {
        ws_sub *s = ws->subs;
        ws->subs = s->next_of_ws;
        ws_sub_remove(ws, s);
    }
}

int zzz_ws_publish(zzz_server *server, const char *topic, zzz_ws_type type, const void *data,
                   size_t len)
{
    return zzz_ws_publish_kind(server, topic, false, type, data, len);
}

int zzz_ws_publish_kind(zzz_server *server, const char *topic, bool sse, zzz_ws_type type,
                        const void *data, size_t len)
{
    size_t topic_len = topic ? strlen(topic) : 0;
    if (!server || !topic || topic_len > WS_TOPIC_MAX || (!data && len) ||
        (type != ZZZ_WS_TEXT && type != ZZZ_WS_BINARY))
        return -EINVAL;
    if (type == ZZZ_WS_TEXT && !zzz_utf8_valid(data, len))
        return -EINVAL;
    ws_post *p = malloc(sizeof *p + topic_len);
    ws_shared *m = p ? zzz_ws_shared_new(type, data, len, 1) : NULL;
    if (!m) {
        free(p);
        return -ENOMEM;
    }
    atomic_init(&p->refs, 1);
    p->msg = m;
    p->sse = sse;
    p->topic_len = topic_len;
    memcpy(p->topic, topic, topic_len);
    int handed = 0;
    pthread_mutex_lock(&ws_lock);
    ws_registry *reg = ws_registry_of(server, false);
    for (struct zzz_ws_hub *hub = reg ? reg->hubs : NULL; hub; hub = hub->next) {
        atomic_fetch_add(&p->refs, 1);
        if (tardy_chan_try_send(hub->posts, &p) == 0) {
            handed++;
        } else {
            atomic_fetch_sub(&p->refs, 1);
            atomic_fetch_add(&reg->dropped, 1);
        }
    }
    pthread_mutex_unlock(&ws_lock);
    ws_post_put(p);
    return handed;
}

void zzz_ws_count(zzz_ws *ws, bool dropped)
{
    zzz_server *server = zzz_conn_server(ws->conn);
    pthread_mutex_lock(&ws_lock);
    ws_registry *reg = ws_registry_of(server, true);
    if (reg)
        atomic_fetch_add(dropped ? &reg->dropped : &reg->overflow_closed, 1);
    pthread_mutex_unlock(&ws_lock);
}

void zzz_ws_stats_get(zzz_server *server, zzz_ws_stats *out)
{
    *out = (zzz_ws_stats){0};
    pthread_mutex_lock(&ws_lock);
    ws_registry *reg = server ? ws_registry_of(server, false) : NULL;
    if (reg) {
        out->dropped = atomic_load(&reg->dropped);
        out->overflow_closed = atomic_load(&reg->overflow_closed);
    }
    pthread_mutex_unlock(&ws_lock);
}
