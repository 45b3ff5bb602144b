/* The Date header line, formatted once a second per thread (RFC 9110
 * IMF-fixdate, through zzz_http_date_format). */
#include "http.h"
#include "static_rules.h"

#include <string.h>
#include <time.h>

const char *zzz_http_date_line(http_thread *t, size_t *len)
{
    uint64_t now = tardy_now();
    if (t->date_len == 0 || now - t->date_refreshed >= 1000000000u) {
        _Static_assert(sizeof t->date_line >= 6 + 30 + 2, "Date: , 29 bytes, CRLF");
        memcpy(t->date_line, "Date: ", 6);
        size_t n = 6 + zzz_http_date_format(t->date_line + 6, time(NULL));
        memcpy(t->date_line + n, "\r\n", 3); /* and a NUL */
        t->date_len = n + 2;
        t->date_refreshed = now;
    }
    *len = t->date_len;
    return t->date_line;
}
