/* What the two halves of cookies share: the Set-Cookie composer of
 * cookie.c, which the signed cookies of cookie_sign.c call with their
 * signature. Not installed. */
#ifndef ZZZ_HTTP_COOKIE_H
#define ZZZ_HTTP_COOKIE_H

#include "zzz.h"

#include <stdbool.h>

/* Browsers drop a cookie whose name and value pass this (RFC 6265bis
 * 5.6), and an attribute whose value passes the other. */
#define ZZZ_COOKIE_NAME_VALUE_MAX 4096
#define ZZZ_COOKIE_ATTR_MAX 1024

/* Adds "Set-Cookie: name=value<suffix>; attributes" to res, after
 * checking name, value and opts as zzz_res_cookie promises (the suffix,
 * a signature, is the caller's and counts in the 4096). clear: the value
 * is empty and the cookie expires now, whatever opts say of its age.
 * Returns as zzz_res_cookie. */
int zzz_http_cookie_put(zzz_res *res, zzz_str name, zzz_str value, zzz_str suffix,
                        const zzz_cookie_opts *opts, bool clear);

/* True for a byte a cookie value may hold unquoted (RFC 6265 4.1.1
 * cookie-octet). */
bool zzz_http_cookie_octet(unsigned char c);

#endif
