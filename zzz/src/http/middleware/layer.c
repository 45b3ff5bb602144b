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

int zzz_http_line_make(layer_line *l, const char *name, const char *value)
{
    *l = (layer_line){0};
    if (!zzz_http_is_token(name, SIZE_MAX))
        return -EINVAL;
    if (!value || !*value)
        return 0;
    if (!zzz_http_is_field_value(value, SIZE_MAX))
        return -EINVAL;
    size_t nlen = strlen(name), vlen = strlen(value);
    l->text = malloc(nlen + vlen + 5);
    if (!l->text)
        return -ENOMEM;
    memcpy(l->text, name, nlen);
    memcpy(l->text + nlen, ": ", 2);
    memcpy(l->text + nlen + 2, value, vlen);
    memcpy(l->text + nlen + 2 + vlen, "\r\n", 3);
    l->len = nlen + vlen + 4;
    l->name_len = nlen;
    return 0;
}

void zzz_http_line_free(layer_line *l)
{
    free(l->text);
    *l = (layer_line){0};
}

/* Two field names of len bytes, ASCII letters compared without case. */
static bool layer_same_name(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x |= 0x20;
        if (y >= 'A' && y <= 'Z')
            y |= 0x20;
        if (x != y)
            return false;
    }
    return true;
}

uint32_t zzz_http_res_fields_present(const zzz_res *res, const layer_line *lines, unsigned count)
{
    uint32_t present = 0;
    const char *p = res->headers, *end = res->headers + res->headers_len;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        size_t len = colon ? (size_t)(colon - p) : 0;
        for (unsigned i = 0; i < count && len; i++) {
            const layer_line *l = &lines[i];
            if (l->text && l->name_len == len && layer_same_name(p, l->text, len))
                present |= (uint32_t)1 << i;
        }
        p = eol + 1;
    }
    return present;
}

bool zzz_http_res_add_line(zzz_res *res, const layer_line *l)
{
    char *room = l->text ? zzz_http_res_lines_room(res, l->len) : NULL;
    if (room)
        memcpy(room, l->text, l->len);
    return room != NULL;
}

bool zzz_http_res_add_field(zzz_res *res, zzz_str name, zzz_str value)
{
    char *room = zzz_http_res_lines_room(res, name.len + value.len + 4);
    if (!room)
        return false;
    memcpy(room, name.ptr, name.len);
    memcpy(room + name.len, ": ", 2);
    if (value.len)
        memcpy(room + name.len + 2, value.ptr, value.len);
    memcpy(room + name.len + 2 + value.len, "\r\n", 2);
    return true;
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
