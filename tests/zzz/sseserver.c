/* The HTTP server the server-sent events tests (sse_test.c) run as a
 * child process: event streams through zzz_sse.h behind a compression
 * layer, a handler that checks the API's refusals and reports them, and
 * /stats, which counts streams and how their waits ended. Prints
 * "listening on 127.0.0.1:PORT (driver D, N threads)" once it is up.
 *
 *   sseserver [--port N] [--threads N] [--drain-ms N]
 *             [--tls-cert FILE --tls-key FILE] */
#include <zzz.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Streams begun and ended, and how the waits of the ended ones ended. */
static atomic_uint started, finished, left, cancelled;

static uint64_t query_u64(zzz_req *req, const char *name, uint64_t fallback)
{
    zzz_str v;
    uint64_t n;
    if (zzz_req_query_param(req, name, &v) && zzz_str_to_u64(v, &n) == 0)
        return n;
    return fallback;
}

/* Counts how a stream ended; for a shutdown, says so in a last event
 * (which must still leave: the cancel was the wait's alone). */
static void stream_ended(zzz_sse *sse, int err)
{
    if (err == -EPIPE)
        atomic_fetch_add(&left, 1);
    if (err == -ECANCELED) {
        atomic_fetch_add(&cancelled, 1);
        zzz_sse_event ev = {.event = "end", .data = "ECANCELED"};
        zzz_sse_send(sse, &ev);
    }
    atomic_fetch_add(&finished, 1);
}

/* /events?n=N&gap=MS&hb=MS&then=MS: N events "event K" with ids that go
 * on from Last-Event-ID (echoed in X-Last-Event-ID), gap ms apart with
 * heartbeats every hb ms of quiet, then a wait of `then` ms; the stream
 * ends when the handler returns. */
static void events(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    uint64_t n = query_u64(req, "n", 3);
    uint32_t gap = (uint32_t)query_u64(req, "gap", 0);
    uint32_t hb = (uint32_t)query_u64(req, "hb", 0);
    uint32_t then = (uint32_t)query_u64(req, "then", 0);
    uint64_t id = 0;
    zzz_str last;
    if (zzz_sse_last_event_id(req, &last)) {
        zzz_res_header_str(res, (zzz_str){"X-Last-Event-ID", 15}, last);
        if (zzz_str_to_u64(last, &id) != 0)
            id = 1000;
    }
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) != 0)
        return;
    atomic_fetch_add(&started, 1);
    int err = 0;
    for (uint64_t i = 1; err == 0 && i <= n; i++) {
        char data[32], id_text[24];
        snprintf(data, sizeof data, "event %llu", (unsigned long long)i);
        snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)++id);
        zzz_sse_event ev = {.id = id_text, .data = data};
        err = zzz_sse_send(&sse, &ev);
        if (err == 0 && gap && i < n)
            err = zzz_sse_wait(&sse, gap, hb);
    }
    if (err == 0 && then)
        err = zzz_sse_wait(&sse, then, hb);
    stream_ended(&sse, err);
}

/* /forever?hb=MS: waits until the client leaves or the server stops,
 * with heartbeats every hb ms (0: the default, 15 s). */
static void forever(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    uint32_t hb = (uint32_t)query_u64(req, "hb", 0);
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) != 0)
        return;
    atomic_fetch_add(&started, 1);
    int err;
    while ((err = zzz_sse_wait(&sse, 60000, hb)) == 0) {
    }
    stream_ended(&sse, err);
}

/* /fields: every field, and data split at each kind of line end. */
static void fields(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) != 0)
        return;
    static const char binary[] = "nul\0inside";
    zzz_sse_event evs[] = {
        {.event = "tick", .id = "7", .retry_ms = 2500, .data = "one\r\ntwo\rthree\nfour"},
        {.data = "trailing\n"},
        {.data = "crlf at the end\r\n"},
        {.data = "\r\r\n\n"},
        {.data = ""},
        {.data = " leading space"},
        {.data = binary, .data_len = sizeof binary - 1},
        {.data = "just this", .data_len = 4},
        {.id = ""},
        {.retry_ms = 1},
        {.event = "only-type"},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (zzz_sse_send(&sse, &evs[i]) != 0)
            return;
    zzz_sse_comment(&sse, "a comment");
    zzz_sse_comment(&sse, NULL);
    zzz_sse_event last = {.data = "end"};
    zzz_sse_send(&sse, &last);
}

/* /big?size=N: one event of N bytes of data, lines of 99 letters (more
 * than the write buffer holds: the chunk leaves in pieces). */
static void big(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    size_t size = (size_t)query_u64(req, "size", 100000);
    char *data = malloc(size + 1);
    if (!data || size > 16 << 20) {
        free(data);
        zzz_res_text(res, 500, "size\n");
        return;
    }
    for (size_t i = 0; i < size; i++)
        data[i] = i % 100 == 99 ? '\n' : (char)('a' + i / 100 % 26);
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) == 0) {
        zzz_sse_event ev = {.event = "big", .data = data, .data_len = size};
        zzz_sse_send(&sse, &ev);
    }
    free(data);
}

/* Appends "name=got " to report when got is not want. */
static void check(char *report, size_t cap, const char *name, int got, int want)
{
    if (got == want)
        return;
    size_t len = strlen(report);
    snprintf(report + len, cap - len, "%s=%d(want %d) ", name, got, want);
}

/* /unit: the API's refusals, reported as one event: "ok", or what went
 * wrong. */
static void unit(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char report[1024] = "";
    zzz_sse sse;
    check(report, sizeof report, "start-null", zzz_sse_start(req, res, NULL), -EINVAL);
    check(report, sizeof report, "start", zzz_sse_start(req, res, &sse), 0);
    zzz_sse again;
    check(report, sizeof report, "start-again", zzz_sse_start(req, res, &again), -EALREADY);
    check(report, sizeof report, "again-send", zzz_sse_send(&again, &(zzz_sse_event){.data = "x"}),
          -EPIPE);
    check(report, sizeof report, "header-after", zzz_res_header(res, "X-Late", "1"), -EALREADY);
    struct {
        const char *name;
        zzz_sse_event ev;
        int want;
    } cases[] = {
        {"empty", {0}, -EINVAL},
        {"zero-retry", {.retry_ms = 0}, -EINVAL},
        {"event-lf", {.event = "a\nb", .data = "x"}, -EINVAL},
        {"event-cr", {.event = "a\rb", .data = "x"}, -EINVAL},
        {"event-end", {.event = "ab\r\n", .data = "x"}, -EINVAL},
        {"id-lf", {.id = "1\n"}, -EINVAL},
        {"id-cr", {.id = "\r1", .data = "x"}, -EINVAL},
        {"null-data-len", {.id = "1", .data_len = 3}, -EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(report, sizeof report, cases[i].name, zzz_sse_send(&sse, &cases[i].ev),
              cases[i].want);
    check(report, sizeof report, "send-null", zzz_sse_send(&sse, NULL), -EINVAL);
    check(report, sizeof report, "comment-lf", zzz_sse_comment(&sse, "a\nb"), -EINVAL);
    check(report, sizeof report, "comment-cr", zzz_sse_comment(&sse, "a\r"), -EINVAL);
    check(report, sizeof report, "wait-null", zzz_sse_wait(NULL, 1, 0), -EINVAL);
    /* A look without waiting, and a short wait: the client is there. */
    check(report, sizeof report, "wait-0", zzz_sse_wait(&sse, 0, 0), 0);
    check(report, sizeof report, "wait-1", zzz_sse_wait(&sse, 1, 0), 0);
    /* A deadline of the handler's own ends the wait with -ETIMEDOUT. */
    zzz_conn *conn = zzz_req_conn(req);
    zzz_conn_set_deadline(conn, tardy_now() + 5 * 1000000u);
    check(report, sizeof report, "wait-deadline", zzz_sse_wait(&sse, 60000, 0), -ETIMEDOUT);
    zzz_conn_set_deadline(conn, 0);
    check(report, sizeof report, "last-null", zzz_sse_last_event_id(NULL, NULL), false);
    zzz_sse_event ev = {.event = "unit", .data = report[0] ? report : "ok"};
    zzz_sse_send(&sse, &ev);
    /* An ended stream takes no more events. */
    check(report, sizeof report, "end", zzz_res_end(res), 0);
    if (zzz_sse_send(&sse, &ev) != -EPIPE)
        fprintf(stderr, "sseserver: a send after zzz_res_end was taken\n");
}

/* POST /busy: a body left unread refuses the stream. */
static void busy(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_sse sse;
    int err = zzz_sse_start(req, res, &sse);
    char text[64];
    snprintf(text, sizeof text, "start %d, send %d\n", err,
             zzz_sse_send(&sse, &(zzz_sse_event){.data = "x"}));
    zzz_res_text(res, 200, text);
}

/* GET /push: a pushed stream on topic "news", heartbeats every 200 ms. */
static zzz_server *the_server;
static atomic_uint pushed;

static void push(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) != 0)
        return;
    zzz_sse_push_opts opts = {.heartbeat_ms = 200, .max_queue = 64 * 1024};
    if (zzz_sse_push(&sse, "news", &opts) == 0)
        atomic_fetch_add(&pushed, 1);
}

/* GET /publish?data=TEXT: an event to every pushed stream; answers how
 * many threads it went to. */
static void publish(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str data = {"", 0};
    zzz_req_query_param(req, "data", &data);
    char text[4096];
    snprintf(text, sizeof text, "%.*s", (int)data.len, data.ptr);
    int n = zzz_sse_publish(the_server, "news",
                            &(zzz_sse_event){.event = "news", .data = text});
    snprintf(text, sizeof text, "published %d pushed %u\n", n, atomic_load(&pushed));
    zzz_res_text(res, 200, text);
}

static void stats(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    char text[128];
    snprintf(text, sizeof text, "started %u finished %u left %u cancelled %u\n",
             atomic_load(&started), atomic_load(&finished), atomic_load(&left),
             atomic_load(&cancelled));
    zzz_res_text(res, 200, text);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "sseserver: %s: %s (%s)\n", what, strerror(-err), zzz_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    /* A long drain: a stream that the shutdown did not end at once would
     * hold the exit far past the tests' patience. */
    zzz_http_config cfg = {
        .server = {.host = "127.0.0.1", .threads = 1, .drain_timeout_ms = 60000}};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i], *arg = argv[i + 1];
        if (strcmp(flag, "--port") == 0)
            cfg.server.port = (uint16_t)atoi(arg);
        else if (strcmp(flag, "--threads") == 0)
            cfg.server.threads = (unsigned)atoi(arg);
        else if (strcmp(flag, "--drain-ms") == 0)
            cfg.server.drain_timeout_ms = (uint32_t)atoi(arg);
        else if (strcmp(flag, "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(flag, "--tls-key") == 0)
            cert.key_file = arg;
        else
            return fail("unknown flag", -EINVAL);
    }
    if (cert.cert_file)
        cfg.server.tls = &tls;
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err)
        return fail("router", err);
    /* Compression over everything: it must leave the streams alone. */
    err = zzz_use_compression(router, "/", NULL);
    if (err == -ENOTSUP)
        err = 0;
    struct {
        const char *method, *pattern;
        zzz_handler handler;
    } routes[] = {
        {"GET", "/events", events}, {"GET", "/forever", forever}, {"GET", "/fields", fields},
        {"GET", "/unit", unit},     {"POST", "/busy", busy},      {"GET", "/stats", stats},
        {"GET", "/big", big},       {"GET", "/push", push},       {"GET", "/publish", publish},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, routes[i].method, routes[i].pattern, routes[i].handler, NULL);
    if (err) {
        zzz_router_destroy(router);
        return fail("routes", err);
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        zzz_router_destroy(router);
        return fail("server", err);
    }
    the_server = server;
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? fail("run", err) : 0;
}
