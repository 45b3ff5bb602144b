/* The HTTP router: a trie with one node per path segment, each node holding
 * its routes by method. Built with malloc as routes are added; matched
 * without allocating, copying or recursing.
 *
 * The path model, which patterns and request paths share:
 *  - A path is the list of the segments between its slashes, taken as
 *    given: "/a" is [a], "/a/" is [a, ""], "/" is [""], "/a//b" is
 *    [a, "", b]. Nothing is normalised (no collapsing of "//", no "." or
 *    ".."): what counts as the same resource is the application's call
 *    (a file server and a REST API disagree), and a router that rewrote
 *    paths would hide that from it. So "/a" and "/a/" are distinct routes.
 *  - An empty segment matches only an empty static segment of a pattern; a
 *    ":param" needs at least one byte, so a parameter is never empty and
 *    "/users//posts" does not match "/users/:id/posts".
 *  - A final "*name" takes everything after the slash it follows, slashes
 *    included, possibly nothing. So "/files/" followed by "*path" matches
 *    "/files/" (path "") and "/files/a/b" (path "a/b"), but not "/files",
 *    which lacks that slash; route "/files" as well if it should be served.
 *  - Patterns are compared with the percent-decoded path. A static segment
 *    is made of RFC 3986 pchars, and a "%XX" in it is decoded when the
 *    route is added, so a route can name bytes outside pchar (non-ASCII,
 *    a space, a literal '%'); "%2F" and "%00" are refused, since a decoded
 *    segment never holds them.
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
#include "router.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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

struct zzz_router {
    router_node *root;
    router_method *methods;
    unsigned method_count, method_cap;
    zzz_handler not_found;
    void *not_found_user;
};

/* ---- small helpers ------------------------------------------------------ */

/* Bytes, then length: the alphabetical order the Allow list wants. */
static int str_order(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) {
        return c;
    }
    return (a_len > b_len) - (a_len < b_len);
}

static bool is_alpha_digit(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
    return is_alpha_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 3986 pchar without pct-encoded (handled apart). */
static bool is_pchar(unsigned char c)
{
    return is_alpha_digit(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

/* Parameter names are identifiers a handler spells in C strings; keeping
 * them plain leaves room for future syntax around them. */
static bool is_name_char(unsigned char c)
{
    return is_alpha_digit(c) || c == '_' || c == '-';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int method_find(const zzz_router *router, const char *name, size_t len)
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
static uint64_t edge_key(const char *label, size_t len)
{
    uint64_t key = 0;
    for (size_t i = 0; i < 8; i++) {
        key = key << 8 | (i < len ? (unsigned char)label[i] : 0u);
    }
    return key;
}

/* Orders by (key, bytes past the key, length): a total order that tells
 * apart labels the padding confuses ("a" and "a\0"). */
static int edge_order(const node_edge *e, uint64_t key, const char *label, size_t len)
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
static unsigned edge_search(const router_node *node, const char *label, size_t len, bool *found)
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

static const router_node *edge_find(const router_node *node, const char *label, size_t len)
{
    bool found;
    unsigned at = edge_search(node, label, len, &found);
    return found ? node->edges[at].child : NULL;
}

static const node_route *node_route_find(const router_node *node, int method)
{
    for (unsigned i = 0; i < node->route_count; i++) {
        if ((int)node->routes[i].method == method) {
            return &node->routes[i];
        }
    }
    return NULL;
}

/* ---- building ----------------------------------------------------------- */

typedef struct pattern_seg {
    int kind;
    const char *text; /* static: decoded into the scratch buffer; else the name */
    size_t len;
} pattern_seg;

/* Reads the segment that starts at pattern[*pos] (just past a '/') and
 * moves *pos to the '/' or NUL that ends it. A static segment is decoded
 * into scratch. Returns 0 or -EINVAL. */
static int pattern_segment(const char *pattern, size_t *pos, char *scratch, pattern_seg *seg)
{
    const char *s = pattern + *pos;
    size_t len = strcspn(s, "/");
    *pos += len;

    if (len > 0 && (s[0] == ':' || s[0] == '*')) {
        seg->kind = s[0] == ':' ? NODE_PARAM : NODE_WILD;
        seg->text = s + 1;
        seg->len = len - 1;
        if (seg->len == 0) {
            return -EINVAL;
        }
        for (size_t i = 1; i < len; i++) {
            if (!is_name_char((unsigned char)s[i])) {
                return -EINVAL;
            }
        }
        return 0;
    }

    seg->kind = NODE_STATIC;
    seg->text = scratch;
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char)s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0) || (hi == 2 && lo == 15)) {
                return -EINVAL;
            }
            scratch[out++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (is_pchar(c)) {
            scratch[out++] = (char)c;
        } else {
            return -EINVAL;
        }
    }
    seg->len = out;
    return 0;
}

/* Walks the pattern over the tree without changing it: validates every
 * segment and finds the conflicts. A malformed pattern reports -EINVAL
 * even when it also conflicts, since fixing the conflict would not make it
 * valid. */
static int route_check(const zzz_router *router, const char *pattern, char *scratch, int method)
{
    const router_node *node = router->root;
    unsigned params = 0;
    int conflict = 0;
    size_t pos = 0;
    while (pattern[pos] == '/') {
        pos++;
        pattern_seg seg;
        if (pattern_segment(pattern, &pos, scratch, &seg) < 0) {
            return -EINVAL;
        }
        if (seg.kind == NODE_STATIC) {
            node = node ? edge_find(node, seg.text, seg.len) : NULL;
            continue;
        }
        if (++params > ZZZ_MAX_PARAMS || (seg.kind == NODE_WILD && pattern[pos] != '\0')) {
            return -EINVAL;
        }
        const router_node *next = node ? (seg.kind == NODE_PARAM ? node->param : node->wild) : NULL;
        if (next && str_order(next->name.ptr, next->name.len, seg.text, seg.len) != 0) {
            conflict = -EEXIST;
        }
        node = next;
    }
    if (pattern[pos] != '\0') {
        return -EINVAL;
    }
    if (node && method >= 0 && node_route_find(node, method)) {
        conflict = -EEXIST;
    }
    return conflict;
}

static router_node *node_new(router_node *parent, int kind, const char *text, size_t len)
{
    router_node *node = calloc(1, sizeof *node + len + 1);
    if (!node) {
        return NULL;
    }
    node->parent = parent;
    node->kind = kind;
    memcpy(node->text, text, len);
    node->name = (zzz_str){node->text, len};
    node->param_count = parent ? parent->param_count : 0;
    if (kind != NODE_STATIC) {
        node->param_index = node->param_count++;
    }
    return node;
}

static router_node *edge_insert(router_node *node, const char *label, size_t len)
{
    bool found;
    unsigned at = edge_search(node, label, len, &found);
    if (found) {
        return node->edges[at].child;
    }
    if (node->edge_count == node->edge_cap) {
        unsigned cap = node->edge_cap ? node->edge_cap * 2 : 2;
        node_edge *edges = realloc(node->edges, cap * sizeof *edges);
        if (!edges) {
            return NULL;
        }
        node->edges = edges;
        node->edge_cap = cap;
    }
    router_node *child = node_new(node, NODE_STATIC, label, len);
    if (!child) {
        return NULL;
    }
    memmove(&node->edges[at + 1], &node->edges[at], (node->edge_count - at) * sizeof *node->edges);
    node->edges[at] = (node_edge){edge_key(label, len), child->name.ptr, len, child};
    node->edge_count++;
    return child;
}

static int method_intern(zzz_router *router, const char *name, size_t len)
{
    int found = method_find(router, name, len);
    if (found >= 0) {
        return found;
    }
    if (router->method_count == router->method_cap) {
        unsigned cap = router->method_cap ? router->method_cap * 2 : 8;
        router_method *methods = realloc(router->methods, cap * sizeof *methods);
        if (!methods) {
            return -ENOMEM;
        }
        router->methods = methods;
        router->method_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        return -ENOMEM;
    }
    memcpy(copy, name, len + 1);
    router->methods[router->method_count] = (router_method){copy, len};
    return (int)router->method_count++;
}

/* Runs after route_check passed, so the pattern is valid and conflict
 * free. Running out of memory halfway leaves empty nodes behind; they
 * carry no route and so change no match. */
static int route_insert(zzz_router *router, const char *pattern, char *scratch, int method,
                        zzz_handler handler, void *user)
{
    router_node *node = router->root;
    size_t pos = 0;
    while (pattern[pos] == '/') {
        pos++;
        pattern_seg seg;
        (void)pattern_segment(pattern, &pos, scratch, &seg);
        if (seg.kind == NODE_STATIC) {
            node = edge_insert(node, seg.text, seg.len);
        } else {
            router_node **slot = seg.kind == NODE_PARAM ? &node->param : &node->wild;
            if (!*slot) {
                *slot = node_new(node, seg.kind, seg.text, seg.len);
            }
            node = *slot;
        }
        if (!node) {
            return -ENOMEM;
        }
    }
    node_route *routes = realloc(node->routes, (node->route_count + 1) * sizeof *routes);
    if (!routes) {
        return -ENOMEM;
    }
    node->routes = routes;
    routes[node->route_count++] = (node_route){(unsigned)method, handler, user};
    return 0;
}

int zzz_router_create(zzz_router **out)
{
    *out = NULL;
    zzz_router *router = calloc(1, sizeof *router);
    if (!router) {
        return -ENOMEM;
    }
    router->root = node_new(NULL, NODE_STATIC, "", 0);
    if (!router->root) {
        free(router);
        return -ENOMEM;
    }
    *out = router;
    return 0;
}

void zzz_router_destroy(zzz_router *router)
{
    if (!router) {
        return;
    }
    /* Post-order without recursion: detach a child and descend into it;
     * free a node once it has none left and climb to its parent. */
    router_node *node = router->root;
    while (node) {
        router_node *child = NULL;
        if (node->edge_count > 0) {
            child = node->edges[--node->edge_count].child;
        } else if (node->param) {
            child = node->param;
            node->param = NULL;
        } else if (node->wild) {
            child = node->wild;
            node->wild = NULL;
        }
        if (child) {
            node = child;
            continue;
        }
        router_node *parent = node->parent;
        free(node->edges);
        free(node->routes);
        free(node);
        node = parent;
    }
    for (unsigned i = 0; i < router->method_count; i++) {
        free(router->methods[i].name);
    }
    free(router->methods);
    free(router);
}

int zzz_route(zzz_router *router, const char *method, const char *pattern, zzz_handler handler,
              void *user)
{
    if (!router || !method || !pattern || !handler) {
        return -EINVAL;
    }
    size_t method_len = strlen(method);
    if (method_len == 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < method_len; i++) {
        if (!is_tchar((unsigned char)method[i])) {
            return -EINVAL;
        }
    }
    if (pattern[0] != '/') {
        return -EINVAL;
    }
    /* Decoding never grows a segment, so the pattern's length bounds it. */
    char *scratch = malloc(strlen(pattern) + 1);
    if (!scratch) {
        return -ENOMEM;
    }
    int err = route_check(router, pattern, scratch, method_find(router, method, method_len));
    if (err == 0) {
        int id = method_intern(router, method, method_len);
        err = id < 0 ? id : route_insert(router, pattern, scratch, id, handler, user);
    }
    free(scratch);
    return err;
}

void zzz_router_not_found(zzz_router *router, zzz_handler handler, void *user)
{
    router->not_found = handler;
    router->not_found_user = user;
}

/* ---- matching ----------------------------------------------------------- */

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

int router_match_path(const zzz_router *router, zzz_str method, zzz_str path, router_match *m)
{
    m->status = 404;
    m->handler = NULL;
    m->user = NULL;
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
