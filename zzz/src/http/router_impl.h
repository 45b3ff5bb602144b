/* The router's trie (nodes, static edges, interned methods) and the small
 * helpers that building it (router.c) and matching against it
 * (router_match.c) share. Not installed. */
#ifndef ZZZ_HTTP_ROUTER_IMPL_H
#define ZZZ_HTTP_ROUTER_IMPL_H

#include "router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { NODE_STATIC, NODE_PARAM, NODE_WILD };

/* Methods are interned router-wide, so a node stores a small index per
 * route and matching compares integers; a request's method is looked up
 * once per match. */
typedef struct router_method {
    char *name;
    size_t len;
} router_method;

typedef struct node_route {
    unsigned method;
    zzz_handler handler;
    void *user;
    router_layer *layers; /* zzz_route_use */
    unsigned layer_count;
    uint64_t max_body;    /* zzz_route_max_body; 0: the group's or the server's */
} node_route;

typedef struct router_node router_node;

/* A static child, kept in an array sorted for binary search. The first
 * bytes of the label sit in the edge as an integer, so the search mostly
 * compares integers in one array instead of chasing label pointers into
 * nodes scattered over the heap (that is what a wide level of thousands of
 * siblings would cost). */
typedef struct node_edge {
    uint64_t key;
    const char *label;
    size_t len;
    router_node *child;
} node_edge;

struct router_node {
    /* The parent link is the backtracking stack: matching walks back up
     * through it instead of recursing, so a deep pattern cannot overflow
     * a small coroutine stack. */
    router_node *parent;
    int kind;
    unsigned param_index; /* param / wildcard: the slot of its value */
    unsigned param_count; /* params on the way from the root, own included */
    zzz_str name;         /* static: the decoded label; else the param name */
    node_edge *edges;
    unsigned edge_count, edge_cap;
    router_node *param;
    router_node *wild;
    node_route *routes;
    unsigned route_count;
    char text[]; /* storage for name */
};

/* What a prefix's requests share besides layers (router_groups.c). */
typedef struct router_group {
    char *prefix;      /* decoded, as a layer's */
    size_t prefix_len;
    zzz_error_handler on_error; /* NULL: the next group out's, then the server's */
    void *on_error_user;
    uint64_t max_body;          /* 0: the next group out's, then the server's */
} router_group;

/* Memory a router keeps for its handlers (a static mount's state), freed
 * with it. */
typedef struct router_owned {
    struct router_owned *next;
    void *ptr;
    void (*free_fn)(void *ptr);
} router_owned;

struct zzz_router {
    router_node *root;
    router_owned *owned;
    router_method *methods;
    unsigned method_count, method_cap;
    zzz_handler not_found;
    void *not_found_user;
    router_layer *layers; /* zzz_use: sorted by prefix length, stable */
    unsigned layer_count;
    router_group *groups; /* zzz_router_on_error, zzz_router_max_body: one
                             per prefix, sorted by prefix length */
    unsigned group_count;
};

/* Decodes a prefix as zzz_use takes it ("/api/" -> "/api", "/" -> "")
 * into a block of its own (*out, freed with free). Returns 0, -EINVAL for
 * a prefix zzz_use refuses, -ENOMEM. */
int zzz_http_prefix_decode(const char *prefix, char **out, size_t *out_len);

/* The route with this method and pattern, or NULL (*err says why:
 * -EINVAL for a pattern zzz_route refuses, -ENOENT, -ENOMEM). */
node_route *zzz_http_route_find(zzz_router *router, const char *method, const char *pattern,
                                int *err);

/* ---- small helpers ------------------------------------------------------ */

/* Bytes, then length: the alphabetical order the Allow list wants. */
static inline int str_order(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) {
        return c;
    }
    return (a_len > b_len) - (a_len < b_len);
}

static inline int method_find(const zzz_router *router, const char *name, size_t len)
{
    for (unsigned i = 0; i < router->method_count; i++) {
        if (router->methods[i].len == len && memcmp(router->methods[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The label's first 8 bytes, big-endian and zero-padded, so integer order
 * follows byte order. */
static inline uint64_t edge_key(const char *label, size_t len)
{
    uint64_t key = 0;
    for (size_t i = 0; i < 8; i++) {
        key = key << 8 | (i < len ? (unsigned char)label[i] : 0u);
    }
    return key;
}

/* Orders by (key, bytes past the key, length): a total order that tells
 * apart labels the padding confuses ("a" and "a\0"). */
static inline int edge_order(const node_edge *e, uint64_t key, const char *label, size_t len)
{
    if (e->key != key) {
        return e->key < key ? -1 : 1;
    }
    if (e->len > 8 && len > 8) {
        return str_order(e->label + 8, e->len - 8, label + 8, len - 8);
    }
    return (e->len > len) - (e->len < len);
}

/* Returns the index of the edge with this label, or where it would go
 * (with *found false). */
static inline unsigned edge_search(const router_node *node, const char *label, size_t len,
                                   bool *found)
{
    uint64_t key = edge_key(label, len);
    unsigned lo = 0, hi = node->edge_count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = edge_order(&node->edges[mid], key, label, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static inline const router_node *edge_find(const router_node *node, const char *label, size_t len)
{
    bool found;
    unsigned at = edge_search(node, label, len, &found);
    return found ? node->edges[at].child : NULL;
}

static inline const node_route *node_route_find(const router_node *node, int method)
{
    for (unsigned i = 0; i < node->route_count; i++) {
        if ((int)node->routes[i].method == method) {
            return &node->routes[i];
        }
    }
    return NULL;
}

#endif
