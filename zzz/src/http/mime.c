/* A file's Content-Type from its name: the caller's types first, then the
 * built-in table of mime_table.h, by the extension after the last dot. */
#include "static_rules.h"

#include "mime_table.h"

#include <string.h>

static const char default_type[] = "application/octet-stream";

/* The extension of a name that may be a path ("css/site.min.css"): what
 * follows the last '.' of its last segment. A dot that starts the segment
 * (".bashrc", "dir/.env") makes no extension; a trailing dot ("notes.")
 * makes an empty one, which matches nothing. */
static bool name_extension(const char *name, size_t len, const char **ext, size_t *ext_len)
{
    size_t segment = len;
    while (segment > 0 && name[segment - 1] != '/')
        segment--;
    size_t after_dot = len;
    while (after_dot > segment && name[after_dot - 1] != '.')
        after_dot--;
    if (after_dot <= segment + 1) /* no dot, or only a leading one */
        return false;
    *ext = name + after_dot;
    *ext_len = len - after_dot;
    return true;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* Whether ext (ext_len bytes) is `key` without regard to ASCII case. */
static bool ext_is(const char *ext, size_t ext_len, const char *key)
{
    size_t i = 0;
    for (; i < ext_len; i++) {
        unsigned char k = (unsigned char)key[i];
        if (k == '\0' || ascii_lower((unsigned char)ext[i]) != ascii_lower(k))
            return false;
    }
    return key[i] == '\0';
}

/* Binary search of the built-in table (sorted, lower case) for ext. */
static const char *builtin_type(const char *ext, size_t ext_len)
{
    if (ext_len == 0 || ext_len > MIME_EXT_MAX)
        return NULL;
    char key[MIME_EXT_MAX + 1];
    for (size_t i = 0; i < ext_len; i++) {
        if (ext[i] == '\0') /* would cut the key short */
            return NULL;
        key[i] = (char)ascii_lower((unsigned char)ext[i]);
    }
    key[ext_len] = '\0';
    size_t lo = 0, hi = MIME_TABLE_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int order = strcmp(key, mime_table[mid].ext);
        if (order == 0)
            return mime_table[mid].type;
        if (order < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *zzz_http_mime_type(const char *name, size_t len, const zzz_mime_type *extra)
{
    const char *ext;
    size_t ext_len;
    if (name == NULL || !name_extension(name, len, &ext, &ext_len) || ext_len == 0)
        return default_type;
    for (const zzz_mime_type *m = extra; m != NULL && m->ext != NULL; m++)
        if (m->type != NULL && ext_is(ext, ext_len, m->ext))
            return m->type;
    const char *type = builtin_type(ext, ext_len);
    return type != NULL ? type : default_type;
}

size_t zzz_http_mime_count(void)
{
    return MIME_TABLE_COUNT;
}
