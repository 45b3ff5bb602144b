/* What the built-in layers (the files of middleware/) share: adding a layer whose
 * state the router owns, reading the fields an answer already has, and
 * checking and copying the strings of a config. Not installed. */
#ifndef ZZZ_HTTP_LAYER_H
#define ZZZ_HTTP_LAYER_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Gives state to the router (freed with free_fn at its destroy) and sets
 * *layer to fn and *user to state, for zzz_use or zzz_route_use. When the
 * router cannot take it, frees state. Returns 0, or -ENOMEM. */
int zzz_http_layer_make(zzz_router *router, zzz_layer fn, void *state, void (*free_fn)(void *state),
                        zzz_layer *layer, void **user);

/* True when the answer's fields (zzz_res_header) have one called name
 * (any case). */
bool zzz_http_res_has_field(const zzz_res *res, const char *name);

/* A field a layer adds as it is, composed and checked once, when the
 * layer is made: "Name: value\r\n". */
typedef struct layer_line {
    char *text; /* NULL: none */
    size_t len;
    size_t name_len;
} layer_line;

/* Composes name and value into l (value NULL or "": l->text NULL, no
 * field). Returns 0; -EINVAL for a name that is not a token or a value
 * with a control byte but tab; -ENOMEM. */
int zzz_http_line_make(layer_line *l, const char *name, const char *value);
void zzz_http_line_free(layer_line *l);

/* Which of the lines' names the answer's fields have already: bit i for
 * lines[i] (count at most 32), in one pass over them. */
uint32_t zzz_http_res_fields_present(const zzz_res *res, const layer_line *lines, unsigned count);

/* Appends a prepared line to the answer's fields, past the checks of
 * zzz_res_header (made once, by zzz_http_line_make). False when the head
 * is sent or the fields have no room left (as zzz_res_header's
 * -ENOBUFS). */
bool zzz_http_res_add_line(zzz_res *res, const layer_line *l);

/* Appends "name: value" where both are known to be good: a name libzzz
 * checked, a value of the request's own fields (the parser let no CR, LF
 * or other control byte but tab in) or of a checked set. Returns as
 * zzz_http_res_add_line. */
bool zzz_http_res_add_field(zzz_res *res, zzz_str name, zzz_str value);

/* True for a non-empty token (RFC 9110 5.6.2) of at most max bytes. */
bool zzz_http_is_token(const char *s, size_t max);

/* True for a field value of at most max bytes without a control byte but
 * tab. */
bool zzz_http_is_field_value(const char *s, size_t max);

/* Copies a NULL-terminated list of strings into one block: the pointers,
 * then the strings. Sets *out (NULL for a NULL list) and *count. Returns
 * 0, or -ENOMEM. */
int zzz_http_strv_copy(const char *const *list, char ***out, size_t *count);

/* ", "-joined copy of a list, NUL-terminated; NULL on -ENOMEM. */
char *zzz_http_strv_join(char *const *list, size_t count);

#endif
