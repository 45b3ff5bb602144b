/* A response's header fields before its head is composed: adding them
 * (checked, copied into the write buffer's arena), reading and removing
 * them (for layers that act on what the handler set). */
#include "http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Room for a response's extra header lines, from the connection's arena:
 * a small room first (most answers need a few hundred bytes, and a small
 * room keeps the touched part of the write buffer small), then one of
 * the whole size, the lines moved into it. */
#define RES_HEADER_ROOM_FIRST 1024
#define RES_HEADER_ROOM 4096

/* Room for need more bytes of header lines, taken from the arena (the
 * small room, then the whole one): where they go, or NULL (-ENOBUFS)
 * when RES_HEADER_ROOM is full or the arena has no room left. */
static char *res_lines_room(zzz_res *res, size_t need)
{
    if (res->headers_len + need > res->headers_cap) {
        if (res->headers_len + need > RES_HEADER_ROOM)
            return NULL;
        size_t cap = res->headers_len + need <= RES_HEADER_ROOM_FIRST ? RES_HEADER_ROOM_FIRST
                                                                       : RES_HEADER_ROOM;
        void *room;
        /* The arena grows down from the end of the write buffer: taken
         * right after the small room, the rest of the whole one lies just
         * below it, and the two make one room (the lines move down into
         * it). Else a whole new room. */
        size_t more = cap - res->headers_cap;
        zzz_buf *out = zzz_conn_outbuf(res->conn);
        bool last_taken = res->headers && out->data &&
                          out->data + out->len + zzz_conn_out_room(res->conn) == res->headers;
        if (!(last_taken && zzz_conn_arena(res->conn, more, &room) == 0) &&
            zzz_conn_arena(res->conn, cap, &room) != 0)
            return NULL;
        if (res->headers_len)
            memmove(room, res->headers, res->headers_len);
        res->headers = room;
        res->headers_cap = cap;
    }
    char *p = res->headers + res->headers_len;
    res->headers_len += need;
    return p;
}

char *zzz_http_res_lines_room(zzz_res *res, size_t len)
{
    return res->head_sent ? NULL : res_lines_room(res, len);
}

int zzz_res_header_str(zzz_res *res, zzz_str name, zzz_str value)
{
    if (res->head_sent)
        return -EALREADY;
    if (name.len == 0 || !name.ptr || (!value.ptr && value.len > 0))
        return -EINVAL;
    for (size_t i = 0; i < name.len; i++)
        if (!zzz_http_is_tchar((unsigned char)name.ptr[i]))
            return -EINVAL;
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if (c == '\r' || c == '\n' || c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f)
            return -EINVAL;
    }
    size_t nlen = name.len, vlen = value.len;
    /* The names zzz manages, told apart by length first. */
    if ((nlen == 14 && zzz_http_name_eq(name, "content-length")) ||
        (nlen == 17 && zzz_http_name_eq(name, "transfer-encoding")) ||
        (nlen == 4 && zzz_http_name_eq(name, "date")))
        return -EINVAL;
    if (nlen == 7 && zzz_http_name_eq(name, "upgrade"))
        res->upgrade = true; /* a 101 of zzz_res_take_over needs one */
    if (nlen == 10 && zzz_http_name_eq(name, "connection")) {
        if (!zzz_http_name_eq(value, "close"))
            return -EINVAL;
        res->close = true;
        return 0;
    }
    char *p = res_lines_room(res, nlen + 2 + vlen + 2);
    if (!p)
        return -ENOBUFS;
    memcpy(p, name.ptr, nlen);
    memcpy(p + nlen, ": ", 2);
    if (vlen)
        memcpy(p + nlen + 2, value.ptr, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 2);
    return 0;
}

int zzz_res_header(zzz_res *res, const char *name, const char *value)
{
    if (!name || !value)
        return res->head_sent ? -EALREADY : -EINVAL;
    return zzz_res_header_str(res, (zzz_str){name, strlen(name)}, (zzz_str){value, strlen(value)});
}

/* Finds the line of the field called name at or after *pos in the
 * response's fields; sets *start and *end (past its CRLF). */
static bool field_find(const zzz_res *res, const char *name, size_t *pos, size_t *start,
                       size_t *end)
{
    size_t len = strlen(name);
    const char *h = res->headers;
    while (h && *pos < res->headers_len) {
        size_t at = *pos;
        const char *eol = memchr(h + at, '\n', res->headers_len - at);
        size_t next = eol ? (size_t)(eol - h) + 1 : res->headers_len;
        *pos = next;
        if (next - at > len && h[at + len] == ':' && strncasecmp(h + at, name, len) == 0) {
            *start = at;
            *end = next;
            return true;
        }
    }
    return false;
}

bool zzz_res_field(const zzz_res *res, const char *name, zzz_str *value)
{
    if (!name)
        return false;
    size_t pos = 0, start, end;
    if (!field_find(res, name, &pos, &start, &end))
        return false;
    if (value) {
        /* The lines are zzz's own: "Name: value\r\n", one space. */
        const char *v = res->headers + start + strlen(name) + 1;
        const char *stop = res->headers + end;
        while (v < stop && (*v == ' ' || *v == '\t'))
            v++;
        while (stop > v && (stop[-1] == '\n' || stop[-1] == '\r'))
            stop--;
        *value = (zzz_str){v, (size_t)(stop - v)};
    }
    return true;
}

bool zzz_http_res_field_has(const zzz_res *res, const char *name, const char *text)
{
    size_t text_len = strlen(text);
    size_t pos = 0, start, end;
    while (field_find(res, name, &pos, &start, &end)) {
        for (size_t i = start; i + text_len <= end; i++)
            if (strncasecmp(res->headers + i, text, text_len) == 0)
                return true;
    }
    return false;
}

int zzz_res_header_remove(zzz_res *res, const char *name)
{
    if (res->head_sent)
        return -EALREADY;
    if (!name)
        return 0;
    int removed = 0;
    size_t pos = 0, start, end;
    while (field_find(res, name, &pos, &start, &end)) {
        memmove(res->headers + start, res->headers + end, res->headers_len - end);
        res->headers_len -= end - start;
        pos = start;
        removed++;
    }
    return removed;
}
