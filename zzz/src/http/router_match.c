/* The HTTP router, matching side: zzz_router_match_path finds the route for a
 * method and a path in the trie that router.c builds, without allocating,
 * copying or recursing. The path model both sides share is in router.c's
 * header comment.
 *
 * Precedence at each segment: static, then parameter, then wildcard,
 * depth first, backtracking out of branches that dead-end. The search
 * looks for the method too: a branch whose path matches but that lacks the
 * method is passed over for a later branch that has it (GET /a/b with
 * routes "POST /a/b" and "GET /a/:x" runs the latter). Only when no branch
 * has the method is the answer 405, and its Allow is then the union of the
 * methods of every branch that matched the path: exactly the methods that
 * would have succeeded. The search visits each node at most once, so even
 * a failing match costs no more than the part of the tree the path
 * reaches.
 *
 * A router is read-only while matching, so any number of threads may match
 * concurrently once the routes are in place. */
#include "router_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Adds a method to the Allow list, which stays sorted and free of
 * repeats. One that would not fit is left out rather than cut: the buffer
 * holds all nine RFC 9110 methods with room to spare. */
static void allow_add(char *allow, size_t size, const char *name, size_t len)
{
    size_t used = strlen(allow);
    size_t at = 0;
    while (at < used) {
        const char *comma = memchr(allow + at, ',', used - at);
        size_t entry_len = comma ? (size_t)(comma - (allow + at)) : used - at;
        int c = str_order(allow + at, entry_len, name, len);
        if (c == 0) {
            return;
        }
        if (c > 0) {
            break;
        }
        at += entry_len + (comma ? 2 : 0);
    }
    if (used + len + (used ? 2 : 0) + 1 > size) {
        return;
    }
    if (at < used) {
        memmove(allow + at + len + 2, allow + at, used - at + 1);
        memcpy(allow + at, name, len);
        memcpy(allow + at + len, ", ", 2);
    } else {
        if (used) {
            memcpy(allow + used, ", ", 2);
            used += 2;
        }
        memcpy(allow + used, name, len);
        allow[used + len] = '\0';
    }
}

typedef struct match_state {
    const zzz_router *router;
    int method;   /* the request's method id, -1 when no route uses it */
    int fallback; /* GET's id for a HEAD request, else -1 */
    bool path_matched;
    router_match *m;
} match_state;

/* At a node where the whole path has been consumed: true when it has a
 * route for the method; otherwise notes its methods for a 405. */
static bool node_accept(match_state *st, const router_node *node)
{
    if (node->route_count == 0) {
        return false;
    }
    const node_route *route = node_route_find(node, st->method);
    if (!route && st->fallback >= 0) {
        route = node_route_find(node, st->fallback);
    }
    router_match *m = st->m;
    if (route) {
        m->status = 200;
        m->handler = route->handler;
        m->user = route->user;
        m->layers = route->layers;
        m->layer_count = route->layer_count;
        m->max_body = route->max_body;
        m->param_count = node->param_count;
        m->allow[0] = '\0';
        return true;
    }
    st->path_matched = true;
    for (unsigned i = 0; i < node->route_count; i++) {
        const router_method *method = &st->router->methods[node->routes[i].method];
        allow_add(m->allow, sizeof m->allow, method->name, method->len);
        if (method->len == 3 && memcmp(method->name, "GET", 3) == 0) {
            allow_add(m->allow, sizeof m->allow, "HEAD", 4);
        }
    }
    return false;
}

int zzz_router_match_path(const zzz_router *router, zzz_str method, zzz_str path, router_match *m)
{
    m->status = 404;
    m->handler = NULL;
    m->user = NULL;
    m->layers = NULL;
    m->layer_count = 0;
    m->max_body = 0;
    m->param_count = 0;
    m->allow[0] = '\0';

    match_state st = {router, method_find(router, method.ptr, method.len), -1, false, m};
    if (method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0) {
        st.fallback = method_find(router, "GET", 3);
    }

    if (path.len > 0 && path.ptr[0] == '/') {
        /* Depth-first search. `pos` is the index of the '/' before the
         * next segment, or path.len when none is left; `end` is where that
         * segment ends; `step` is the next alternative to try at `node`. */
        enum { TRY_STATIC, TRY_PARAM, TRY_WILD, BACK } step = TRY_STATIC;
        const router_node *node = router->root;
        const char *p = path.ptr;
        size_t pos = 0, end = 0;
        for (;;) {
            if (step == TRY_STATIC) {
                if (pos == path.len) {
                    if (node_accept(&st, node)) {
                        return 200;
                    }
                    step = BACK;
                    continue;
                }
                const char *slash = memchr(p + pos + 1, '/', path.len - pos - 1);
                end = slash ? (size_t)(slash - p) : path.len;
                const router_node *child = edge_find(node, p + pos + 1, end - pos - 1);
                if (child) {
                    node = child;
                    pos = end;
                } else {
                    step = TRY_PARAM;
                }
            } else if (step == TRY_PARAM) {
                const router_node *child = node->param;
                if (child && end > pos + 1) {
                    m->param_names[child->param_index] = child->name;
                    m->param_values[child->param_index] = (zzz_str){p + pos + 1, end - pos - 1};
                    node = child;
                    pos = end;
                    step = TRY_STATIC;
                } else {
                    step = TRY_WILD;
                }
            } else if (step == TRY_WILD) {
                const router_node *child = node->wild;
                if (child) {
                    m->param_names[child->param_index] = child->name;
                    m->param_values[child->param_index] =
                        (zzz_str){p + pos + 1, path.len - pos - 1};
                    if (node_accept(&st, child)) {
                        return 200;
                    }
                }
                step = BACK;
            } else {
                if (!node->parent) {
                    break;
                }
                /* The segment just left ended at pos and, holding no '/',
                 * began right after the last '/' before it. */
                end = pos;
                do {
                    pos--;
                } while (p[pos] != '/');
                step = node->kind == NODE_STATIC ? TRY_PARAM : TRY_WILD;
                node = node->parent;
            }
        }
    }

    if (st.path_matched) {
        m->status = 405;
        return 405;
    }
    m->allow[0] = '\0';
    m->handler = router->not_found;
    m->user = router->not_found_user;
    return 404;
}
