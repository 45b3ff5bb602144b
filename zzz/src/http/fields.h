/* The head parser's field rules (fields.c): what it learns from the field
 * lines as it reads them. Internal to the parser; the framework's
 * field-name helpers are declared in parse.h. */
#ifndef ZZZ_HTTP_FIELDS_H
#define ZZZ_HTTP_FIELDS_H

#include "parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the field lines said about framing and the connection so far. */
typedef struct head_facts {
    bool host_seen;
    bool length_seen;
    bool te_seen;
    bool te_chunked; /* chunked has been seen: any coding after it is an error */
    bool te_unknown; /* a coding we do not decode (501 once the head is whole) */
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
    uint64_t length;
} head_facts;

/* Acts on the fields that matter to framing and the connection. The name is
 * known to be a token; the value is trimmed; minor is the request's HTTP
 * minor version. Returns 0, or -400 for a value its field's rules refuse
 * or one that contradicts an earlier field line. */
int zzz_http_on_field(const unsigned char *name, size_t name_len, const unsigned char *val,
                      const unsigned char *val_end, int minor, head_facts *facts, http_head *out);

#endif
