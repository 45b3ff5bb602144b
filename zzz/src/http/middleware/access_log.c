/* The access-log layer: a combined-format line per request, with its
 * duration and ID, kept in a buffer per thread and written in batches:
 * when the buffer fills, a while after a batch's first line (a watch on
 * the server's stop pipe with a deadline, holding no task), when the
 * server begins to stop, and when the thread stops. */
#include "layer.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AL_DEFAULT_BUFFER ((size_t)64 * 1024)
#define AL_MAX_BUFFER ((size_t)64 * 1024 * 1024)
#define AL_DEFAULT_FLUSH_MS 1000u
#define AL_DEFAULT_FIELD ((size_t)1024)
#define AL_MIN_FIELD ((size_t)16)
#define AL_MAX_FIELD ((size_t)65536)
/* A line's bytes beyond its five cut fields: address, date, status,
 * bytes, duration, quotes and spaces. */
#define AL_LINE_FIXED 256
/* How long a write to a descriptor that is full (a non-blocking pipe)
 * waits for room before its batch is dropped. */
#define AL_WRITE_WAIT_MS 1000

typedef struct al_state {
    int fd;
    bool own_fd;
    bool pipe; /* write whole lines in pieces of at most PIPE_BUF */
    size_t buffer_bytes;
    size_t field_max;
    size_t line_max; /* 5 * field_max + AL_LINE_FIXED */
    uint64_t flush_ns;
} al_state;

/* What each thread keeps for one access-log layer. */
typedef struct al_thread {
    const al_state *state;
    char *buf;
    size_t len;
    bool armed;   /* the flush watch is pending */
    bool stopped; /* the server is stopping: no more watches */
    uint64_t dropped; /* lines a full pipe refused, not yet owned up to */
    tardy_watch watch;
    time_t date_sec; /* the second `date` spells */
    char date[40];
    size_t date_len;
} al_thread;

static void al_state_free(void *p)
{
    al_state *st = p;
    if (st->own_fd)
        close(st->fd);
    free(st);
}

/* ---- writing ----------------------------------------------------------------- */

/* Writes len bytes of whole lines; on an error, or a pipe that is full
 * (its reader behind), the rest of the batch is dropped: a log must not
 * stop the server. Only at the thread's stop (`wait`) does a full pipe
 * get a while to drain. A plain write(2): the lines are in memory, and a
 * write to a file lands in the page cache, as servers' logs always have.
 * Returns the bytes not written. */
static size_t al_write(const al_state *st, const char *p, size_t len, bool wait)
{
    while (len > 0) {
        size_t n = len;
        if (st->pipe && n > PIPE_BUF) {
            /* Up to PIPE_BUF bytes go into a pipe at once or not at all,
             * so other threads' lines never land inside these. */
            const char *cut = p + PIPE_BUF;
            while (cut > p && cut[-1] != '\n')
                cut--;
            if (cut == p) { /* one line longer than that: whole */
                const char *eol = memchr(p, '\n', len);
                cut = eol ? eol + 1 : p + len;
            }
            n = (size_t)(cut - p);
        }
        ssize_t w = write(st->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN && wait) {
            struct pollfd pfd = {.fd = st->fd, .events = POLLOUT};
            if (poll(&pfd, 1, AL_WRITE_WAIT_MS) > 0)
                continue;
        }
        if (w <= 0)
            return len;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void al_flush(al_thread *t, bool wait)
{
    if (t->len == 0)
        return;
    /* Lines dropped before are owned up to first. */
    if (t->dropped > 0) {
        char note[96];
        int n = snprintf(note, sizeof note,
                         "# access log: %llu lines dropped (the log's reader fell behind)\n",
                         (unsigned long long)t->dropped);
        if (al_write(t->state, note, (size_t)n, wait) == 0)
            t->dropped = 0;
    }
    size_t left = al_write(t->state, t->buf, t->len, wait);
    for (const char *p = t->buf + t->len - left; p < t->buf + t->len; p++)
        t->dropped += *p == '\n';
    t->len = 0;
}

/* The watch's task: the batch's time has come, or the server is
 * stopping (the stop pipe is readable). */
static void al_timer(void *arg)
{
    al_thread *t = arg;
    t->armed = false;
    /* The pipe stays readable: once it is (or once the watch fails for
     * a reason of its own, which would fail again at once), watch it no
     * more; full buffers and the thread's stop write the rest. */
    if (tardy_watch_result(&t->watch) != -ETIMEDOUT)
        t->stopped = true;
    al_flush(t, false);
}

static void *al_thread_make(const void *key)
{
    const al_state *st = key;
    al_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->buf = malloc(st->buffer_bytes);
    if (!t->buf) {
        free(t);
        return NULL;
    }
    t->state = st;
    t->date_sec = -1;
    return t;
}

/* At the thread's stop, after its runtime has ended (no watch pending):
 * what is left is written now. */
static void al_thread_free(void *p)
{
    al_thread *t = p;
    al_flush(t, true);
    free(t->buf);
    free(t);
}

/* ---- a line -------------------------------------------------------------------- */

/* The length of byte c escaped: '"' and '\\' take a backslash, control
 * bytes and those past 0x7E are \xHH. */
static size_t al_escape_len(unsigned char c)
{
    if (c == '"' || c == '\\')
        return 2;
    return c < 0x20 || c > 0x7e ? 4 : 1;
}

/* Writes byte c escaped at out; returns its length. */
static size_t al_escape_byte(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = al_escape_len(c);
    if (len == 1) {
        out[0] = (char)c;
    } else if (len == 2) {
        out[0] = '\\';
        out[1] = (char)c;
    } else {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
    }
    return len;
}

/* Writes the parts, one after the other, escaped, at out: at most max
 * bytes (max >= 16); when they do not fit, as many whole escapes as fit
 * in max - 3, then "...". Returns the bytes written. */
static size_t al_escape(char *out, size_t max, const zzz_str *parts, int count)
{
    size_t raw = 0, need = 0;
    for (int i = 0; i < count; i++) {
        raw += parts[i].len;
        for (size_t k = 0; k < parts[i].len; k++)
            need += al_escape_len((unsigned char)parts[i].ptr[k]);
    }
    size_t n = 0;
    if (need == raw && need <= max) { /* the usual case: nothing to escape */
        for (int i = 0; i < count; i++) {
            if (parts[i].len)
                memcpy(out + n, parts[i].ptr, parts[i].len);
            n += parts[i].len;
        }
        return n;
    }
    size_t room = need <= max ? max : max - 3;
    for (int i = 0; i < count; i++) {
        for (size_t k = 0; k < parts[i].len; k++) {
            unsigned char c = (unsigned char)parts[i].ptr[k];
            if (n + al_escape_len(c) > room)
                goto cut;
            n += al_escape_byte(c, out + n);
        }
    }
    return n;
cut:
    memcpy(out + n, "...", 3);
    return n + 3;
}

/* A field, escaped, or "-" when it is empty. */
static size_t al_field(char *out, size_t max, zzz_str s)
{
    if (s.len == 0) {
        out[0] = '-';
        return 1;
    }
    return al_escape(out, max, &s, 1);
}

static char *al_uint(char *p, uint64_t v, int min_digits)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n)
        *p++ = digits[--n];
    return p;
}

/* "[10/Oct/2000:13:55:36 +0000]", spelled once a second per thread, by
 * hand: strftime's month names follow the locale. */
static const char *al_date(al_thread *t, size_t *len)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    time_t now = time(NULL);
    if (now != t->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        char *p = t->date;
        *p++ = '[';
        p = al_uint(p, (uint64_t)tm.tm_mday, 2);
        *p++ = '/';
        memcpy(p, months + 3 * tm.tm_mon, 3);
        p += 3;
        *p++ = '/';
        p = al_uint(p, (uint64_t)tm.tm_year + 1900, 4);
        *p++ = ':';
        p = al_uint(p, (uint64_t)tm.tm_hour, 2);
        *p++ = ':';
        p = al_uint(p, (uint64_t)tm.tm_min, 2);
        *p++ = ':';
        p = al_uint(p, (uint64_t)tm.tm_sec, 2);
        memcpy(p, " +0000]", 7);
        t->date_len = (size_t)(p + 7 - t->date);
        t->date_sec = now;
    }
    *len = t->date_len;
    return t->date;
}

/* The peer's address as text, "-" when it has none (a Unix socket). */
static size_t al_host(zzz_req *req, char *out)
{
    const struct sockaddr *sa = zzz_req_peer(req, NULL);
    const void *addr = NULL;
    int family = sa->sa_family;
    if (family == AF_INET) {
        addr = &((const struct sockaddr_in *)sa)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        addr = a6;
        /* An IPv4 client of a socket bound to "::": its IPv4 address. */
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            addr = a6->s6_addr + 12;
            family = AF_INET;
        }
    }
    if (!addr || !inet_ntop(family, addr, out, INET6_ADDRSTRLEN)) {
        out[0] = '-';
        return 1;
    }
    return strlen(out);
}

static uint64_t al_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The status and body bytes that leave. A request body that fails after
 * the handler is answered by the connection loop once the chain is done
 * (zzz_layer): its settling is done here first, as the loop will, so the
 * line names the answer the client gets. */
static void al_outcome(zzz_req *req, zzz_res *res, int *status, uint64_t *bytes)
{
    *status = zzz_res_status_code(res);
    *bytes = res->head_only ? 0 : zzz_res_body_bytes(res);
    if (res->taken_over)
        return;
    int body = zzz_http_req_settle_body(req);
    if (body >= 0 || body == -EAGAIN)
        return;
    if (body == -ECONNRESET || body == -EPIPE) {
        *status = 499; /* the client left: nothing is sent (nginx's code) */
        *bytes = 0;
        return;
    }
    /* An answer that has begun to leave cannot be taken back: it is cut. */
    if (zzz_conn_sent(req->conn) != res->mark_sent)
        return;
    *status = body == -E2BIG ? 413 : body == -ETIMEDOUT ? 408 : body == -ENOBUFS ? 503 : 400;
    *bytes = strlen(zzz_status_reason(*status)) + 1;
}

/* What the line takes from the request head, copied at the start (cut
 * to one byte past what the line shows, so a cut still shows): a handler
 * that takes the connection over gives the head up. */
typedef struct al_request {
    zzz_str method, target, referer, agent;
    bool copied;
} al_request;

static zzz_str al_keep(zzz_str s, size_t max, char **to)
{
    size_t len = s.len < max + 1 ? s.len : max + 1;
    if (*to && len) {
        memcpy(*to, s.ptr, len);
        s.ptr = *to;
        *to += len;
    }
    s.len = len;
    return s;
}

static void al_save(zzz_req *req, size_t max, al_request *r)
{
    zzz_str referer = {"", 0}, agent = {"", 0};
    zzz_req_header(req, "Referer", &referer);
    zzz_req_header(req, "User-Agent", &agent);
    zzz_str method = zzz_req_method(req), target = zzz_req_target(req);
    size_t need = method.len + target.len + referer.len + agent.len;
    char *to = need ? zzz_alloc(req, need < 4 * (max + 1) ? need : 4 * (max + 1)) : NULL;
    /* Without memory left, the head's own strings, while they last. */
    r->copied = to || !need;
    r->method = al_keep(method, max, &to);
    r->target = al_keep(target, max, &to);
    r->referer = al_keep(referer, max, &to);
    r->agent = al_keep(agent, max, &to);
}

/* Appends the line to the thread's buffer (which has room for it). It
 * must not wait: other tasks of the thread append too. */
static void al_compose(al_thread *t, zzz_req *req, const al_request *r, int status, uint64_t bytes,
                       uint64_t elapsed_ns)
{
    const al_state *st = t->state;
    char *p = t->buf + t->len;
    size_t max = st->field_max;
    p += al_host(req, p);
    memcpy(p, " - ", 3);
    p += 3;
    p += al_field(p, max, zzz_basic_auth_user(req));
    *p++ = ' ';
    size_t date_len;
    const char *date = al_date(t, &date_len);
    memcpy(p, date, date_len);
    p += date_len;
    memcpy(p, " \"", 2);
    p += 2;
    zzz_str line[5] = {
        r->method, {" ", 1}, r->target, {" HTTP/1.", 8}, {zzz_req_version(req) ? "1" : "0", 1}};
    p += al_escape(p, max, line, 5);
    memcpy(p, "\" ", 2);
    p += 2;
    p = al_uint(p, (uint64_t)status, 1);
    *p++ = ' ';
    p = al_uint(p, bytes, 1);
    memcpy(p, " \"", 2);
    p += 2;
    p += al_field(p, max, r->referer);
    memcpy(p, "\" \"", 3);
    p += 3;
    p += al_field(p, max, r->agent);
    memcpy(p, "\" ", 2);
    p += 2;
    p = al_uint(p, elapsed_ns / 1000000000u, 1);
    *p++ = '.';
    p = al_uint(p, elapsed_ns / 1000u % 1000000u, 6);
    *p++ = ' ';
    p += al_field(p, max, zzz_request_id(req));
    *p++ = '\n';
    t->len = (size_t)(p - t->buf);
}

static void al_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    const al_state *st = user;
    al_request r;
    al_save(req, st->field_max, &r);
    uint64_t start = al_clock_ns();
    zzz_next_run(next);
    uint64_t elapsed = al_clock_ns() - start;
    /* Settling the body may read (a task switch on some drivers): done
     * before the line is begun. */
    int status;
    uint64_t bytes;
    al_outcome(req, res, &status, &bytes);
    al_thread *t = zzz_http_thread_local(req->conn, st, al_thread_make, al_thread_free);
    if (!t)
        return; /* no memory for this thread's buffer: not logged */
    if (st->buffer_bytes - t->len < st->line_max)
        al_flush(t, false);
    if (res->taken_over && !r.copied)
        r = (al_request){{"-", 1}, {"", 0}, {"", 0}, {"", 0}, false};
    al_compose(t, req, &r, status, bytes, elapsed);
    if (!t->armed && !t->stopped) {
        int stop_fd = zzz_server_stop_fd(zzz_conn_server(req->conn));
        memset(&t->watch, 0, sizeof t->watch);
        t->armed = tardy_watch_start(&t->watch, stop_fd, POLLIN, tardy_now() + st->flush_ns,
                                     al_timer, t) == 0;
        if (!t->armed)
            al_flush(t, false); /* no timer: the line must not wait for one */
    }
}

/* ---- making it --------------------------------------------------------------------- */

int zzz_access_log_layer(zzz_router *router, const zzz_access_log_config *cfg, zzz_layer *layer,
                         void **user)
{
    static const zzz_access_log_config defaults;
    if (!router || !layer || !user)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    size_t field = cfg->field_max ? cfg->field_max : AL_DEFAULT_FIELD;
    size_t buffer = cfg->buffer_bytes ? cfg->buffer_bytes : AL_DEFAULT_BUFFER;
    if (field < AL_MIN_FIELD || field > AL_MAX_FIELD || buffer > AL_MAX_BUFFER ||
        buffer < 5 * field + AL_LINE_FIXED || cfg->fd < 0)
        return -EINVAL;
    al_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->field_max = field;
    st->line_max = 5 * field + AL_LINE_FIXED;
    st->buffer_bytes = buffer;
    st->flush_ns = (uint64_t)(cfg->flush_ms ? cfg->flush_ms : AL_DEFAULT_FLUSH_MS) * 1000000u;
    if (cfg->path) {
        st->fd = open(cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (st->fd < 0) {
            int err = -errno;
            free(st);
            return err;
        }
        st->own_fd = true;
    } else {
        st->fd = cfg->fd ? cfg->fd : STDOUT_FILENO;
    }
    struct stat sb;
    st->pipe = fstat(st->fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode));
    if (st->pipe) {
        /* Lines of PIPE_BUF bytes or less go into a pipe whole, so other
         * threads' never land inside them: the fields are cut to fit. */
        if (st->line_max > PIPE_BUF) {
            st->field_max = (PIPE_BUF - AL_LINE_FIXED) / 5;
            st->line_max = 5 * st->field_max + AL_LINE_FIXED;
        }
        /* A pipe of its own that never blocks (a full one drops the
         * batch rather than stop the thread), without changing the
         * caller's descriptor; a socket, which cannot be reopened so,
         * stays as it is. */
        if (!st->own_fd) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", st->fd);
            int fd = S_ISFIFO(sb.st_mode) ? open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1;
            if (fd >= 0) {
                st->fd = fd;
                st->own_fd = true;
            }
        }
    }
    return zzz_http_layer_make(router, al_layer, st, al_state_free, layer, user);
}

int zzz_use_access_log(zzz_router *router, const char *prefix, const zzz_access_log_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_access_log_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
