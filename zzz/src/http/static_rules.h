/* The rules of serving a file, as pure functions with no I/O: its type
 * from its name (mime.c), its validators and the client's conditions and
 * ranges (static_rules.c). The static file handler (static.c) applies
 * them; unit tests pin them. Not installed. */
#ifndef ZZZ_HTTP_STATIC_RULES_H
#define ZZZ_HTTP_STATIC_RULES_H

#include "zzz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- types (mime.c) ---- */

/* The Content-Type for a file name (len bytes; it may be a path, whose
 * last segment counts): by its extension, what follows the last '.' of
 * that segment unless the dot is its first byte (".bashrc" has none),
 * matched without regard to ASCII case, first in `extra` (may be NULL;
 * ended by an entry whose ext is NULL; its types are used as given), then
 * in the built-in table (mime_table.h, at most 16-byte extensions), whose
 * text types carry "; charset=utf-8". A name without a known extension
 * (none, empty, unknown, or with a NUL in it) gets
 * "application/octet-stream". Never NULL. */
const char *zzz_http_mime_type(const char *name, size_t len, const zzz_mime_type *extra);

/* Entries in the built-in table (for tests). */
size_t zzz_http_mime_count(void);

/* ---- validators ---- */

/* A strong entity tag for a file, quoted, from its inode, size and
 * modification time (ns), in lower-case hex: "\"INO-SIZE-SEC.NSEC\""
 * (a negative SEC as its 64-bit two's complement; an NSEC outside
 * 0..999999999 as 0). Written into buf (at least ZZZ_ETAG_MAX bytes),
 * NUL-terminated; at most 61 bytes before the NUL. Returns its length. */
#define ZZZ_ETAG_MAX 64
size_t zzz_http_etag(char *buf, uint64_t ino, uint64_t size, int64_t mtime_sec, long mtime_nsec);

/* An HTTP-date in IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"),
 * with English names whatever the locale: 29 bytes written into buf (at
 * least 30), NUL-terminated. A time before year 0000 or after 9999 is
 * clamped to the nearest of those. Returns 29. */
size_t zzz_http_date_format(char *buf, time_t when);

/* Parses an HTTP-date in any of the three forms a recipient must take
 * (RFC 9110 5.6.7: IMF-fixdate, the obsolete RFC 850 form and asctime),
 * strictly: exact widths and single spaces, names in the grammar's case,
 * "GMT", no surrounding whitespace, a day that exists in its month (leap
 * years counted), 00:00:00 to 23:59:60. The day name must be one of the
 * names but is not checked against the date. RFC 850's two-digit year is
 * read per RFC 9110 against the current year (the only outside state
 * read here): one more than 50 years ahead is taken a century back.
 * Returns true and sets *when; false for anything else. */
bool zzz_http_date_parse(const char *text, size_t len, time_t *when);

/* ---- conditions (RFC 9110 13) ---- */

/* If-None-Match: true when the field's list matches etag (weak
 * comparison: W/ prefixes ignored; opaque tags compared byte for byte)
 * or is "*" alone. Empty list elements and whitespace around commas are
 * allowed. A malformed list (any bad member, "*" with others), an empty
 * one, or an etag that is not itself a well-formed tag matches nothing. */
bool zzz_http_none_match(const char *field, size_t len, const char *etag);

/* If-Match: true when the field's list matches etag by strong comparison
 * (a weak tag on either side never does) or is "*". A malformed list
 * matches nothing (the request then fails its precondition). */
bool zzz_http_if_match(const char *field, size_t len, const char *etag);

/* If-Range: true when the range may be applied: the field is one entity
 * tag that strongly matches etag (a weak one on either side never does),
 * or an HTTP-date (zzz_http_date_parse) exactly equal to mtime. Anything
 * else, a list included, is false. */
bool zzz_http_if_range(const char *field, size_t len, const char *etag, time_t mtime);

/* ---- ranges (RFC 9110 14) ---- */

typedef enum zzz_range_kind {
    ZZZ_RANGE_NONE,          /* no usable Range: send the whole file (also
                                for a field that is not a valid bytes
                                range, or a unit other than bytes) */
    ZZZ_RANGE_ONE,           /* one satisfiable range: 206 */
    ZZZ_RANGE_MANY,          /* satisfiable ranges that stay apart after
                                merging: the whole file may be sent
                                instead (200) */
    ZZZ_RANGE_UNSATISFIABLE, /* valid, but no range overlaps the file: 416 */
} zzz_range_kind;

/* Reads a Range field ("bytes=0-499", "bytes=500-", "bytes=-500", lists
 * with optional whitespace around commas and empty elements) against a
 * file of `size` bytes. The unit is matched without regard to case; no
 * whitespace is allowed around "=" or inside a range. The whole field is
 * NONE when any element is malformed, when first > last, or when it
 * holds more than 16 ranges. Numbers may have any number of digits: a
 * last position or suffix length past the file's end means the rest of
 * it, a first position past it (2^64 and beyond too) is unsatisfiable. A range is satisfiable when
 * its first byte is before the end, or when it is a suffix of more than 0 bytes; satisfiable ranges
 * that overlap or touch are merged, so ONE may answer several. None satisfiable: UNSATISFIABLE,
 * except that for an empty file a nonzero suffix (satisfiable by RFC 9110 14.1.2, but an empty part
 * no Content-Range can state) gives NONE: the whole, empty file. For ZZZ_RANGE_ONE sets *first and
 * *count (> 0, clipped to the file's end); otherwise leaves them alone. */
zzz_range_kind zzz_http_range(const char *field, size_t len, uint64_t size, uint64_t *first,
                              uint64_t *count);

/* ---- content codings (RFC 9110 12.5.3) ---- */

/* Whether Accept-Encoding accepts `coding` ("br", "gzip"): listed with a
 * q-value above 0, or matched by "*" above 0 when not listed by name.
 * Names are matched without regard to case, x-gzip and x-compress as
 * gzip and compress (RFC 9110 8.4.1); when a name is listed twice, its
 * first well-formed listing counts. q-values follow the grammar exactly
 * (0, 0.x to three decimals, 1, 1.000; "q" in either case, whitespace
 * around ";" only); a malformed member is skipped. "identity" is
 * accepted unless listed with q=0, or excluded by "*;q=0" without a
 * listing of its own. A NULL or empty field accepts nothing but
 * identity. */
bool zzz_http_accepts(const char *field, size_t len, const char *coding);

#endif
