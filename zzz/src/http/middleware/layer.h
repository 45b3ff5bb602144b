/* What the built-in layers (the files of middleware/) share: adding a layer whose
 * state the router owns, reading the fields an answer already has, and
 * checking and copying the strings of a config. Not installed. */
#ifndef ZZZ_HTTP_LAYER_H
#define ZZZ_HTTP_LAYER_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

/* Gives state to the router (freed with free_fn at its destroy) and sets
 * *layer to fn and *user to state, for zzz_use or zzz_route_use. When the
 * router cannot take it, frees state. Returns 0, or -ENOMEM. */
int zzz_http_layer_make(zzz_router *router, zzz_layer fn, void *state, void (*free_fn)(void *state),
                        zzz_layer *layer, void **user);

/* True when the answer's fields (zzz_res_header) have one called name
 * (any case). */
bool zzz_http_res_has_field(const zzz_res *res, const char *name);

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
