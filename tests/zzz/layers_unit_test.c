/* Unit tests of the built-in layers' pure logic: strict base64 and the
 * Authorization scheme, the constant-time comparison, the token bucket's
 * arithmetic and its table, client keys from addresses, request IDs, the
 * access log's escaping and date, CORS's origin and list checks, and
 * each config's limits at and past them. The layers' files are included
 * to reach their static functions. */
#include "../../zzz/src/http/middleware/access_log.c"
#include "../../zzz/src/http/middleware/basic_auth.c"
#include "../../zzz/src/http/middleware/cors.c"
#include "../../zzz/src/http/middleware/rate_limit.c"
#include "../../zzz/src/http/middleware/request_id.c"
#include "../../zzz/src/http/middleware/security_headers.c"

#include <criterion/criterion.h>
#include <regex.h>

static zzz_str S(const char *s)
{
    return (zzz_str){s, strlen(s)};
}

/* ---- base64 and Basic ------------------------------------------------------ */

static ssize_t decode(const char *in, char *out)
{
    return ba_base64_decode(S(in), (unsigned char *)out);
}

Test(basic, base64_decodes_each_padding)
{
    char out[64];
    cr_assert_eq(decode("YWxpY2U6b3BlbjpzZXNhbWU=", out), 17);
    cr_assert_eq(memcmp(out, "alice:open:sesame", 17), 0);
    cr_assert_eq(decode("YQ==", out), 1);
    cr_assert_eq(out[0], 'a');
    cr_assert_eq(decode("YWI=", out), 2);
    cr_assert_eq(memcmp(out, "ab", 2), 0);
    cr_assert_eq(decode("YWJj", out), 3);
    cr_assert_eq(memcmp(out, "abc", 3), 0);
    cr_assert_eq(decode("", out), 0);
    /* All 64 digits, and bytes past 0x7F. */
    cr_assert_eq(decode("+/+/", out), 3);
    cr_assert_eq((unsigned char)out[0], 0xfb);
    cr_assert_eq((unsigned char)out[1], 0xff);
    cr_assert_eq((unsigned char)out[2], 0xbf);
}

Test(basic, base64_refuses_what_is_not_strict)
{
    char out[64];
    const char *bad[] = {
        "YQ",                 /* no padding */
        "YQ=",                /* short */
        "YWJjZ",              /* not a multiple of four */
        "YR==",               /* bits left over under the padding */
        "YWJ=",               /* the same, one '=' */
        "Y===",               /* three '=' */
        "====",   "YQ==YWJj", /* padding before the end */
        "YW=j",               /* '=' inside a group */
        "YWJj\n",             /* a byte outside the alphabet */
        "YW Jj",  "YW-j",     /* base64url's digits */
        "YW_j",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(decode(bad[i], out), -1, "accepted \"%s\"", bad[i]);
}

Test(basic, authorization_scheme)
{
    zzz_str token;
    cr_assert(ba_credentials(S("Basic YQ=="), &token));
    cr_assert(zzz_str_eq(token, "YQ=="));
    cr_assert(ba_credentials(S("basic   YQ=="), &token));
    cr_assert(zzz_str_eq(token, "YQ=="));
    cr_assert(ba_credentials(S("BASIC YQ=="), &token));
    cr_assert_not(ba_credentials(S("BasicYQ=="), &token));
    cr_assert_not(ba_credentials(S("Basic"), &token));
    cr_assert_not(ba_credentials(S("Basic "), &token));
    cr_assert_not(ba_credentials(S("Bearer YQ=="), &token));
    cr_assert_not(ba_credentials(S("Basics YQ=="), &token));
    cr_assert_not(ba_credentials(S("Basic\tYQ=="), &token));
}

Test(basic, secure_eq)
{
    cr_assert(zzz_secure_eq(S("secret"), S("secret")));
    cr_assert(zzz_secure_eq(S(""), S("")));
    cr_assert_not(zzz_secure_eq(S("secret"), S("secreT")));
    cr_assert_not(zzz_secure_eq(S("secret"), S("secrets")));
    cr_assert_not(zzz_secure_eq(S("secrets"), S("secret")));
    cr_assert_not(zzz_secure_eq(S(""), S("x")));
    cr_assert_not(zzz_secure_eq(S("x"), S("")));
    /* Past b's end a is compared with b's first byte: the lengths still
     * decide. */
    cr_assert_not(zzz_secure_eq(S("aaaa"), S("a")));
    cr_assert(zzz_secure_eq((zzz_str){"a\0b", 3}, (zzz_str){"a\0b", 3}));
    cr_assert_not(zzz_secure_eq((zzz_str){"a\0b", 3}, (zzz_str){"a\0c", 3}));
}

/* ---- the token bucket ---------------------------------------------------------- */

#define SEC 1000000000ull

Test(rate, bucket_lets_a_burst_then_the_rate)
{
    /* 1 per second, bursts of 3. */
    uint64_t interval = SEC, tolerance = 2 * SEC, tat = 0, now = 1000 * SEC;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rl_step(&tat, now, interval, tolerance), 0, "request %d", i);
    /* At the limit: the fourth waits exactly a second. */
    uint64_t before = tat;
    cr_assert_eq(rl_step(&tat, now, interval, tolerance), SEC);
    cr_assert_eq(tat, before, "a refused request takes no token");
    /* Half a second later, half a second more. */
    cr_assert_eq(rl_step(&tat, now + SEC / 2, interval, tolerance), SEC / 2);
    /* A second later, one passes, and the next waits a second again. */
    cr_assert_eq(rl_step(&tat, now + SEC, interval, tolerance), 0);
    cr_assert_eq(rl_step(&tat, now + SEC, interval, tolerance), SEC);
    /* After a long pause the bucket is full again: a whole burst. */
    now += 100 * SEC;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rl_step(&tat, now, interval, tolerance), 0);
    cr_assert_gt(rl_step(&tat, now, interval, tolerance), 0);
}

Test(rate, bucket_of_one)
{
    /* 2 per second, no burst: every 500 ms. */
    uint64_t interval = SEC / 2, tat = 0, now = 5 * SEC;
    cr_assert_eq(rl_step(&tat, now, interval, 0), 0);
    cr_assert_eq(rl_step(&tat, now + SEC / 2 - 1, interval, 0), 1);
    cr_assert_eq(rl_step(&tat, now + SEC / 2, interval, 0), 0);
}

Test(rate, retry_after_rounds_up)
{
    cr_assert_eq(rl_retry_seconds(1), 1);
    cr_assert_eq(rl_retry_seconds(SEC - 1), 1);
    cr_assert_eq(rl_retry_seconds(SEC), 1);
    cr_assert_eq(rl_retry_seconds(SEC + 1), 2);
    cr_assert_eq(rl_retry_seconds(100 * SEC), 100);
}

static bool key_of(const char *text, unsigned bits, uint64_t key[2])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        cr_assert_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        cr_assert_eq(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
    return rl_addr_key((struct sockaddr *)&ss, bits, key);
}

static bool same_key(const char *a, const char *b, unsigned bits)
{
    uint64_t ka[2], kb[2];
    cr_assert(key_of(a, bits, ka) && key_of(b, bits, kb));
    return ka[0] == kb[0] && ka[1] == kb[1];
}

Test(rate, client_keys)
{
    cr_assert(same_key("192.0.2.1", "192.0.2.1", 64));
    cr_assert_not(same_key("192.0.2.1", "192.0.2.2", 64));
    /* IPv4-mapped IPv6 is the IPv4 client, whatever the prefix. */
    cr_assert(same_key("192.0.2.1", "::ffff:192.0.2.1", 64));
    cr_assert(same_key("192.0.2.1", "::ffff:192.0.2.1", 1));
    /* /64 by default: one home, one key. */
    cr_assert(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 64));
    cr_assert_not(same_key("2001:db8:1:2::1", "2001:db8:1:3::1", 64));
    /* /128: each address. */
    cr_assert_not(same_key("2001:db8::1", "2001:db8::2", 128));
    cr_assert(same_key("2001:db8::1", "2001:db8::1", 128));
    /* Prefixes that cut inside each half. */
    cr_assert(same_key("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:7", 127));
    cr_assert_not(same_key("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:8", 127));
    cr_assert(same_key("2001:db8:1:2:3::", "2001:db8:1:2:3:ffff::", 80));
    cr_assert_not(same_key("2001:db8:1:2:3::", "2001:db8:1:2:4::", 80));
    cr_assert(same_key("2001:db8::", "2001:dbf::", 29));
    cr_assert_not(same_key("2001:db8::", "2001:db0::", 29));
    cr_assert(same_key("2001:db8::", "7fff::", 1));
    cr_assert_not(same_key("2001:db8::", "7fff::", 2));
    cr_assert_not(same_key("2001:db8::", "8000::", 1));
    /* An IPv6 /64 never meets an IPv4 key. */
    cr_assert_not(same_key("::", "0.0.0.0", 64));
    struct sockaddr un = {.sa_family = AF_UNIX};
    uint64_t k[2];
    cr_assert_not(rl_addr_key(&un, 64, k));
}

static rl_state *rate_state(zzz_router **router, const zzz_rate_limit_config *cfg)
{
    cr_assert_eq(zzz_router_create(router), 0);
    zzz_layer layer;
    void *user;
    cr_assert_eq(zzz_rate_limit_layer(*router, cfg, &layer, &user), 0);
    cr_assert_eq(layer, rl_layer);
    return user;
}

Test(rate, table_forgets_the_fullest_bucket_first)
{
    /* The smallest table: one set of RL_WAYS. Rate 1/s, burst 2. */
    zzz_router *router;
    rl_state *st =
        rate_state(&router, &(zzz_rate_limit_config){.rate = 1, .burst = 2, .clients = 1});
    cr_assert_eq(st->set_count, 1);
    uint64_t now = 1000 * SEC;
    /* Client 0 takes one token (its bucket half full); clients 1..9 empty
     * theirs. */
    uint64_t key[2] = {0, 0};
    cr_assert_eq(rl_take(st, key, now), 0);
    for (uint64_t c = 1; c < RL_WAYS; c++) {
        key[1] = c;
        cr_assert_eq(rl_take(st, key, now), 0);
        cr_assert_eq(rl_take(st, key, now), 0);
        cr_assert_gt(rl_take(st, key, now), 0);
    }
    /* A new client takes client 0's entry, the fullest bucket. */
    key[1] = RL_WAYS;
    cr_assert_eq(rl_take(st, key, now), 0);
    /* Client 0 comes back forgotten: a full bucket again (two pass). */
    key[1] = 0;
    cr_assert_eq(rl_take(st, key, now), 0);
    cr_assert_eq(rl_take(st, key, now), 0);
    cr_assert_gt(rl_take(st, key, now), 0);
    /* That took client RL_WAYS's entry (its bucket was the fullest left):
     * the limited ones stay limited. */
    for (uint64_t c = 1; c < RL_WAYS; c++) {
        key[1] = c;
        cr_assert_gt(rl_take(st, key, now), 0, "client %llu forgotten", (unsigned long long)c);
    }
    zzz_router_destroy(router);
}

Test(rate, table_sizes)
{
    zzz_router *router;
    rl_state *st = rate_state(&router, NULL);
    /* Defaults: 10 per second, bursts of 10, 65536 clients or more. */
    cr_assert_eq(st->interval, SEC / 10);
    cr_assert_eq(st->tolerance, 9 * SEC / 10);
    cr_assert_geq(st->set_count * RL_WAYS, 65536);
    cr_assert_lt(st->set_count * RL_WAYS, 2 * 65536);
    cr_assert_eq(st->v6_bits, 64);
    cr_assert_eq(sizeof(rl_set), 256);
    zzz_router_destroy(router);
    /* A rate under one: burst rounded up to 1. */
    st = rate_state(&router, &(zzz_rate_limit_config){.rate = 0.5});
    cr_assert_eq(st->interval, 2 * SEC);
    cr_assert_eq(st->tolerance, 0);
    zzz_router_destroy(router);
    st = rate_state(&router, &(zzz_rate_limit_config){.rate = 2.5});
    cr_assert_eq(st->tolerance, 2 * (SEC * 2 / 5)); /* burst 3 */
    zzz_router_destroy(router);
}

Test(rate, config_limits)
{
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    struct {
        zzz_rate_limit_config cfg;
        int err;
    } cases[] = {
        {{.rate = 1e6}, 0},
        {{.rate = 1e6 * 1.0000001}, -EINVAL},
        {{.rate = -1}, -EINVAL},
        {{.rate = 1.0 / 0.0}, -EINVAL},
        {{.rate = 0.0 / 0.0}, -EINVAL},
        {{.burst = 1000000}, 0},
        {{.burst = 1000001}, -EINVAL},
        {{.clients = 1u << 24}, 0},
        {{.clients = (1u << 24) + 1}, -EINVAL},
        {{.ipv6_prefix = 128}, 0},
        {{.ipv6_prefix = 129}, -EINVAL},
        {{.rate = 1e-3, .burst = 1000000}, 0}, /* 1e9 s to fill: the limit */
        {{.rate = 0.9e-3, .burst = 1000000}, -EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(zzz_rate_limit_layer(router, &cases[i].cfg, &layer, &user), cases[i].err,
                     "case %zu", i);
    cr_assert_eq(zzz_use_rate_limit(router, "/x", NULL), 0);
    cr_assert_eq(zzz_use_rate_limit(router, "x", NULL), -EINVAL);
    cr_assert_eq(zzz_use_rate_limit(router, NULL, NULL), -EINVAL);
    cr_assert_eq(zzz_use_rate_limit(NULL, "/", NULL), -EINVAL);
    zzz_router_destroy(router);
}

Test(rate, key_hash_spreads_and_depends_on_every_byte)
{
    uint64_t seed = 42;
    cr_assert_neq(rl_hash_bytes(S("key-a"), seed), rl_hash_bytes(S("key-b"), seed));
    cr_assert_neq(rl_hash_bytes(S("0123456789abcdefX"), seed),
                  rl_hash_bytes(S("0123456789abcdefY"), seed));
    cr_assert_neq(rl_hash_bytes((zzz_str){"a\0", 2}, seed), rl_hash_bytes(S("a"), seed));
    cr_assert_neq(rl_hash_bytes(S("key"), 1), rl_hash_bytes(S("key"), 2));
    cr_assert_eq(rl_hash_bytes(S("same"), seed), rl_hash_bytes(S("same"), seed));
}

/* ---- request IDs ------------------------------------------------------------------ */

Test(request_id, made_ids_are_unique_and_shaped)
{
    char a[RID_MADE_MAX], b[RID_MADE_MAX];
    size_t la = rid_make(a), lb = rid_make(b);
    cr_assert_eq(la, 25);
    cr_assert_eq(lb, 25);
    cr_assert_eq(memcmp(a, b, 17), 0, "one prefix per thread");
    cr_assert_neq(memcmp(a, b, 25), 0);
    cr_assert_eq(a[16], '-');
    for (size_t i = 0; i < la; i++)
        cr_assert(i == 16 || strchr(rid_hex, a[i]), "byte %zu: %c", i, a[i]);
    cr_assert(rid_is_sane((zzz_str){a, la}, 200));
    /* Past 2^32 IDs, the counter grows a digit. */
    rid_thread.count = 0xffffffffu;
    cr_assert_eq(rid_make(a), 25);
    cr_assert_eq(rid_make(a), 26);
    cr_assert_eq(memcmp(a + 17, "100000000", 9), 0);
    rid_thread.count = UINT64_MAX;
    cr_assert_eq(rid_make(a), 33);
    cr_assert_eq(memcmp(a + 17, "ffffffffffffffff", 16), 0);
}

Test(request_id, client_ids_taken_only_when_sane)
{
    cr_assert(rid_is_sane(S("abc-123_.:+/=@~XYZ"), 200));
    cr_assert(rid_is_sane(S("a"), 1));
    cr_assert_not(rid_is_sane(S("ab"), 1));
    cr_assert_not(rid_is_sane(S(""), 200));
    const char *bad[] = {"a b", "a\"b", "a\\b", "a,b", "a;b", "a\tb", "\xc3\xa9", "a%b", "<a>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(rid_is_sane(S(bad[i]), 200), "took \"%s\"", bad[i]);
}

Test(request_id, config_limits)
{
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    char header[80];
    memset(header, 'h', sizeof header);
    header[64] = '\0';
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.header = header}, &layer, &user), 0);
    header[64] = 'h';
    header[65] = '\0';
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.header = header}, &layer, &user),
        -EINVAL);
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.header = "X Id"}, &layer, &user),
        -EINVAL);
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.header = ""}, &layer, &user),
        -EINVAL);
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.max_len = 1024}, &layer, &user), 0);
    cr_assert_eq(
        zzz_request_id_layer(router, &(zzz_request_id_config){.max_len = 1025}, &layer, &user),
        -EINVAL);
    cr_assert_eq(zzz_request_id_layer(router, NULL, &layer, &user), 0);
    cr_assert_eq(((rid_state *)user)->max_len, 200);
    cr_assert_str_eq(((rid_state *)user)->header, "X-Request-Id");
    zzz_router_destroy(router);
}

/* ---- the access log ------------------------------------------------------------- */

static const char *escaped(const char *in, size_t max)
{
    static char out[256];
    zzz_str s = S(in);
    size_t n = al_escape(out, max, &s, 1);
    cr_assert_leq(n, max);
    out[n] = '\0';
    return out;
}

Test(access_log, escapes)
{
    cr_assert_str_eq(escaped("plain text/1.0", 100), "plain text/1.0");
    cr_assert_str_eq(escaped("say \"hi\"", 100), "say \\\"hi\\\"");
    cr_assert_str_eq(escaped("back\\slash", 100), "back\\\\slash");
    cr_assert_str_eq(escaped("tab\there", 100), "tab\\x09here");
    cr_assert_str_eq(escaped("\x01\x1f\x7f", 100), "\\x01\\x1f\\x7f");
    cr_assert_str_eq(escaped("caf\xc3\xa9", 100), "caf\\xc3\\xa9");
    cr_assert_str_eq(escaped("line\r\nbreak", 100), "line\\x0d\\x0abreak");
}

Test(access_log, cuts_at_the_limit_with_dots)
{
    /* Exactly the limit: whole. One past: cut, "..." inside the limit. */
    cr_assert_str_eq(escaped("0123456789abcdef", 16), "0123456789abcdef");
    cr_assert_str_eq(escaped("0123456789abcdefg", 16), "0123456789abc...");
    /* An escape is never cut in two. */
    cr_assert_str_eq(escaped("0123456789a\xff", 16), "0123456789a\\xff");
    cr_assert_str_eq(escaped("0123456789ab\xff", 16), "0123456789ab\\xff");
    cr_assert_str_eq(escaped("0123456789abc\xff", 16), "0123456789abc...");
    cr_assert_str_eq(escaped("0123456789\xff\xff", 16), "0123456789...");
    /* Several parts share the limit. */
    char out[32];
    zzz_str parts[3] = {S("GET"), S(" "), S("/0123456789abcdef")};
    size_t n = al_escape(out, 16, parts, 3);
    cr_assert_eq(n, 16);
    cr_assert_eq(memcmp(out, "GET /01234567...", 16), 0);
}

Test(access_log, fields_and_numbers)
{
    char out[32];
    cr_assert_eq(al_field(out, 16, S("")), 1);
    cr_assert_eq(out[0], '-');
    char *p = al_uint(out, 7, 6);
    cr_assert_eq(p - out, 6);
    cr_assert_eq(memcmp(out, "000007", 6), 0);
    p = al_uint(out, UINT64_MAX, 1);
    cr_assert_eq(p - out, 20);
    cr_assert_eq(memcmp(out, "18446744073709551615", 20), 0);
}

Test(access_log, date_is_the_common_log_format_in_utc)
{
    al_thread t = {.date_sec = -1};
    size_t len;
    const char *date = al_date(&t, &len);
    char text[64];
    cr_assert_lt(len, sizeof text);
    memcpy(text, date, len);
    text[len] = '\0';
    regex_t re;
    cr_assert_eq(regcomp(&re,
                         "^\\[[0-3][0-9]/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/"
                         "[0-9]{4}:[0-2][0-9]:[0-5][0-9]:[0-6][0-9] \\+0000\\]$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    cr_assert_eq(regexec(&re, text, 0, NULL, 0), 0, "date: %s", text);
    regfree(&re);
    cr_assert_eq(len, 28);
}

Test(access_log, config_limits)
{
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    struct {
        zzz_access_log_config cfg;
        int err;
    } cases[] = {
        {{.fd = 2, .field_max = 16}, 0},
        {{.fd = 2, .field_max = 15}, -EINVAL},
        {{.fd = 2, .field_max = 65536, .buffer_bytes = 5 * 65536 + 256}, 0},
        {{.fd = 2, .field_max = 65537, .buffer_bytes = 5 * 65537 + 256}, -EINVAL},
        {{.fd = 2, .field_max = 100, .buffer_bytes = 756}, 0},
        {{.fd = 2, .field_max = 100, .buffer_bytes = 755}, -EINVAL},
        {{.fd = 2, .buffer_bytes = 64u << 20}, 0},
        {{.fd = 2, .buffer_bytes = (64u << 20) + 1}, -EINVAL},
        {{.fd = -1}, -EINVAL},
        {{.path = "/nonexistent-dir/access.log"}, -ENOENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(zzz_access_log_layer(router, &cases[i].cfg, &layer, &user), cases[i].err,
                     "case %zu", i);
    cr_assert_eq(zzz_access_log_layer(router, NULL, &layer, &user), 0);
    const al_state *st = user;
    /* Stdout; when it is a pipe (under meson test), a non-blocking
     * descriptor of its own for the same pipe. */
    struct stat out_st, log_st;
    cr_assert_eq(fstat(STDOUT_FILENO, &out_st), 0);
    if (S_ISFIFO(out_st.st_mode)) {
        cr_assert(st->own_fd);
        cr_assert_eq(fstat(st->fd, &log_st), 0);
        cr_assert(log_st.st_ino == out_st.st_ino && log_st.st_dev == out_st.st_dev);
        cr_assert(fcntl(st->fd, F_GETFL) & O_NONBLOCK);
        cr_assert_not(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK, "stdout itself changed");
    } else {
        cr_assert_eq(st->fd, STDOUT_FILENO);
        cr_assert_not(st->own_fd);
    }
    cr_assert_eq(st->buffer_bytes, 64 * 1024);
    cr_assert_eq(st->flush_ns, 1000000000u);
    zzz_router_destroy(router);
}

/* ---- CORS ---------------------------------------------------------------------------- */

Test(cors, origins)
{
    const char *good[] = {"https://app.example", "http://localhost:8080", "null",
                          "https://[::1]:8443",  "app+x.y-z://host",      "HTTPS://APP.EXAMPLE"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(cors_origin_ok(good[i]), "refused %s", good[i]);
    const char *bad[] = {"",
                         "*.example.com",
                         "https://app.example/",
                         "https://app.example/path",
                         "https://user@app.example",
                         "app.example",
                         "https://",
                         "1http://x",
                         "https://a b",
                         "https://app.example?x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(cors_origin_ok(bad[i]), "took %s", bad[i]);
}

static cors_state *cors_make(zzz_router **router, const zzz_cors_config *cfg)
{
    cr_assert_eq(zzz_router_create(router), 0);
    zzz_layer layer;
    void *user;
    cr_assert_eq(zzz_cors_layer(*router, cfg, &layer, &user), 0);
    return user;
}

Test(cors, lists)
{
    static const char *const origins[] = {"https://App.Example", NULL};
    static const char *const headers[] = {"X-Token", "Content-Type", NULL};
    zzz_router *router;
    cors_state *st = cors_make(&router, &(zzz_cors_config){.origins = origins, .headers = headers});
    /* Stored lower case, matched exactly. */
    cr_assert(cors_origin_allowed(st, S("https://app.example")));
    cr_assert_not(cors_origin_allowed(st, S("https://app.example:443")));
    cr_assert_not(cors_origin_allowed(st, S("https://evil.example")));
    cr_assert_not(cors_origin_allowed(st, S("https://app.example.evil")));
    cr_assert(st->vary);
    cr_assert_str_eq(st->methods_joined, "GET, HEAD, POST");
    cr_assert_str_eq(st->headers_joined, "X-Token, Content-Type");
    cr_assert_str_eq(st->max_age, "600");
    /* Methods: the safelisted ones always, others by the list, exactly. */
    cr_assert(cors_method_allowed(st, S("POST")));
    cr_assert_not(cors_method_allowed(st, S("PUT")));
    cr_assert_not(cors_method_allowed(st, S("get")));
    cr_assert_not(cors_method_allowed(st, S("")));
    cr_assert_not(cors_method_allowed(st, S("G T")));
    /* Field lists: names without case, spaces and empty elements skipped. */
    cr_assert(cors_headers_allowed(st, S("")));
    cr_assert(cors_headers_allowed(st, S("x-token")));
    cr_assert(cors_headers_allowed(st, S("content-type,x-token")));
    cr_assert(cors_headers_allowed(st, S(" x-token , content-type ,,")));
    cr_assert_not(cors_headers_allowed(st, S("x-token,x-other")));
    cr_assert_not(cors_headers_allowed(st, S("x-token x-other")));
    cr_assert_not(cors_headers_allowed(st, S("x-tok\"en")));
    zzz_router_destroy(router);

    st = cors_make(&router, NULL);
    cr_assert(st->any_origin);
    cr_assert_not(st->vary);
    cr_assert(cors_origin_allowed(st, S("https://anything.example")));
    cr_assert_not(cors_headers_allowed(st, S("x-token")));
    zzz_router_destroy(router);

    static const char *const any[] = {"*", NULL};
    static const char *const listed[] = {"https://a.example", NULL};
    st = cors_make(
        &router,
        &(zzz_cors_config){
            .origins = listed, .headers = any, .methods = any, .credentials = true, .max_age = -1});
    cr_assert(st->vary, "echoed origins vary");
    cr_assert(cors_headers_allowed(st, S("x-anything, y")));
    cr_assert(cors_method_allowed(st, S("PATCH")));
    cr_assert_str_eq(st->max_age, "");
    zzz_router_destroy(router);
}

Test(cors, config_refusals)
{
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    static const char *const empty[] = {NULL};
    static const char *const star_and_more[] = {"*", "https://a.example", NULL};
    static const char *const slash[] = {"https://a.example/", NULL};
    static const char *const bad_token[] = {"X Token", NULL};
    static const char *const ok[] = {"https://a.example", NULL};
    static const char *const star[] = {"*", NULL};
    zzz_cors_config cases[] = {
        {.origins = empty},    {.origins = star_and_more}, {.origins = slash},
        {.methods = empty},    {.methods = bad_token},     {.headers = bad_token},
        {.expose = bad_token}, {.headers = empty},
        /* credentials with any origin, or exposing "*" */
        {.credentials = true}, {.origins = star, .credentials = true},
        {.origins = ok, .expose = star, .credentials = true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(zzz_cors_layer(router, &cases[i], &layer, &user), -EINVAL, "case %zu", i);
    cr_assert_eq(zzz_cors_layer(router, &(zzz_cors_config){.origins = ok}, &layer, &user), 0);
    /* An origin of 2048 bytes, a name of 256: the limits, and one past. */
    static char origin[2100], name[300];
    const char *origins[] = {origin, NULL}, *names[] = {name, NULL};
    memcpy(origin, "https://", 8);
    memset(origin + 8, 'a', 2040);
    origin[2048] = '\0';
    memset(name, 'n', 256);
    name[256] = '\0';
    cr_assert_eq(zzz_cors_layer(router, &(zzz_cors_config){.origins = origins}, &layer, &user), 0);
    cr_assert_eq(zzz_cors_layer(router, &(zzz_cors_config){.headers = names}, &layer, &user), 0);
    origin[2048] = 'a';
    name[256] = 'n';
    cr_assert_eq(zzz_cors_layer(router, &(zzz_cors_config){.origins = origins}, &layer, &user),
                 -EINVAL);
    cr_assert_eq(zzz_cors_layer(router, &(zzz_cors_config){.headers = names}, &layer, &user),
                 -EINVAL);
    zzz_router_destroy(router);
}

/* ---- security headers and basic auth configs ------------------------------------ */

Test(security_headers, config)
{
    cr_assert(sh_referrer_ok("strict-origin-when-cross-origin"));
    cr_assert(sh_referrer_ok("no-referrer, strict-origin"));
    cr_assert(sh_referrer_ok("no-referrer,unsafe-url"));
    cr_assert_not(sh_referrer_ok("no-referrer,"));
    cr_assert_not(sh_referrer_ok("nope"));
    cr_assert_not(sh_referrer_ok("no-referrer strict-origin"));
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    char csp[5000];
    memset(csp, 'a', sizeof csp);
    csp[4096] = '\0';
    struct {
        zzz_security_headers_config cfg;
        int err;
    } cases[] = {
        {{.content_security_policy = csp}, 0},
        {{.frame_options = "sameorigin"}, 0},
        {{.frame_options = "ALLOW-FROM https://a.example"}, -EINVAL},
        {{.referrer_policy = "everything"}, -EINVAL},
        {{.content_security_policy = "default-src\n'self'"}, -EINVAL},
        {{.hsts_preload = true}, -EINVAL},
        {{.hsts_preload = true, .hsts_subdomains = true, .hsts_max_age = 31535999}, -EINVAL},
        {{.hsts_preload = true, .hsts_subdomains = true}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(zzz_security_headers_layer(router, &cases[i].cfg, &layer, &user), cases[i].err,
                     "case %zu", i);
    csp[4096] = 'a';
    csp[4097] = '\0';
    cr_assert_eq(
        zzz_security_headers_layer(
            router, &(zzz_security_headers_config){.content_security_policy = csp}, &layer, &user),
        -EINVAL);
    cr_assert_eq(zzz_security_headers_layer(router, NULL, &layer, &user), 0);
    const sh_state *st = user;
    cr_assert_str_eq(st->fields[SH_HSTS].text, "Strict-Transport-Security: max-age=31536000\r\n");
    cr_assert_eq(st->fields[SH_HSTS].name_len, 25);
    cr_assert_str_eq(st->fields[SH_FRAME].text, "X-Frame-Options: DENY\r\n");
    cr_assert_str_eq(st->fields[SH_REFERRER].text,
                     "Referrer-Policy: strict-origin-when-cross-origin\r\n");
    cr_assert_null(st->fields[SH_CSP].text);
    zzz_router_destroy(router);
}

static bool never(zzz_str user, zzz_str password, void *data)
{
    (void)user;
    (void)password;
    (void)data;
    return false;
}

Test(basic, config)
{
    zzz_router *router;
    cr_assert_eq(zzz_router_create(&router), 0);
    zzz_layer layer;
    void *user;
    char realm[256];
    memset(realm, 'r', sizeof realm);
    realm[200] = '\0';
    cr_assert_eq(zzz_basic_auth_layer(router,
                                      &(zzz_basic_auth_config){.check = never, .realm = realm},
                                      &layer, &user),
                 0);
    realm[200] = 'r';
    realm[201] = '\0';
    cr_assert_eq(zzz_basic_auth_layer(router,
                                      &(zzz_basic_auth_config){.check = never, .realm = realm},
                                      &layer, &user),
                 -EINVAL);
    const char *bad[] = {"a\"b", "a\\b", "a\tb", "a\nb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(zzz_basic_auth_layer(router,
                                          &(zzz_basic_auth_config){.check = never, .realm = bad[i]},
                                          &layer, &user),
                     -EINVAL);
    cr_assert_eq(zzz_basic_auth_layer(router, &(zzz_basic_auth_config){0}, &layer, &user), -EINVAL);
    cr_assert_eq(zzz_basic_auth_layer(router, NULL, &layer, &user), -EINVAL);
    cr_assert_eq(
        zzz_basic_auth_layer(router, &(zzz_basic_auth_config){.check = never}, &layer, &user), 0);
    cr_assert_str_eq(((ba_state *)user)->challenge,
                     "Basic realm=\"Restricted\", charset=\"UTF-8\"");
    zzz_router_destroy(router);
}
