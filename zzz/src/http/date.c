/* The Date header line, formatted once a second per thread (RFC 9110
 * IMF-fixdate), with fixed English names whatever the C locale says. */
#include "http.h"

#include <stdio.h>
#include <time.h>

const char *zzz_http_date_line(http_thread *t, size_t *len)
{
    uint64_t now = tardy_now();
    if (t->date_len == 0 || now - t->date_refreshed >= 1000000000u) {
        static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        time_t wall = time(NULL);
        struct tm tm;
        gmtime_r(&wall, &tm);
        int n = snprintf(t->date_line, sizeof t->date_line,
                         "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday % 7],
                         tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                         tm.tm_min, tm.tm_sec);
        t->date_len = n > 0 ? (size_t)n : 0;
        t->date_refreshed = now;
    }
    *len = t->date_len;
    return t->date_line;
}
