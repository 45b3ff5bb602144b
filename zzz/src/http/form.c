/* Query strings and application/x-www-form-urlencoded bodies: one form
 * type over either, its escapes checked once and its decoded copies made
 * once, so that reading its fields cannot fail. */
#include "chars.h"
#include "http.h"

#include <errno.h>
#include <string.h>

/* One field's raw name and value, as they lie in the text. */
typedef struct form_raw {
    zzz_str name;
    zzz_str value;
} form_raw;

/* The next non-empty field of text at *pos (moved past it). */
static bool form_raw_next(const char *text, size_t len, size_t *pos, form_raw *out)
{
    while (*pos < len) {
        const char *p = text + *pos;
        size_t left = len - *pos;
        const char *amp = memchr(p, '&', left);
        size_t field = amp ? (size_t)(amp - p) : left;
        *pos += field + (amp ? 1 : 0);
        if (field == 0)
            continue; /* "&&", a leading or trailing '&' */
        const char *eq = memchr(p, '=', field);
        if (eq) {
            out->name = (zzz_str){p, (size_t)(eq - p)};
            out->value = (zzz_str){eq + 1, field - out->name.len - 1};
        } else {
            out->name = (zzz_str){p, field};
            out->value = (zzz_str){p + field, 0};
        }
        return true;
    }
    return false;
}

static bool needs_copy(zzz_str s)
{
    return memchr(s.ptr, '%', s.len) || memchr(s.ptr, '+', s.len);
}

/* The decoded length of s, or -1 for a bad escape or a NUL: the same
 * verdict as zzz_http_percent_decode, without writing anything. */
static ssize_t decoded_len(zzz_str s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++, n++) {
        if (p[i] == '\0')
            return -1;
        if (p[i] != '%')
            continue;
        if (s.len - i < 3 || !(cls[p[i + 1]] & C_HEX) || !(cls[p[i + 2]] & C_HEX))
            return -1;
        if (p[i + 1] == '0' && p[i + 2] == '0')
            return -1;
        i += 2;
    }
    return (ssize_t)n;
}

/* Checks every field of text; sets how many there are and how many bytes
 * their decoded copies need. -EBADMSG for a bad escape or a NUL. */
static int form_measure(const char *text, size_t len, size_t *count, size_t *copies)
{
    size_t pos = 0, need = 0, fields = 0;
    form_raw f;
    while (form_raw_next(text, len, &pos, &f)) {
        ssize_t n = decoded_len(f.name), v = decoded_len(f.value);
        if (n < 0 || v < 0)
            return -EBADMSG;
        if (needs_copy(f.name))
            need += (size_t)n;
        if (needs_copy(f.value))
            need += (size_t)v;
        fields++;
    }
    *count = fields;
    *copies = need;
    return 0;
}

/* One string of a field: the raw one, or its copy at *at in decoded
 * (moved past it). `write` decodes it there first. */
static zzz_str form_take(zzz_str raw, char *decoded, size_t *at, bool write)
{
    if (!needs_copy(raw))
        return raw;
    char *dst = decoded + *at;
    size_t n;
    if (write) {
        n = (size_t)zzz_http_percent_decode(raw, dst, true);
    } else {
        /* Checked already: each escape is 3 bytes that became one. */
        n = raw.len;
        for (const char *p = memchr(raw.ptr, '%', raw.len); p;
             p = memchr(p + 3, '%', raw.len - (size_t)(p + 3 - raw.ptr)))
            n -= 2;
    }
    *at += n;
    return (zzz_str){dst, n};
}

/* Sets up f over text with room for its copies at decoded (which may be
 * NULL when none is needed), and writes them. text has been measured. */
static void form_setup(zzz_form *f, const char *text, size_t len, size_t count, char *decoded)
{
    *f = (zzz_form){.text = text, .len = len, .decoded = decoded, .count = count};
    size_t pos = 0, at = 0;
    form_raw r;
    while (form_raw_next(text, len, &pos, &r)) {
        form_take(r.name, decoded, &at, true);
        form_take(r.value, decoded, &at, true);
    }
}

int zzz_form_parse(zzz_req *req, zzz_str text, zzz_form *out)
{
    if (!req || !out || (!text.ptr && text.len))
        return -EINVAL;
    if (!text.ptr)
        text.ptr = "";
    size_t count, copies;
    int err = form_measure(text.ptr, text.len, &count, &copies);
    if (err)
        return err;
    char *decoded = NULL;
    if (copies > 0 && !(decoded = zzz_alloc(req, copies)))
        return -ENOMEM;
    form_setup(out, text.ptr, text.len, count, decoded);
    return 0;
}

/* A refusal of the client's input also sets the answer a handler that
 * returns without one gets. */
static int form_refuse(zzz_req *req, int err, int status_nomem)
{
    if (err == -EBADMSG)
        zzz_http_req_reject(req, 400);
    else if (err == -ENOMEM)
        zzz_http_req_reject(req, status_nomem);
    else if (err == -ENOTSUP)
        zzz_http_req_reject(req, 415);
    return err;
}

int zzz_req_query_form(zzz_req *req, zzz_form *out)
{
    if (!req || !out)
        return -EINVAL;
    int err = zzz_form_parse(req, zzz_req_query(req), out);
    return err ? form_refuse(req, err, 414) : 0;
}

/* True when the media type of a Content-Type value is `type` (any case),
 * followed by nothing, or by parameters. */
static bool media_type_is(zzz_str value, const char *type)
{
    size_t n = strlen(type), i = 0;
    while (i < value.len && (value.ptr[i] == ' ' || value.ptr[i] == '\t'))
        i++;
    if (value.len - i < n || !zzz_str_eq_nocase((zzz_str){value.ptr + i, n}, type))
        return false;
    for (i += n; i < value.len; i++) {
        if (value.ptr[i] == ';')
            return true;
        if (value.ptr[i] != ' ' && value.ptr[i] != '\t')
            return false;
    }
    return true;
}

int zzz_req_body_form(zzz_req *req, zzz_form *out)
{
    if (!req || !out)
        return -EINVAL;
    zzz_str type;
    if (!zzz_req_header(req, "Content-Type", &type)) {
        if (zzz_req_content_length(req) == 0) {
            form_setup(out, "", 0, 0, NULL);
            return 0;
        }
        return form_refuse(req, -ENOTSUP, 413);
    }
    if (!media_type_is(type, "application/x-www-form-urlencoded"))
        return form_refuse(req, -ENOTSUP, 413);
    zzz_str body;
    int err = zzz_req_body(req, &body);
    if (err)
        return err; /* the body failed: answered as zzz_req_body says */
    err = zzz_form_parse(req, body, out);
    return err ? form_refuse(req, err, 413) : 0;
}

bool zzz_form_next(zzz_form *form, zzz_str *name, zzz_str *value)
{
    form_raw r;
    if (!form_raw_next(form->text, form->len, &form->pos, &r))
        return false;
    zzz_str n = form_take(r.name, form->decoded, &form->decoded_pos, false);
    zzz_str v = form_take(r.value, form->decoded, &form->decoded_pos, false);
    if (name)
        *name = n;
    if (value)
        *value = v;
    return true;
}

bool zzz_form_get(const zzz_form *form, const char *name, zzz_str *value)
{
    zzz_form from_start = *form;
    from_start.pos = from_start.decoded_pos = 0;
    size_t len = strlen(name);
    zzz_str n, v;
    while (zzz_form_next(&from_start, &n, &v)) {
        if (n.len == len && memcmp(n.ptr, name, len) == 0) {
            if (value)
                *value = v;
            return true;
        }
    }
    return false;
}

size_t zzz_form_count(const zzz_form *form)
{
    return form->count;
}
