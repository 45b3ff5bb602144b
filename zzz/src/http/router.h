/* The router: per-method routes in a trie of path segments (static,
 * ":param", final "*wildcard"), so matching cost grows with the path, not
 * with the number of routes. zzz.h declares the calls that build it
 * (router.c); this header, the match (router_match.c). */
#ifndef ZZZ_HTTP_ROUTER_H
#define ZZZ_HTTP_ROUTER_H

#include "zzz.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ZZZ_MAX_PARAMS 16

/* A middleware layer as the router keeps it: for a prefix (zzz_use) or
 * one route (zzz_route_use, prefix unused). */
typedef struct router_layer {
    zzz_layer fn;
    void *user;
    char *prefix;      /* "/api" (no trailing '/'); "" for every path */
    size_t prefix_len;
} router_layer;

typedef struct router_match {
    int status;            /* 200 matched, 404 no path, 405 path but not method */
    zzz_handler handler;   /* 200: the route's; 404: the not-found handler
                              (NULL when none was set) */
    void *user;
    const router_layer *layers; /* 200: the route's own layers */
    unsigned layer_count;
    uint64_t max_body;     /* 200: the route's own limit (0: none) */
    unsigned param_count;
    zzz_str param_names[ZZZ_MAX_PARAMS];
    zzz_str param_values[ZZZ_MAX_PARAMS]; /* slices of the path given */
    char allow[128];       /* 405: "GET, HEAD, POST" (NUL-terminated); HEAD
                              is listed wherever GET is */
} router_match;

/* Matches a method and a percent-decoded path ("/users/42"). HEAD falls
 * back to GET when no HEAD route exists. Never allocates. Always returns
 * m->status (200, 404 or 405). */
int zzz_router_match_path(const zzz_router *router, zzz_str method, zzz_str path, router_match *m);

/* Gives the router ptr to free with free_fn when it is destroyed (the
 * state of handlers libzzz adds, like a static mount's). Returns 0, or
 * -ENOMEM (ptr is then still the caller's). */
int zzz_http_router_own(zzz_router *router, void *ptr, void (*free_fn)(void *ptr));

/* Whether a decoded prefix (zzz_use's: "/api", or "" for everything)
 * covers path: the prefix itself or beneath it, not "/apis". */
static inline bool zzz_http_prefix_covers(const char *prefix, size_t prefix_len, zzz_str path)
{
    if (prefix_len == 0)
        return true;
    return path.len >= prefix_len && memcmp(path.ptr, prefix, prefix_len) == 0 &&
           (path.len == prefix_len || path.ptr[prefix_len] == '/');
}

/* The body limit for a request to path whose route (if any) set none:
 * the longest prefix's that has one (zzz_router_max_body), else 0. */
uint64_t zzz_http_router_max_body(const zzz_router *router, zzz_str path);

/* The error handler for a request to path: the longest prefix's that
 * has one (zzz_router_on_error); false when none does. */
bool zzz_http_router_on_error(const zzz_router *router, zzz_str path, zzz_error_handler *fn,
                              void **user);

/* The prefix layers (zzz_use), outermost first. */
const router_layer *zzz_http_router_layers(const zzz_router *router, unsigned *count);

#endif
