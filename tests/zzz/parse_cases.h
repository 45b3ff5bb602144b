/* The request heads the parser is tested against: each with the outcome
 * RFC 9112 (and the rules in the header comments of parse.c, fields.c and
 * target.c) call for. */
#ifndef PARSE_CASES_H
#define PARSE_CASES_H

#include "parse.h"

enum { KA_DEFAULT = 0, KA_YES, KA_NO };

typedef struct parse_case {
    const char *name;
    const char *req;
    size_t req_len;
    int status;      /* the negative status expected; 0: a valid head */
    bool incomplete; /* valid so far but not whole: expect 0 */
    /* For valid heads (NULL strings: not checked, but query NULL means "") */
    const char *method;
    const char *target;
    const char *path;
    const char *query;
    const char *host;
    bool v10;              /* HTTP/1.0 (else version_minor 1) */
    unsigned nh;           /* header_count */
    const char *hn1, *hv1; /* a header and its (first) value */
    const char *hn2, *hv2;
    http_body_kind body;
    uint64_t clen;
    int ka; /* KA_DEFAULT: yes for 1.1, no for 1.0 */
    bool expect;
    size_t head_len; /* 0: the whole input */
    http_limits lim; /* all zero: 8192 / 16384 / 64 */
    /* For errors: the length of the shortest prefix that already fails,
     * every shorter one needing more (0: not checked). A bad byte must be
     * refused when it arrives, not after a wait for bytes that would never
     * make it right. */
    size_t fail_at;
} parse_case;

#define R(s) .req = s, .req_len = sizeof(s) - 1
#define LIM(t, h, n) .lim = {.max_target = (t), .max_head_bytes = (h), .max_headers = (n)}
#define BAD(nm, s, st)                                                                             \
    {                                                                                              \
        .name = nm, R(s), .status = (st)                                                           \
    }
#define BADL(nm, s, st, t, h, n)                                                                   \
    {                                                                                              \
        .name = nm, R(s), .status = (st), LIM(t, h, n)                                             \
    }
#define MORE(nm, s)                                                                                \
    {                                                                                              \
        .name = nm, R(s), .incomplete = true                                                       \
    }
/* Refused with st as soon as the last byte of `shown` is in; `rest` is
 * what a client would send after it. */
#define BAD_AT(nm, shown, rest, st)                                                                \
    {                                                                                              \
        .name = nm, R(shown rest), .status = (st), .fail_at = sizeof(shown) - 1                    \
    }
#define OK(nm, s, ...)                                                                             \
    {                                                                                              \
        .name = nm, R(s), __VA_ARGS__                                                              \
    }

#define H11 " HTTP/1.1\r\nHost: h\r\n"

/* 26 fields of 20 bytes or so, for the counts and limits. */
#define MANY_FIELDS                                                                                \
    "A0: aaaaaaaaaaaaaa\r\nA1: aaaaaaaaaaaaaa\r\nA2: aaaaaaaaaaaaaa\r\nA3: aaaaaaaaaaaaaa\r\n"     \
    "A4: aaaaaaaaaaaaaa\r\nA5: aaaaaaaaaaaaaa\r\nA6: aaaaaaaaaaaaaa\r\nA7: aaaaaaaaaaaaaa\r\n"     \
    "A8: aaaaaaaaaaaaaa\r\nA9: aaaaaaaaaaaaaa\r\nB0: aaaaaaaaaaaaaa\r\nB1: aaaaaaaaaaaaaa\r\n"     \
    "B2: aaaaaaaaaaaaaa\r\nB3: aaaaaaaaaaaaaa\r\nB4: aaaaaaaaaaaaaa\r\nB5: aaaaaaaaaaaaaa\r\n"     \
    "B6: aaaaaaaaaaaaaa\r\nB7: aaaaaaaaaaaaaa\r\nB8: aaaaaaaaaaaaaa\r\nB9: aaaaaaaaaaaaaa\r\n"     \
    "C0: aaaaaaaaaaaaaa\r\nC1: aaaaaaaaaaaaaa\r\nC2: aaaaaaaaaaaaaa\r\nC3: aaaaaaaaaaaaaa\r\n"     \
    "C4: aaaaaaaaaaaaaa\r\nC5: aaaaaaaaaaaaaa\r\n"

static const parse_case parse_cases[] = {
    /* ---- valid: request-line and target forms ---- */
    OK("simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", .method = "GET", .target = "/",
       .path = "/", .host = "example.com", .nh = 1, .hn1 = "host", .hv1 = "example.com"),
    OK("query", "GET /a/b?x=1&y=2" H11 "\r\n", .method = "GET", .target = "/a/b?x=1&y=2",
       .path = "/a/b", .query = "x=1&y=2", .host = "h", .nh = 1),
    OK("empty query", "GET /a?" H11 "\r\n", .method = "GET", .path = "/a", .query = "", .nh = 1),
    OK("second question mark is query", "GET /a?b?c" H11 "\r\n", .method = "GET", .path = "/a",
       .query = "b?c", .nh = 1),
    OK("query only slash", "GET /?" H11 "\r\n", .method = "GET", .path = "/", .query = "", .nh = 1),
    OK("percent-encoded path kept raw", "GET /a%20b/c;p=1,2" H11 "\r\n", .method = "GET",
       .path = "/a%20b/c;p=1,2", .nh = 1),
    OK("double slash origin-form", "GET //x/y" H11 "\r\n", .method = "GET", .path = "//x/y",
       .nh = 1),
    OK("visible punctuation in target", "GET /a<b>\"c\"{d}|e^`f\\g[h]" H11 "\r\n", .method = "GET",
       .path = "/a<b>\"c\"{d}|e^`f\\g[h]", .nh = 1),
    OK("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", .method = "GET", .path = "/", .host = "",
       .v10 = true, .nh = 0),
    OK("HTTP/1.0 with Host", "GET /x HTTP/1.0\r\nHost: h\r\n\r\n", .method = "GET", .path = "/x",
       .host = "h", .v10 = true, .nh = 1),
    OK("HTTP/1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", .method = "GET", .path = "/",
       .nh = 1),
    OK("HTTP/1.9 served as 1.1", "GET / HTTP/1.9\r\nHost: h\r\n\r\n", .method = "GET", .path = "/",
       .nh = 1),
    OK("absolute-form", "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
       .method = "GET", .target = "http://example.com/a?b", .path = "/a", .query = "b",
       .host = "example.com", .nh = 1),
    OK("absolute-form without path", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
       .method = "GET", .path = "/", .query = "", .host = "example.com", .nh = 1),
    OK("absolute-form without path, with query", "GET http://example.com?x=1" H11 "\r\n",
       .method = "GET", .path = "/", .query = "x=1", .host = "example.com", .nh = 1),
    OK("absolute-form https, port, any case",
       "GET HTTPS://Example.COM:8443/p/q HTTP/1.1\r\nHost: x\r\n\r\n", .method = "GET",
       .path = "/p/q", .host = "Example.COM:8443", .nh = 1),
    OK("absolute-form authority replaces Host", "GET http://right/ HTTP/1.1\r\nHost: wrong\r\n\r\n",
       .method = "GET", .path = "/", .host = "right", .nh = 1, .hn1 = "Host", .hv1 = "wrong"),
    OK("absolute-form in 1.0 without Host", "GET http://a.b:80/c HTTP/1.0\r\n\r\n", .method = "GET",
       .path = "/c", .host = "a.b:80", .v10 = true, .nh = 0),
    OK("absolute-form empty query", "GET http://a/? HTTP/1.1\r\nHost: a\r\n\r\n", .method = "GET",
       .path = "/", .query = "", .host = "a", .nh = 1),
    OK("absolute-form IPv6 literal", "GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
       .method = "GET", .path = "/x", .host = "[::1]:8080", .nh = 1),
    OK("asterisk-form for OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", .method = "OPTIONS",
       .target = "*", .path = "*", .nh = 1),
    OK("authority-form for CONNECT",
       "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", .method = "CONNECT",
       .target = "example.com:443", .path = "", .query = "", .host = "example.com:443", .nh = 1),
    OK("CONNECT to an IPv6 literal",
       "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", .method = "CONNECT",
       .path = "", .nh = 1),
    OK("CONNECT IPv4", "CONNECT 10.0.0.1:8080 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n",
       .method = "CONNECT", .path = "", .nh = 1),
    OK("lowercase method is a token", "get /" H11 "\r\n", .method = "get", .path = "/", .nh = 1),
    OK("POST", "POST /form" H11 "Content-Length: 3\r\n\r\nabc", .method = "POST", .path = "/form",
       .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 3,
       .head_len = sizeof("POST /form" H11 "Content-Length: 3\r\n\r\n") - 1),
    OK("HEAD", "HEAD /x" H11 "\r\n", .method = "HEAD", .path = "/x", .nh = 1),
    OK("DELETE", "DELETE /x/1" H11 "\r\n", .method = "DELETE", .path = "/x/1", .nh = 1),
    OK("PATCH", "PATCH /x" H11 "\r\n", .method = "PATCH", .path = "/x", .nh = 1),
    OK("extension method", "M-SEARCH /" H11 "\r\n", .method = "M-SEARCH", .path = "/", .nh = 1),
    OK("every tchar in a method", "!#$%&'*+-.^_`|~0aZ /" H11 "\r\n", .method = "!#$%&'*+-.^_`|~0aZ",
       .path = "/", .nh = 1),
    OK("long path",
       "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b" H11 "\r\n",
       .method = "GET",
       .path = "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b",
       .nh = 1),

    /* ---- valid: empty lines and line ends ---- */
    OK("leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", .method = "GET", .path = "/",
       .nh = 1),
    OK("several leading CRLFs", "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", .method = "GET",
       .path = "/", .nh = 1),
    OK("pipelined requests: only the first", "GET /1" H11 "\r\nGET /2" H11 "\r\n", .method = "GET",
       .path = "/1", .nh = 1, .head_len = sizeof("GET /1" H11 "\r\n") - 1),
    OK("body bytes after the head", "PUT /f" H11 "Content-Length: 10\r\n\r\n0123456789",
       .method = "PUT", .path = "/f", .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 10,
       .head_len = sizeof("PUT /f" H11 "Content-Length: 10\r\n\r\n") - 1),

    /* ---- valid: fields ---- */
    OK("OWS around a value", "GET /" H11 "X:   a b \t \r\n\r\n", .method = "GET", .path = "/",
       .nh = 2, .hn1 = "X", .hv1 = "a b"),
    OK("no OWS", "GET /" H11 "X:v\r\n\r\n", .method = "GET", .path = "/", .nh = 2, .hn1 = "x",
       .hv1 = "v"),
    OK("tab OWS", "GET /" H11 "X:\tv\t\r\n\r\n", .method = "GET", .path = "/", .nh = 2, .hn1 = "x",
       .hv1 = "v"),
    OK("empty value", "GET /" H11 "X-Empty:\r\n\r\n", .method = "GET", .path = "/", .nh = 2,
       .hn1 = "x-empty", .hv1 = ""),
    OK("whitespace-only value", "GET /" H11 "X-Empty: \t \r\n\r\n", .method = "GET", .path = "/",
       .nh = 2, .hn1 = "x-empty", .hv1 = ""),
    OK("obs-text in a value", "GET /" H11 "X: caf\xc3\xa9 \xff\x80\r\n\r\n", .method = "GET",
       .path = "/", .nh = 2, .hn1 = "x", .hv1 = "caf\xc3\xa9 \xff\x80"),
    OK("inner whitespace kept", "GET /" H11 "X: a  b\tc\r\n\r\n", .method = "GET", .path = "/",
       .nh = 2, .hn1 = "x", .hv1 = "a  b\tc"),
    OK("every VCHAR in a value", "GET /" H11 "X: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n\r\n",
       .method = "GET", .path = "/", .nh = 2, .hn1 = "x",
       .hv1 = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    OK("colons in a value", "GET /" H11 "X: a:b::c\r\n\r\n", .method = "GET", .path = "/", .nh = 2,
       .hn1 = "x", .hv1 = "a:b::c"),
    OK("field name in any case", "GET / HTTP/1.1\r\nhOsT: a\r\n\r\n", .method = "GET", .path = "/",
       .host = "a", .nh = 1, .hn1 = "HOST", .hv1 = "a"),
    OK("every tchar in a field name", "GET /" H11 "X!#$%&'*+-.^_`|~9: v\r\n\r\n", .method = "GET",
       .path = "/", .nh = 2, .hn1 = "x!#$%&'*+-.^_`|~9", .hv1 = "v"),
    OK("repeated fields kept", "GET /" H11 "Cookie: a=1\r\nCookie: b=2\r\n\r\n", .method = "GET",
       .path = "/", .nh = 3, .hn1 = "cookie", .hv1 = "a=1"),
    OK("Host with port", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", .method = "GET",
       .path = "/", .host = "example.com:8080", .nh = 1),
    OK("Host IPv6", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", .method = "GET", .path = "/",
       .host = "[::1]:80", .nh = 1),
    OK("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", .method = "GET", .path = "/", .host = "",
       .nh = 1),
    OK("Host with OWS", "GET / HTTP/1.1\r\nHost:  a.b \r\n\r\n", .method = "GET", .path = "/",
       .host = "a.b", .nh = 1),
    OK("26 fields", "GET /" H11 MANY_FIELDS "\r\n", .method = "GET", .path = "/", .nh = 27,
       .hn1 = "c5", .hv1 = "aaaaaaaaaaaaaa", .hn2 = "A0", .hv2 = "aaaaaaaaaaaaaa"),
    OK("a field that merely resembles Host", "GET /" H11 "Hostx: y\r\nX-Host: z\r\n\r\n",
       .method = "GET", .path = "/", .host = "h", .nh = 3),
    OK("Upgrade is just a field",
       "GET /chat" H11 "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n", .method = "GET",
       .path = "/chat", .nh = 3, .hn1 = "upgrade", .hv1 = "websocket"),

    /* ---- valid: connection and expectations ---- */
    OK("1.1 keeps alive", "GET /" H11 "\r\n", .method = "GET", .path = "/", .nh = 1, .ka = KA_YES),
    OK("1.1 close", "GET /" H11 "Connection: close\r\n\r\n", .method = "GET", .path = "/", .nh = 2,
       .ka = KA_NO),
    OK("1.1 CLOSE any case", "GET /" H11 "Connection: CLOSE\r\n\r\n", .method = "GET", .path = "/",
       .nh = 2, .ka = KA_NO),
    OK("1.1 close in a list", "GET /" H11 "Connection: keep-alive, Close\r\n\r\n", .method = "GET",
       .path = "/", .nh = 2, .ka = KA_NO),
    OK("1.1 close on a second line", "GET /" H11 "Connection: foo\r\nConnection: close\r\n\r\n",
       .method = "GET", .path = "/", .nh = 3, .ka = KA_NO),
    OK("1.1 close among empty elements", "GET /" H11 "Connection: , ,close ,\r\n\r\n",
       .method = "GET", .path = "/", .nh = 2, .ka = KA_NO),
    OK("1.1 'closed' is not close", "GET /" H11 "Connection: closed\r\n\r\n", .method = "GET",
       .path = "/", .nh = 2, .ka = KA_YES),
    OK("1.1 'close' inside a token is not close", "GET /" H11 "Connection: x-close\r\n\r\n",
       .method = "GET", .path = "/", .nh = 2, .ka = KA_YES),
    OK("1.1 explicit keep-alive", "GET /" H11 "Connection: keep-alive\r\n\r\n", .method = "GET",
       .path = "/", .nh = 2, .ka = KA_YES),
    OK("1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", .method = "GET", .path = "/", .v10 = true,
       .nh = 0, .ka = KA_NO),
    OK("1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", .method = "GET",
       .path = "/", .v10 = true, .nh = 1, .ka = KA_YES),
    OK("1.0 Keep-Alive any case", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
       .method = "GET", .path = "/", .v10 = true, .nh = 1, .ka = KA_YES),
    OK("1.0 keep-alive in a list", "GET / HTTP/1.0\r\nConnection: foo,  keep-alive \r\n\r\n",
       .method = "GET", .path = "/", .v10 = true, .nh = 1, .ka = KA_YES),
    OK("1.0 keep-alive then close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
       .method = "GET", .path = "/", .v10 = true, .nh = 1, .ka = KA_NO),
    OK("Expect 100-continue", "PUT /f" H11 "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n",
       .method = "PUT", .path = "/f", .nh = 3, .body = HTTP_BODY_LENGTH, .clen = 5, .expect = true),
    OK("Expect in any case", "PUT /f" H11 "Content-Length: 5\r\nexpect: 100-Continue\r\n\r\n",
       .method = "PUT", .path = "/f", .nh = 3, .body = HTTP_BODY_LENGTH, .clen = 5, .expect = true),
    OK("Expect with chunked",
       "POST /" H11 "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", .method = "POST",
       .path = "/", .nh = 3, .body = HTTP_BODY_CHUNKED, .expect = true),
    OK("Expect ignored in 1.0",
       "PUT / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n", .method = "PUT",
       .path = "/", .v10 = true, .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 1, .expect = false),
    OK("other expectations ignored", "PUT /" H11 "Expect: 200-ok\r\n\r\n", .method = "PUT",
       .path = "/", .nh = 2, .expect = false),

    /* ---- valid: framing ---- */
    OK("Content-Length 0", "POST /" H11 "Content-Length: 0\r\n\r\n", .method = "POST", .path = "/",
       .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 0),
    OK("Content-Length leading zeros", "POST /" H11 "Content-Length: 007\r\n\r\n", .method = "POST",
       .path = "/", .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 7),
    OK("Content-Length with OWS", "POST /" H11 "Content-Length:  42 \t\r\n\r\n", .method = "POST",
       .path = "/", .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 42),
    OK("content-length in lower case", "POST /" H11 "content-length: 12\r\n\r\n", .method = "POST",
       .path = "/", .nh = 2, .body = HTTP_BODY_LENGTH, .clen = 12),
    OK("identical Content-Lengths", "POST /" H11 "Content-Length: 8\r\nContent-Length: 8\r\n\r\n",
       .method = "POST", .path = "/", .nh = 3, .body = HTTP_BODY_LENGTH, .clen = 8),
    OK("identical Content-Lengths, one with zeros",
       "POST /" H11 "Content-Length: 8\r\nContent-Length: 08\r\n\r\n", .method = "POST",
       .path = "/", .nh = 3, .body = HTTP_BODY_LENGTH, .clen = 8),
    OK("largest Content-Length", "POST /" H11 "Content-Length: 9223372036854775807\r\n\r\n",
       .method = "POST", .path = "/", .nh = 2, .body = HTTP_BODY_LENGTH,
       .clen = 9223372036854775807ULL),
    OK("1.0 with Content-Length", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
       .method = "POST", .path = "/", .v10 = true, .nh = 1, .body = HTTP_BODY_LENGTH, .clen = 2,
       .head_len = sizeof("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n") - 1),
    OK("chunked", "POST /" H11 "Transfer-Encoding: chunked\r\n\r\n", .method = "POST", .path = "/",
       .nh = 2, .body = HTTP_BODY_CHUNKED),
    OK("Chunked in any case", "POST /" H11 "transfer-encoding: ChUnKeD\r\n\r\n", .method = "POST",
       .path = "/", .nh = 2, .body = HTTP_BODY_CHUNKED),
    OK("chunked with OWS", "POST /" H11 "Transfer-Encoding:   chunked  \r\n\r\n", .method = "POST",
       .path = "/", .nh = 2, .body = HTTP_BODY_CHUNKED),
    OK("chunked with empty list elements", "POST /" H11 "Transfer-Encoding: , chunked ,\r\n\r\n",
       .method = "POST", .path = "/", .nh = 2, .body = HTTP_BODY_CHUNKED),
    OK("chunked with body bytes after", "POST /" H11 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       .method = "POST", .path = "/", .nh = 2, .body = HTTP_BODY_CHUNKED,
       .head_len = sizeof("POST /" H11 "Transfer-Encoding: chunked\r\n\r\n") - 1),
    OK("chunked and Connection close",
       "POST /" H11 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", .method = "POST",
       .path = "/", .nh = 3, .body = HTTP_BODY_CHUNKED, .ka = KA_NO),

    /* ---- valid: exactly at the limits ---- */
    OK("target exactly max_target", "GET /2345678" H11 "\r\n", .method = "GET", .path = "/2345678",
       .nh = 1, LIM(8, 16384, 64)),
    OK("head exactly max_head_bytes", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", .method = "GET",
       .path = "/", .nh = 1, LIM(8192, 27, 64)),
    OK("exactly max_headers", "GET /" H11 "A: 1\r\nB: 2\r\n\r\n", .method = "GET", .path = "/",
       .nh = 3, LIM(8192, 16384, 3)),
    OK("leading empty lines within the limit", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
       .method = "GET", .path = "/", .nh = 1, LIM(8192, 31, 64)),

    /* ---- incomplete ---- */
    MORE("nothing", ""),
    MORE("a CR", "\r"),
    MORE("empty lines only", "\r\n\r\n"),
    MORE("a CR after an empty line", "\r\n\r"),
    MORE("a CR after a field value", "GET / HTTP/1.1\r\nHost: h\r"),
    MORE("a CR after a 1.0 request-line", "GET / HTTP/1.0\r"),
    MORE("a CR after a value's OWS", "GET / HTTP/1.1\r\nHost: h \t\r"),
    MORE("part of a method", "GE"),
    MORE("method and SP", "GET "),
    MORE("part of a target", "GET /ab"),
    MORE("part of the version", "GET / HTT"),
    MORE("version without line end", "GET / HTTP/1.1"),
    MORE("version and CR", "GET / HTTP/1.1\r"),
    MORE("request-line only", "GET / HTTP/1.1\r\n"),
    MORE("a field without line end", "GET / HTTP/1.1\r\nHost: h"),
    MORE("a field name", "GET / HTTP/1.1\r\nHo"),
    MORE("no final empty line", "GET / HTTP/1.1\r\nHost: h\r\n"),
    MORE("final CR only", "GET / HTTP/1.1\r\nHost: h\r\n\r"),
    MORE("5xx version still incomplete", "GET / HTTP/2.0"),

    /* ---- request-line errors ---- */
    BAD("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("leading whitespace", "  GET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("'@' in method", "G@T /" H11 "\r\n", -400),
    BAD("'(' in method", "GET( /" H11 "\r\n", -400),
    BAD("NUL in method", "GE\0T /" H11 "\r\n", -400),
    BAD("obs-text in method", "G\xc3\xa9T /" H11 "\r\n", -400),
    BAD("tab after method", "GET\t/" H11 "\r\n", -400),
    BAD("two SP after method", "GET  /" H11 "\r\n", -400),
    BAD("two SP after target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("SP after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", -400),
    BAD("no version", "GET /\r\nHost: h\r\n\r\n", -400),
    BAD("no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("only a method", "GET\r\n\r\n", -400),
    BAD("lower-case protocol", "GET / http/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("HTTPS protocol name", "GET / HTTPS/1.1\r\nHost: h\r\n\r\n", -400),
    BAD("version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", -400),
    BAD("two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", -400),
    BAD("two-digit major", "GET / HTTP/11.1\r\nHost: h\r\n\r\n", -400),
    BAD("letter as minor", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", -400),
    BAD("comma as dot", "GET / HTTP/1,1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare CR after version", "GET / HTTP/1.1\rH", "ost: h\r\n\r\n", -400),
    BAD_AT("CR CR LF after version", "GET / HTTP/1.1\r\r", "\nHost: h\r\n\r\n", -400),
    BAD("HTTP/0.9 simple request", "GET /\r\n", -400),
    BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", -505),
    BAD("HTTP/0.9 as a version", "GET / HTTP/0.9\r\n\r\n", -505),
    BAD("HTTP/3.0", "GET / HTTP/3.0\r\n", -505),
    BAD("HTTP/9.9", "GET / HTTP/9.9\r\n", -505),
    /* A malformed line end is found before the version is judged. */
    BAD_AT("HTTP/9.9 with a bare LF", "GET / HTTP/9.9\n", "", -400),
    BAD("HTTP/2.0 with malformed line end", "GET / HTTP/2.0 \r\n", -400),

    /* ---- request-target errors ---- */
    BAD("CTL in target",
        "GET /a\x01"
        "b" H11 "\r\n",
        -400),
    BAD("tab in target", "GET /a\tb" H11 "\r\n", -400),
    BAD("DEL in target", "GET /a\x7f" H11 "\r\n", -400),
    BAD("obs-text in target", "GET /caf\xc3\xa9" H11 "\r\n", -400),
    BAD("NUL in target", "GET /a\0" H11 "\r\n", -400),
    BAD("CR in target", "GET /a\r\n", -400),
    BAD("fragment in target", "GET /a#b" H11 "\r\n", -400),
    BAD("fragment after query", "GET /a?b#c" H11 "\r\n", -400),
    BAD("asterisk for GET", "GET *" H11 "\r\n", -400),
    BAD("asterisk with more", "OPTIONS *x" H11 "\r\n", -400),
    BAD("relative target", "GET a/b" H11 "\r\n", -400),
    BAD("authority-form for GET", "GET example.com:80" H11 "\r\n", -400),
    BAD("ftp scheme", "GET ftp://a/b" H11 "\r\n", -400),
    BAD("scheme without //", "GET http:/a" H11 "\r\n", -400),
    BAD("empty authority", "GET http:///a" H11 "\r\n", -400),
    BAD("userinfo in authority", "GET http://user@host/" H11 "\r\n", -400),
    BAD("bad port in absolute-form", "GET http://a:8x/" H11 "\r\n", -400),
    BAD("scheme only", "GET http:" H11 "\r\n", -400),
    BAD("CONNECT origin-form", "CONNECT /" H11 "\r\n", -400),
    BAD("CONNECT without port", "CONNECT example.com" H11 "\r\n", -400),
    BAD("CONNECT empty port", "CONNECT example.com:" H11 "\r\n", -400),
    BAD("CONNECT bad port", "CONNECT example.com:https" H11 "\r\n", -400),
    BAD("CONNECT without host", "CONNECT :443" H11 "\r\n", -400),
    BAD("CONNECT with query", "CONNECT a:443?x" H11 "\r\n", -400),
    BAD("CONNECT absolute-form", "CONNECT http://a:443/" H11 "\r\n", -400),

    /* ---- field errors ---- */
    BAD("1.1 without Host", "GET / HTTP/1.1\r\n\r\n", -400),
    BAD("1.1 without Host, other fields", "GET / HTTP/1.1\r\nX: y\r\n\r\n", -400),
    BAD("absolute-form 1.1 without Host", "GET http://a/ HTTP/1.1\r\n\r\n", -400),
    BAD("two Host fields", "GET /" H11 "Host: other\r\n\r\n", -400),
    BAD("two identical Host fields", "GET / HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", -400),
    BAD("two Host in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", -400),
    BAD("space in Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -400),
    BAD("slash in Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", -400),
    BAD("userinfo in Host", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", -400),
    BAD("obs-fold", "GET /" H11 "X: a\r\n b\r\n\r\n", -400),
    BAD("obs-fold with tab", "GET /" H11 "X: a\r\n\tb\r\n\r\n", -400),
    BAD("whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", -400),
    BAD("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", -400),
    BAD("tab before colon", "GET /" H11 "X\t: y\r\n\r\n", -400),
    BAD("no colon", "GET /" H11 "X y\r\n\r\n", -400),
    BAD("no colon, line end", "GET /" H11 "Xy\r\n\r\n", -400),
    BAD("empty field name", "GET /" H11 ": y\r\n\r\n", -400),
    BAD("'(' in field name", "GET /" H11 "X(y): z\r\n\r\n", -400),
    BAD("'/' in field name", "GET /" H11 "X/y: z\r\n\r\n", -400),
    BAD("quote in field name", "GET /" H11 "X\"y: z\r\n\r\n", -400),
    BAD("obs-text in field name", "GET /" H11 "X\xc3\xa9: z\r\n\r\n", -400),
    BAD("NUL in field name", "GET /" H11 "X\0: z\r\n\r\n", -400),
    BAD("NUL in value", "GET /" H11 "X: a\0b\r\n\r\n", -400),
    BAD("CTL in value",
        "GET /" H11 "X: a\x01"
        "b\r\n\r\n",
        -400),
    BAD("ESC in value", "GET /" H11 "X: \x1b[31m\r\n\r\n", -400),
    BAD("DEL in value", "GET /" H11 "X: a\x7f\r\n\r\n", -400),
    BAD_AT("bare CR in value", "GET /" H11 "X: a\rb", "\r\n\r\n", -400),
    BAD_AT("CR CR LF after value", "GET /" H11 "X: a\r\r", "\n\r\n", -400),
    BAD_AT("bare CR as final line", "GET /" H11 "\rX", "", -400),
    BAD_AT("bare CR in Host value", "GET / HTTP/1.1\r\nHost: a\rb", "\r\n\r\n", -400),

    /* ---- line ends: CRLF and nothing else (parse.c's header comment) ----
     * Each bare LF or bare CR fails at the byte that shows it, fed whole or
     * byte by byte. These rows were once valid heads, when a bare LF was
     * taken as a line end: "leading LFs", "LF-only lines", "mixed CRLF and
     * LF", "LF after 1.0 version". */
    BAD_AT("bare LF as a leading empty line", "\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("leading LFs", "\n", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare LF after a leading CRLF", "\r\n\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("mixed leading empty lines", "\r\n\n", "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare LF ends the request-line", "GET / HTTP/1.1\n", "Host: h\r\n\r\n", -400),
    BAD_AT("bare LF ends a 1.0 request-line", "GET / HTTP/1.0\n", "\r\n", -400),
    BAD_AT("LF-only lines", "GET / HTTP/1.1\n", "Host: h\nX: y\n\n", -400),
    BAD_AT("mixed CRLF and LF", "GET / HTTP/1.1\n", "Host: h\r\nX: y\n\r\n", -400),
    BAD_AT("LF after 1.0 version", "GET / HTTP/1.0\n", "\n", -400),
    BAD_AT("LF LF after the request-line", "GET / HTTP/1.1\n", "\n", -400),
    BAD_AT("LF LF after a request-line with a long target",
           "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.0\n", "\n", -400),
    BAD_AT("bare LF ends a field line", "GET / HTTP/1.1\r\nHost: h\n", "\r\n", -400),
    BAD_AT("bare LF ends a later field line", "GET /" H11 "X: y\n", "\r\n", -400),
    BAD_AT("bare LF ends an empty field value", "GET /" H11 "X:\n", "\r\n", -400),
    BAD_AT("bare LF after a value's OWS", "GET /" H11 "X: y \t\n", "\r\n", -400),
    BAD_AT("bare LF ends a long field value",
           "GET /" H11 "X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "\r\n", -400),
    BAD_AT("bare LF inside a field value", "GET /" H11 "X: a\n", "b\r\n\r\n", -400),
    BAD_AT("bare LF ends a field name", "GET /" H11 "X\n", ": y\r\n\r\n", -400),
    BAD_AT("bare LF as the final empty line", "GET / HTTP/1.1\r\nHost: h\r\n\n", "", -400),
    BAD_AT("bare LF as the final line of 1.0", "GET / HTTP/1.0\r\n\n", "", -400),
    BAD_AT("LF LF after a field", "GET / HTTP/1.1\r\nHost: h\n", "\n", -400),
    BAD_AT("bare LF after the method", "GET\n", "", -400),
    BAD_AT("bare LF in the target", "GET /a\n", " HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare LF after the target", "GET /\n", "", -400),
    {.name = "bare LF as the final line with every field used",
     R("GET / HTTP/1.1\r\nHost: h\r\n\n"),
     .status = -400,
     LIM(8192, 16384, 1),
     .fail_at = sizeof("GET / HTTP/1.1\r\nHost: h\r\n\n") - 1},
    BAD_AT("bare CR as a leading empty line", "\rG", "ET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare CR after a leading CRLF", "\r\n\rG", "ET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("CR CR LF as a leading empty line", "\r\r", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
    BAD_AT("bare CR ends a 1.0 request-line", "GET / HTTP/1.0\r\r", "\n\r\n", -400),
    BAD_AT("bare CR ends a field line", "GET / HTTP/1.1\r\nHost: h\rX", ": y\r\n\r\n", -400),
    BAD_AT("bare CR after a value's OWS", "GET /" H11 "X: y \rZ", ": z\r\n\r\n", -400),
    BAD_AT("bare CR ends a long field value",
           "GET /" H11 "X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\rZ", ": z\r\n\r\n", -400),
    BAD_AT("CR CR LF as the final empty line", "GET / HTTP/1.1\r\nHost: h\r\n\r\r", "\n", -400),
    BAD_AT("bare CR then LF LF", "GET / HTTP/1.1\r\nHost: h\r\n\r\r", "\n\n", -400),
    BAD_AT("bare CR in a field name", "GET /" H11 "X\r", "\n: y\r\n\r\n", -400),
    BAD_AT("bare CR after the method", "GET\r", "\n", -400),

    /* ---- framing errors ---- */
    BAD("Content-Length letters", "POST /" H11 "Content-Length: abc\r\n\r\n", -400),
    BAD("Content-Length negative", "POST /" H11 "Content-Length: -1\r\n\r\n", -400),
    BAD("Content-Length plus sign", "POST /" H11 "Content-Length: +5\r\n\r\n", -400),
    BAD("Content-Length empty", "POST /" H11 "Content-Length:\r\n\r\n", -400),
    BAD("Content-Length two numbers", "POST /" H11 "Content-Length: 1 2\r\n\r\n", -400),
    BAD("Content-Length hex", "POST /" H11 "Content-Length: 0x10\r\n\r\n", -400),
    BAD("Content-Length decimal point", "POST /" H11 "Content-Length: 5.0\r\n\r\n", -400),
    BAD("Content-Length list of equals", "POST /" H11 "Content-Length: 5, 5\r\n\r\n", -400),
    BAD("Content-Length list", "POST /" H11 "Content-Length: 5,6\r\n\r\n", -400),
    BAD("Content-Length over INT64_MAX", "POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n",
        -400),
    BAD("Content-Length over UINT64_MAX",
        "POST /" H11 "Content-Length: 184467440737095516160\r\n\r\n", -400),
    BAD("Content-Length huge", "POST /" H11 "Content-Length: 99999999999999999999999999\r\n\r\n",
        -400),
    BAD("two different Content-Lengths",
        "POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", -400),
    BAD("CL then TE", "POST /" H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
    BAD("TE then CL", "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", -400),
    BAD("TE then CL 0", "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        -400),
    BAD("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
    BAD("gzip", "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", -501),
    BAD("gzip, chunked", "POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", -501),
    BAD("deflate", "POST /" H11 "Transfer-Encoding: deflate\r\n\r\n", -501),
    BAD("identity", "POST /" H11 "Transfer-Encoding: identity\r\n\r\n", -501),
    BAD("gzip then chunked on two lines",
        "POST /" H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", -501),
    BAD("coding with parameters",
        "POST /" H11 "Transfer-Encoding: foo;a=1;b=\"x,y\", chunked\r\n\r\n", -501),
    BAD("chunked, gzip", "POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", -400),
    BAD("chunked twice", "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", -400),
    BAD("chunked on two lines",
        "POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
    BAD("chunked then gzip on two lines",
        "POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", -400),
    BAD("empty Transfer-Encoding", "POST /" H11 "Transfer-Encoding:\r\n\r\n", -400),
    BAD("Transfer-Encoding of commas", "POST /" H11 "Transfer-Encoding: , ,\r\n\r\n", -400),
    BAD("chunked with a parameter", "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", -400),
    BAD("space inside a coding", "POST /" H11 "Transfer-Encoding: chu nked\r\n\r\n", -400),
    BAD("coding with an empty parameter", "POST /" H11 "Transfer-Encoding: gzip;\r\n\r\n", -400),
    BAD("parameter without value", "POST /" H11 "Transfer-Encoding: gzip;a\r\n\r\n", -400),
    BAD("unterminated quoted parameter",
        "POST /" H11 "Transfer-Encoding: gzip;a=\"x, chunked\r\n\r\n", -400),
    BAD("non-token coding", "POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", -400),

    /* ---- limits ---- */
    BADL("target over max_target", "GET /23456789" H11 "\r\n", -414, 8, 16384, 64),
    BADL("long target, incomplete", "GET /234567890123", -414, 8, 16384, 64),
    BADL("target over max_target beats head limit", "GET /2345678901234567890" H11 "\r\n", -414, 8,
         20, 64),
    BADL("target over the head limit", "GET /234567890123456789012345678901234567890" H11 "\r\n",
         -431, 1000, 32, 64),
    BADL("head over max_head_bytes", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -431, 8192, 26, 64),
    BADL("head over max_head_bytes, never ends",
         "GET / HTTP/1.1\r\nHost: h\r\nX: aaaaaaaaaaaaaaaaaaaa", -431, 8192, 32, 64),
    BADL("many fields over max_head_bytes", "GET /" H11 MANY_FIELDS "\r\n", -431, 8192, 256, 64),
    BADL("empty lines over max_head_bytes", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", -431, 8192,
         16, 64),
    BADL("fields over max_headers", "GET /" H11 "A: 1\r\nB: 2\r\n\r\n", -431, 8192, 16384, 2),
    BADL("26 fields over max_headers", "GET /" H11 MANY_FIELDS "\r\n", -431, 8192, 16384, 20),
    BADL("max_headers 0", "GET /" H11 "\r\n", -431, 8192, 16384, 0),
    BADL("max_head_bytes 0", "GET /" H11 "\r\n", -431, 8192, 0, 64),
};

#endif
