/* The HTTP router, building side: zzz_router_create and _destroy,
 * zzz_router_not_found, and zzz_route, which checks a pattern and adds it
 * to a trie with one node per path segment, each node holding its routes
 * by method. Built with malloc as routes are added. The trie's structures
 * are in router_impl.h; matching a request against it is router_match.c.
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
 */
#include "router_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------ */

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
    routes[node->route_count++] = (node_route){.method = (unsigned)method, .handler = handler, .user = user};
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

int zzz_http_router_own(zzz_router *router, void *ptr, void (*free_fn)(void *ptr))
{
    router_owned *o = malloc(sizeof *o);
    if (!o) {
        return -ENOMEM;
    }
    *o = (router_owned){.next = router->owned, .ptr = ptr, .free_fn = free_fn};
    router->owned = o;
    return 0;
}

void zzz_router_destroy(zzz_router *router)
{
    if (!router) {
        return;
    }
    while (router->owned) {
        router_owned *o = router->owned;
        router->owned = o->next;
        o->free_fn(o->ptr);
        free(o);
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
        for (unsigned i = 0; i < node->route_count; i++) {
            free(node->routes[i].layers);
        }
        free(node->edges);
        free(node->routes);
        free(node);
        node = parent;
    }
    for (unsigned i = 0; i < router->method_count; i++) {
        free(router->methods[i].name);
    }
    free(router->methods);
    for (unsigned i = 0; i < router->layer_count; i++) {
        free(router->layers[i].prefix);
    }
    free(router->layers);
    for (unsigned i = 0; i < router->group_count; i++) {
        free(router->groups[i].prefix);
    }
    free(router->groups);
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

/* ---- layers ------------------------------------------------------------- */

int zzz_http_prefix_decode(const char *prefix, char **out, size_t *out_len)
{
    size_t len = strlen(prefix);
    if (len > 0 && (prefix[0] != '/' || strstr(prefix, "//"))) {
        return -EINVAL;
    }
    /* "/" and "" cover everything; "/api/" is "/api". */
    while (len > 0 && prefix[len - 1] == '/') {
        len--;
    }
    /* Decoded segment by segment as a pattern's static segments are (a
     * bad escape, %00, %2F or a byte a path cannot hold is refused), so
     * it compares with the decoded paths the router matches. */
    char *raw = malloc(2 * (len + 1));
    if (!raw) {
        return -ENOMEM;
    }
    memcpy(raw, prefix, len);
    raw[len] = '\0';
    char *copy = raw + len + 1, *scratch = copy;
    size_t pos = 0, end = 0;
    while (raw[pos] == '/') {
        pos++;
        pattern_seg seg;
        if (pattern_segment(raw, &pos, scratch + end + 1, &seg) < 0 || seg.kind != NODE_STATIC) {
            free(raw);
            return -EINVAL; /* ":id" and "*rest" are not literal prefixes */
        }
        copy[end] = '/';
        end += 1 + seg.len;
    }
    copy[end] = '\0';
    /* The prefix goes in a block of its own. */
    memmove(raw, copy, end + 1);
    *out = raw;
    *out_len = end;
    return 0;
}

int zzz_use(zzz_router *router, const char *prefix, zzz_layer layer, void *user)
{
    if (!router || !layer || !prefix) {
        return -EINVAL;
    }
    char *copy;
    size_t len;
    int err = zzz_http_prefix_decode(prefix, &copy, &len);
    if (err) {
        return err;
    }
    router_layer *layers = realloc(router->layers, (router->layer_count + 1) * sizeof *layers);
    if (!layers) {
        free(copy);
        return -ENOMEM;
    }
    router->layers = layers;
    /* After every layer of a prefix no longer than this one: outer scopes
     * first, and the order of adding within a scope. */
    unsigned at = router->layer_count;
    while (at > 0 && layers[at - 1].prefix_len > len) {
        at--;
    }
    memmove(&layers[at + 1], &layers[at], (router->layer_count - at) * sizeof *layers);
    layers[at] = (router_layer){layer, user, copy, len};
    router->layer_count++;
    return 0;
}

const router_layer *zzz_http_router_layers(const zzz_router *router, unsigned *count)
{
    *count = router->layer_count;
    return router->layers;
}

node_route *zzz_http_route_find(zzz_router *router, const char *method, const char *pattern,
                                int *err)
{
    *err = -EINVAL;
    if (pattern[0] != '/') {
        return NULL;
    }
    char *scratch = malloc(strlen(pattern) + 1);
    if (!scratch) {
        *err = -ENOMEM;
        return NULL;
    }
    router_node *node = router->root;
    size_t pos = 0;
    *err = -ENOENT;
    while (node && pattern[pos] == '/') {
        pos++;
        pattern_seg seg;
        if (pattern_segment(pattern, &pos, scratch, &seg) < 0) {
            *err = -EINVAL;
            node = NULL;
            break;
        }
        if (seg.kind == NODE_STATIC) {
            node = (router_node *)edge_find(node, seg.text, seg.len);
            continue;
        }
        node = seg.kind == NODE_PARAM ? node->param : node->wild;
        if (node && str_order(node->name.ptr, node->name.len, seg.text, seg.len) != 0) {
            node = NULL;
        }
    }
    free(scratch);
    if (!node || pattern[pos] != '\0') {
        return NULL;
    }
    int id = method_find(router, method, strlen(method));
    node_route *route = id < 0 ? NULL : (node_route *)node_route_find(node, id);
    if (route) {
        *err = 0;
    }
    return route;
}

int zzz_route_use(zzz_router *router, const char *method, const char *pattern, zzz_layer layer,
                  void *user)
{
    if (!router || !method || !pattern || !layer) {
        return -EINVAL;
    }
    int err;
    node_route *route = zzz_http_route_find(router, method, pattern, &err);
    if (!route) {
        return err;
    }
    router_layer *layers = realloc(route->layers, (route->layer_count + 1) * sizeof *layers);
    if (!layers) {
        return -ENOMEM;
    }
    layers[route->layer_count++] = (router_layer){layer, user, NULL, 0};
    route->layers = layers;
    return 0;
}
