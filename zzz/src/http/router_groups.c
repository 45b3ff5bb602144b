/* What a route group (a path prefix) or one route sets besides layers:
 * its error handler and its body limit, and how a request finds them. */
#include "http.h"
#include "router_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The group of this prefix, made when missing. NULL with *err set. */
static router_group *group_get(zzz_router *router, const char *prefix, int *err)
{
    char *copy;
    size_t len;
    *err = zzz_http_prefix_decode(prefix, &copy, &len);
    if (*err)
        return NULL;
    unsigned at = 0;
    for (; at < router->group_count; at++) {
        router_group *g = &router->groups[at];
        if (g->prefix_len == len && memcmp(g->prefix, copy, len) == 0) {
            free(copy);
            return g;
        }
        if (g->prefix_len > len)
            break;
    }
    router_group *groups = realloc(router->groups, (router->group_count + 1) * sizeof *groups);
    if (!groups) {
        free(copy);
        *err = -ENOMEM;
        return NULL;
    }
    router->groups = groups;
    memmove(&groups[at + 1], &groups[at], (router->group_count - at) * sizeof *groups);
    groups[at] = (router_group){.prefix = copy, .prefix_len = len};
    router->group_count++;
    return &groups[at];
}

int zzz_router_on_error(zzz_router *router, const char *prefix, zzz_error_handler handler,
                        void *user)
{
    if (!router || !prefix)
        return -EINVAL;
    int err;
    router_group *g = group_get(router, prefix, &err);
    if (!g)
        return err;
    g->on_error = handler;
    g->on_error_user = handler ? user : NULL;
    return 0;
}

int zzz_router_max_body(zzz_router *router, const char *prefix, uint64_t max_body)
{
    if (!router || !prefix)
        return -EINVAL;
    int err;
    router_group *g = group_get(router, prefix, &err);
    if (!g)
        return err;
    g->max_body = max_body;
    return 0;
}

int zzz_route_max_body(zzz_router *router, const char *method, const char *pattern,
                       uint64_t max_body)
{
    if (!router || !method || !pattern)
        return -EINVAL;
    int err;
    node_route *route = zzz_http_route_find(router, method, pattern, &err);
    if (!route)
        return err;
    route->max_body = max_body;
    return 0;
}

/* Groups are few and sorted by prefix length: the longest that covers
 * the path and sets the thing wins, found walking down from the end. */
uint64_t zzz_http_router_max_body(const zzz_router *router, zzz_str path)
{
    for (unsigned i = router->group_count; i-- > 0;) {
        const router_group *g = &router->groups[i];
        if (g->max_body && zzz_http_prefix_covers(g->prefix, g->prefix_len, path))
            return g->max_body;
    }
    return 0;
}

bool zzz_http_router_on_error(const zzz_router *router, zzz_str path, zzz_error_handler *fn,
                              void **user)
{
    for (unsigned i = router->group_count; i-- > 0;) {
        const router_group *g = &router->groups[i];
        if (g->on_error && zzz_http_prefix_covers(g->prefix, g->prefix_len, path)) {
            *fn = g->on_error;
            *user = g->on_error_user;
            return true;
        }
    }
    return false;
}
