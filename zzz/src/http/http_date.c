/* HTTP-dates (RFC 9110 5.6.7) as pure functions: IMF-fixdate written with
 * English names whatever the C locale says, and the three forms a
 * recipient must take read strictly. Each reads a field's bytes by length
 * and never past them. Declared in static_rules.h. */
#include "static_rules.h"

#include <string.h>

typedef const unsigned char *cursor;

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_names_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years four digits
 * can write. */
#define DATE_MIN INT64_C(-62167219200)
#define DATE_MAX INT64_C(253402300799)

static char *put_2digits(char *out, int v)
{
    out[0] = (char)('0' + v / 10 % 10);
    out[1] = (char)('0' + v % 10);
    return out + 2;
}

size_t zzz_http_date_format(char *buf, time_t when)
{
    /* Clamped so that the year has four digits and the form its 29 bytes. */
    int64_t at = (int64_t)when;
    if (at < DATE_MIN)
        at = DATE_MIN;
    if (at > DATE_MAX)
        at = DATE_MAX;
    time_t clamped = (time_t)at;
    struct tm tm;
    if (gmtime_r(&clamped, &tm) == NULL) {
        clamped = 0;
        gmtime_r(&clamped, &tm);
    }
    int year = tm.tm_year + 1900;
    char *p = buf;
    memcpy(p, day_names[tm.tm_wday % 7], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_2digits(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, month_names[tm.tm_mon % 12], 3);
    p += 3;
    *p++ = ' ';
    p = put_2digits(p, year / 100);
    p = put_2digits(p, year % 100);
    *p++ = ' ';
    p = put_2digits(p, tm.tm_hour);
    *p++ = ':';
    p = put_2digits(p, tm.tm_min);
    *p++ = ':';
    p = put_2digits(p, tm.tm_sec);
    memcpy(p, " GMT", 4);
    p += 4;
    *p = '\0';
    return (size_t)(p - buf);
}

/* n decimal digits exactly at p; -1 if any is not a digit. */
static int digits_at(cursor p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* The index of a three-letter name (case-sensitive, as RFC 9110's %s
 * strings are) in names, or -1. */
static int short_name(cursor p, const char (*names)[4], int count)
{
    for (int i = 0; i < count; i++)
        if (memcmp(p, names[i], 3) == 0)
            return i;
    return -1;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* "HH:MM:SS" at p into tm, within 00:00:00 - 23:59:60 (the grammar's
 * range admits a leap second; timegm carries it into the next minute). */
static bool time_of_day(cursor p, struct tm *tm)
{
    if (p[2] != ':' || p[5] != ':')
        return false;
    tm->tm_hour = digits_at(p, 2);
    tm->tm_min = digits_at(p + 3, 2);
    tm->tm_sec = digits_at(p + 6, 2);
    return tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
           tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* RFC 9110 5.6.7: a two-digit year more than 50 years in the future is
 * the most recent past year with those digits. Judged by the year on the
 * clock now (the one reading of outside state in this file). */
static int full_year(int two_digits)
{
    time_t now = time(NULL);
    struct tm tm;
    int this_year = gmtime_r(&now, &tm) != NULL ? tm.tm_year + 1900 : 1970;
    int year = this_year - this_year % 100 + two_digits;
    if (year > this_year + 50)
        year -= 100;
    else if (year <= this_year - 50)
        year += 100;
    return year;
}

static bool convert(struct tm *tm, time_t *when)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm->tm_mon < 0 || tm->tm_mday < 1 || tm->tm_year + 1900 < 0)
        return false;
    int days = month_days[tm->tm_mon] + (tm->tm_mon == 1 && is_leap(tm->tm_year + 1900));
    if (tm->tm_mday > days)
        return false;
    tm->tm_isdst = 0;
    tm->tm_wday = tm->tm_yday = 0;
    struct tm copy = *tm;
    time_t t = timegm(&copy);
    /* -1 is also 1969-12-31T23:59:59Z: an error only for another date; past
     * DATE_MAX (9999-12-31 23:59:60) is a year we cannot write */
    if ((int64_t)t > DATE_MAX ||
        (t == (time_t)-1 && !(tm->tm_year == 69 && tm->tm_mon == 11 && tm->tm_mday == 31 &&
                              tm->tm_hour == 23 && tm->tm_min == 59 && tm->tm_sec == 59)))
        return false;
    *when = t;
    return true;
}

bool zzz_http_date_parse(const char *text, size_t len, time_t *when)
{
    if (text == NULL)
        return false;
    cursor p = (cursor)text;
    struct tm tm = {0};
    if (len == 29 && p[3] == ',') {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (short_name(p, day_names, 7) < 0 || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
            p[16] != ' ' || memcmp(p + 25, " GMT", 4) != 0)
            return false;
        tm.tm_mday = digits_at(p + 5, 2);
        tm.tm_mon = short_name(p + 8, month_names, 12);
        int year = digits_at(p + 12, 4);
        if (year < 0 || !time_of_day(p + 17, &tm))
            return false;
        tm.tm_year = year - 1900;
        return convert(&tm, when);
    }
    if (len == 24 && p[3] == ' ') {
        /* asctime: "Sun Nov  6 08:49:37 1994" (the day may be " 6" or "06") */
        if (short_name(p, day_names, 7) < 0 || p[7] != ' ' || p[10] != ' ' || p[19] != ' ')
            return false;
        tm.tm_mon = short_name(p + 4, month_names, 12);
        tm.tm_mday = p[8] == ' ' ? digits_at(p + 9, 1) : digits_at(p + 8, 2);
        int year = digits_at(p + 20, 4);
        if (year < 0 || !time_of_day(p + 11, &tm))
            return false;
        tm.tm_year = year - 1900;
        return convert(&tm, when);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    for (int d = 0; d < 7; d++) {
        size_t name_len = strlen(day_names_long[d]);
        if (len != name_len + 24 || memcmp(p, day_names_long[d], name_len) != 0)
            continue;
        cursor q = p + name_len;
        if (q[0] != ',' || q[1] != ' ' || q[4] != '-' || q[8] != '-' || q[11] != ' ' ||
            memcmp(q + 20, " GMT", 4) != 0)
            return false;
        tm.tm_mday = digits_at(q + 2, 2);
        tm.tm_mon = short_name(q + 5, month_names, 12);
        int year = digits_at(q + 9, 2);
        if (year < 0 || !time_of_day(q + 12, &tm))
            return false;
        tm.tm_year = full_year(year) - 1900;
        return convert(&tm, when);
    }
    return false;
}
