/* The head parser's request-target rules (target.c). Internal to the
 * parser; the framework's percent-decoding is declared in parse.h. */
#ifndef ZZZ_HTTP_TARGET_H
#define ZZZ_HTTP_TARGET_H

#include "parse.h"

#include <stdbool.h>

/* Splits the target [t, t_end) into out->path and out->query after its
 * form (RFC 9112 3.2). `question` is its first '?' or NULL; is_connect and
 * is_options say which method asked. *authority is the authority of an
 * absolute-form target, else {NULL, 0}. Returns 0, or -400 for a form the
 * method does not allow or a malformed one. */
int zzz_http_parse_target(const unsigned char *t, const unsigned char *t_end,
                          const unsigned char *question, bool is_connect, bool is_options,
                          zzz_str *authority, http_head *out);

#endif
