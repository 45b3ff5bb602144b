/* Helpers of the built-in layers: state the router owns, the fields an
 * answer already has, and the checks and copies of their configs. */
#include "layer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int zzz_http_layer_make(zzz_router *router, zzz_layer fn, void *state, void (*free_fn)(void *state),
                        zzz_layer *layer, void **user)
{
    /* Owned first: a layer once added cannot be taken back, so its state
     * must already be the router's. */
    if (zzz_http_router_own(router, state, free_fn) != 0) {
        free_fn(state);
        return -ENOMEM;
    }
    *layer = fn;
    *user = state;
    return 0;
}

bool zzz_http_res_has_field(const zzz_res *res, const char *name)
{
    size_t len = strlen(name);
    const char *p = res->headers, *end = res->headers + res->headers_len;
    /* The lines are "Name: value\r\n", each name checked when added. */
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > len && p[len] == ':' && zzz_http_name_eq((zzz_str){p, len}, name))
            return true;
        p = eol + 1;
    }
    return false;
}

bool zzz_http_is_token(const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!zzz_http_is_tchar((unsigned char)s[i]))
            return false;
    return true;
}

bool zzz_http_is_field_value(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

int zzz_http_strv_copy(const char *const *list, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!list)
        return 0;
    size_t n = 0, bytes = 0;
    while (list[n])
        bytes += strlen(list[n++]) + 1;
    char **copy = malloc((n + 1) * sizeof *copy + bytes);
    if (!copy)
        return -ENOMEM;
    char *text = (char *)(copy + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]) + 1;
        copy[i] = memcpy(text, list[i], len);
        text += len;
    }
    copy[n] = NULL;
    *out = copy;
    *count = n;
    return 0;
}

char *zzz_http_strv_join(char *const *list, size_t count)
{
    size_t bytes = 1;
    for (size_t i = 0; i < count; i++)
        bytes += strlen(list[i]) + 2;
    char *joined = malloc(bytes), *p = joined;
    if (!joined)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        if (i) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        size_t len = strlen(list[i]);
        memcpy(p, list[i], len);
        p += len;
    }
    *p = '\0';
    return joined;
}
