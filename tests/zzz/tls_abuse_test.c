/* TLS abuse against the test server: garbage, truncated and oversized
 * records inside an established session, renegotiation (asked properly,
 * and a raw ClientHello inside the session), a whole handshake sent a
 * byte at a time, and handshakes left half done at each step. Each
 * hostile connection is closed cleanly (at most alert records before the
 * close), within the configured handshake timeout where the client
 * stalls, while a kept-alive connection beside it goes on being served.
 * The time to each close is printed. OpenSSL's libssl is the client,
 * over memory BIOs where the test needs to hold back or alter records.
 * (tls_test.c has the hostile input before any handshake.) */
#include "harness.h"

#include <openssl/bio.h>

TestSuite(tls_abuse, .fini = harness_cleanup, .timeout = 120);

/* The server's handshake timeout for these tests (also the time a record
 * begun inside a session has to arrive whole). Its header timeout is
 * longer, to tell the two apart. */
#define HS_MS 500

static void start(server *s)
{
    server_start(s, binary_path("ZZZ_TESTSERVER"),
                 (const char *const[]){"--handshake-timeout-ms", "500", "--header-timeout-ms",
                                       "3000", NULL});
}

/* The connection that must not be disturbed: one request on it. */
static void expect_kept_served(client *kept, const char *what)
{
    client_send_str(kept, "GET /users/4 HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    int err = client_read_response_ex(kept, &r, false);
    cr_assert_eq(err, 0, "%s: the kept connection is no longer served (%s)", what,
                 harness_tls_error);
    expect_status(&r, 200);
    expect_body(&r, "user 4\n");
    response_free(&r);
}

/* Are the bytes nothing but whole alert records (plain, or encrypted
 * inside a session: short either way)? */
static bool only_alerts(const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (len < 5 || p[0] != 0x15 || p[1] != 0x03)
            return false;
        size_t rec = 5 + (((size_t)p[3] << 8) | p[4]);
        if (rec > len || rec > 5 + 64)
            return false;
        p += rec;
        len -= rec;
    }
    return true;
}

/* Reads the raw socket until the server closes it, for at most ms.
 * Returns the milliseconds from `since` to the close, or -1 when still
 * open; the bytes it got go to buf (at most cap; *got). */
static long raw_wait_close(int fd, uint64_t since, unsigned ms, uint8_t *buf, size_t cap,
                           size_t *got)
{
    *got = 0;
    uint64_t give_up = now_ms() + ms;
    for (;;) {
        if (!harness_wait_fd(fd, POLLIN, give_up))
            return -1;
        uint8_t tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return (long)(now_ms() - since); /* FIN or reset */
        size_t k = (size_t)n < cap - *got ? (size_t)n : cap - *got;
        memcpy(buf + *got, tmp, k);
        *got += k;
    }
}

/* The server closes fd within bound_ms of `since`, sending at most
 * alerts; prints and returns the time it took. */
static long expect_closed_ex(int fd, uint64_t since, unsigned bound_ms, const char *what,
                             bool alerts_only)
{
    uint8_t buf[16384];
    size_t got;
    long took = raw_wait_close(fd, since, HANG_GUARD_MS, buf, sizeof buf, &got);
    cr_assert(took >= 0, "%s: still open after %d ms", what, HANG_GUARD_MS);
    cr_assert(!alerts_only || only_alerts(buf, got),
              "%s: %zu bytes that are not alerts before the close", what, got);
    fprintf(stderr, "tls-abuse: %-52s closed after %4ld ms (%zu bytes %s)\n", what, took, got,
            alerts_only ? "of alerts" : "unread");
    cr_assert(took <= (long)bound_ms, "%s: closed after %ld ms, bound %u", what, took, bound_ms);
    return took;
}

static long expect_closed(int fd, uint64_t since, unsigned bound_ms, const char *what)
{
    return expect_closed_ex(fd, since, bound_ms, what, true);
}

/* A session (handshake done, one request answered) whose socket the
 * test then writes raw bytes to. */
static void open_session(client *c, uint16_t port)
{
    client_open(c, port);
    client_send_str(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    client_response(c, &r);
    expect_status(&r, 200);
    response_free(&r);
}

static void raw_send(int fd, const void *data, size_t len, const char *what)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        /* the server may close before it has read everything */
        if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
            return;
        cr_assert(n > 0, "%s: send: %s", what, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* A record header and `len` bytes of noise after it, in one buffer. */
static uint8_t *record(uint8_t type, uint16_t version, size_t len, size_t *total)
{
    *total = 5 + len;
    uint8_t *r = (uint8_t *)harness_random_bytes(*total, len * 31 + type);
    r[0] = type;
    r[1] = (uint8_t)(version >> 8);
    r[2] = (uint8_t)version;
    r[3] = (uint8_t)(len >> 8);
    r[4] = (uint8_t)len;
    return r;
}

/* One hostile record (its first `send` bytes) inside a fresh session.
 * half_close: a FIN follows; stall: nothing follows (the server must
 * time out). */
static long abuse_session(uint16_t port, client *kept, uint8_t type, uint16_t version,
                          size_t len, size_t send_len, bool half_close, unsigned bound,
                          const char *what)
{
    client c;
    open_session(&c, port);
    size_t total;
    uint8_t *rec = record(type, version, len, &total);
    if (send_len > total)
        send_len = total;
    uint64_t t0 = now_ms();
    raw_send(c.fd, rec, send_len, what);
    free(rec);
    if (half_close)
        shutdown(c.fd, SHUT_WR);
    long took = expect_closed(c.fd, t0, bound, what);
    SSL_free(c.ssl); /* no close_notify on a session the server dropped */
    c.ssl = NULL;
    client_close(&c);
    expect_kept_served(kept, what);
    return took;
}

/* ---- inside a session --------------------------------------------------------- */

Test(tls_abuse, garbage_records_in_a_session)
{
    server s;
    start(&s);
    client kept;
    open_session(&kept, s.port);
    /* closed on sight: no timeout involved */
    abuse_session(s.port, &kept, 0x17, 0x0303, 200, SIZE_MAX, false, 3000,
                  "application data that fails its MAC");
    abuse_session(s.port, &kept, 0x17, 0x0303, 24, SIZE_MAX, false, 3000,
                  "application data shorter than an AEAD tag");
    abuse_session(s.port, &kept, 0x42, 0x0303, 64, SIZE_MAX, false, 3000,
                  "an unknown record type (0x42)");
    abuse_session(s.port, &kept, 0x17, 0x0300, 64, SIZE_MAX, false, 3000,
                  "a record of version SSL 3.0");
    abuse_session(s.port, &kept, 0x15, 0x0303, 2, SIZE_MAX, false, 3000,
                  "a plaintext alert after the keys changed");
    abuse_session(s.port, &kept, 0x14, 0x0303, 1, SIZE_MAX, false, 3000,
                  "a second ChangeCipherSpec");
    abuse_session(s.port, &kept, 0xff, 0xffff, 1000, SIZE_MAX, false, 3000,
                  "1005 bytes of noise");
    client_close(&kept);
    server_stop(&s);
}

Test(tls_abuse, truncated_records_in_a_session)
{
    server s;
    start(&s);
    client kept;
    open_session(&kept, s.port);
    /* the end of the stream in the middle of a record */
    abuse_session(s.port, &kept, 0x17, 0x0303, 1000, 3, true, 3000,
                  "3 bytes of a record header, then a FIN");
    abuse_session(s.port, &kept, 0x17, 0x0303, 1000, 100, true, 3000,
                  "100 of a 1005-byte record, then a FIN");
    /* a stall in the middle of a record: it gives the protocol no byte
     * (its header timeout never starts), so the record itself must be
     * whole within the handshake timeout of its first byte */
    long a = abuse_session(s.port, &kept, 0x17, 0x0303, 1000, 3, false, 5000,
                           "3 bytes of a record header, then silence");
    long b = abuse_session(s.port, &kept, 0x17, 0x0303, 1000, 100, false, 5000,
                           "100 of a 1005-byte record, then silence");
    cr_assert(a >= HS_MS / 2 && b >= HS_MS / 2,
              "a stalled record was cut before the handshake timeout (%ld, %ld ms)", a, b);
    client_close(&kept);
    server_stop(&s);
}

/* TLS 1.2 allows ciphertext of at most 2^14 + 2048 bytes in a record. */
#define TLS_MAX_CIPHERTEXT (16384 + 2048)

Test(tls_abuse, oversized_records)
{
    server s;
    start(&s);
    client kept;
    open_session(&kept, s.port);
    abuse_session(s.port, &kept, 0x17, 0x0303, TLS_MAX_CIPHERTEXT + 1, SIZE_MAX, false, 3000,
                  "a record of 2^14+2048+1 bytes in a session");
    abuse_session(s.port, &kept, 0x17, 0x0303, 65535, SIZE_MAX, false, 3000,
                  "a record of 65535 bytes in a session");
    /* the header alone is enough to refuse it */
    abuse_session(s.port, &kept, 0x17, 0x0303, 65535, 5, false, 3000,
                  "the header of a 65535-byte record, alone");
    /* before any handshake */
    size_t total;
    uint8_t *rec = record(0x16, 0x0301, TLS_MAX_CIPHERTEXT + 1, &total);
    rec[5] = 0x01;
    int fd = tcp_connect_fd(s.port);
    cr_assert(fd >= 0);
    uint64_t t0 = now_ms();
    raw_send(fd, rec, total, "oversized ClientHello");
    expect_closed(fd, t0, 3000, "a ClientHello record of 2^14+2048+1 bytes");
    close(fd);
    free(rec);
    expect_kept_served(&kept, "an oversized ClientHello");
    client_close(&kept);
    server_stop(&s);
}

/* ---- renegotiation -------------------------------------------------------------- */

/* The server never renegotiates (BearSSL: BR_OPT_NO_RENEGOTIATION). A
 * client that asks, through libssl, gets a refusal (the
 * no_renegotiation alert: libssl then fails the connection), never a
 * second handshake; a raw ClientHello in plaintext inside the session
 * fails its MAC and is closed at once. */
Test(tls_abuse, renegotiation_refused)
{
    server s;
    start(&s);
    client kept;
    open_session(&kept, s.port);

    for (int round = 0; round < 3; round++) {
        client c;
        open_session(&c, s.port);
        cr_assert_eq(SSL_renegotiate(c.ssl), 1);
        uint64_t t0 = now_ms();
        uint64_t give_up = t0 + HANG_GUARD_MS;
        int r, e;
        bool renegotiated = false;
        for (;;) {
            ERR_clear_error();
            r = SSL_do_handshake(c.ssl);
            if (r == 1) {
                /* sent; the answer comes with the next read */
                char buf[256];
                r = SSL_read(c.ssl, buf, sizeof buf);
                if (r > 0)
                    continue;
            }
            e = SSL_get_error(c.ssl, r);
            if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
                harness_wait_fd(c.fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, give_up))
                continue;
            break;
        }
        renegotiated = SSL_renegotiate_pending(c.ssl) == 0 && r > 0;
        char detail[256];
        ERR_error_string_n(ERR_peek_error(), detail, sizeof detail);
        ERR_clear_error();
        cr_assert(!renegotiated, "the server renegotiated");
        long took = (long)(now_ms() - t0);
        fprintf(stderr, "tls-abuse: %-52s refused after %4ld ms (%s)\n",
                "SSL_renegotiate in a session", took, detail);
        /* whatever libssl made of the refusal, the server ends the
         * connection or stays usable; it is not left hanging */
        size_t got;
        uint8_t buf[4096];
        long closed = raw_wait_close(c.fd, t0, 3000, buf, sizeof buf, &got);
        fprintf(stderr, "tls-abuse: %-52s %s %ld ms\n", "  ... and the connection",
                closed >= 0 ? "closed after" : "still open after", closed >= 0 ? closed : 3000L);
        SSL_free(c.ssl);
        c.ssl = NULL;
        client_close(&c);
        expect_kept_served(&kept, "a renegotiation");
    }

    /* a plaintext ClientHello inside the session */
    client c;
    open_session(&c, s.port);
    size_t total;
    uint8_t *rec = record(0x16, 0x0303, 120, &total);
    rec[5] = 0x01;
    rec[6] = 0;
    rec[7] = 0;
    rec[8] = 116;
    rec[9] = 0x03;
    rec[10] = 0x03;
    uint64_t t0 = now_ms();
    raw_send(c.fd, rec, total, "ClientHello in session");
    free(rec);
    expect_closed(c.fd, t0, 3000, "a plaintext ClientHello inside the session");
    SSL_free(c.ssl);
    c.ssl = NULL;
    client_close(&c);
    expect_kept_served(&kept, "a ClientHello inside the session");
    client_close(&kept);
    server_stop(&s);
}

/* ---- handshakes through memory BIOs --------------------------------------------- */

/* A libssl client whose records pass through the test: what it writes
 * lands in `out` for the test to send (or not), what the server sends is
 * fed into `in`. */
typedef struct mclient {
    int fd;
    SSL *ssl;
    BIO *in, *out;
} mclient;

static void mclient_open(mclient *m, uint16_t port)
{
    m->fd = tcp_connect_fd(port);
    cr_assert(m->fd >= 0);
    m->ssl = SSL_new(harness_tls_ctx());
    cr_assert(m->ssl);
    m->in = BIO_new(BIO_s_mem());
    m->out = BIO_new(BIO_s_mem());
    cr_assert(m->in && m->out);
    SSL_set_bio(m->ssl, m->in, m->out); /* the SSL owns both now */
    SSL_set_tlsext_host_name(m->ssl, "localhost");
    SSL_set1_host(m->ssl, "localhost");
    SSL_set_connect_state(m->ssl);
}

static void mclient_close(mclient *m)
{
    SSL_free(m->ssl);
    close(m->fd);
}

/* What libssl has written and not yet taken, into buf; its length. */
static size_t mclient_take(mclient *m, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        int r = BIO_read(m->out, buf + n, (int)(cap - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

/* Reads what the server sends (waiting at most ms for the first bytes)
 * into libssl; false at the end of the stream or a timeout. */
static bool mclient_feed(mclient *m, unsigned ms)
{
    if (!harness_wait_fd(m->fd, POLLIN, now_ms() + ms))
        return false;
    uint8_t buf[16384];
    ssize_t n = recv(m->fd, buf, sizeof buf, 0);
    if (n <= 0)
        return false;
    cr_assert_eq(BIO_write(m->in, buf, (int)n), (int)n);
    return true;
}

/* Drives the handshake until libssl has a flight to send (or is done),
 * returning that flight. */
static size_t mclient_next_flight(mclient *m, uint8_t *buf, size_t cap, int *done)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(m->ssl);
        *done = r == 1;
        size_t n = mclient_take(m, buf, cap);
        if (n > 0 || r == 1)
            return n;
        int e = SSL_get_error(m->ssl, r);
        cr_assert_eq(e, SSL_ERROR_WANT_READ, "handshake failed: %d", e);
        cr_assert(now_ms() < give_up && mclient_feed(m, HANG_GUARD_MS),
                  "the server stopped answering the handshake");
    }
}

/* Sends bytes one send() each, a short pause between them, so that the
 * server reads them split (TCP_NODELAY is on). */
static void send_bytewise(int fd, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        raw_send(fd, p + i, 1, "byte");
        if (i % 8 == 7)
            sleep_ms(1);
    }
}

/* Every byte of every client flight sent alone: the handshake completes
 * and a request goes through (the server keeps partial records across
 * reads). The handshake timeout is raised for it: a few hundred bytes at
 * a millisecond per eight take a while on a loaded machine. */
Test(tls_abuse, client_hello_split_byte_by_byte)
{
    server s;
    server_start(&s, binary_path("ZZZ_TESTSERVER"),
                 (const char *const[]){"--handshake-timeout-ms", "8000", NULL});
    mclient m;
    mclient_open(&m, s.port);
    uint64_t t0 = now_ms();
    uint8_t flight[16384];
    int done = 0;
    size_t bytes = 0;
    unsigned flights = 0;
    while (!done) {
        size_t n = mclient_next_flight(&m, flight, sizeof flight, &done);
        send_bytewise(m.fd, flight, n);
        bytes += n;
        flights += n > 0;
    }
    long hs = (long)(now_ms() - t0);
    const char *req = "GET /users/8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_eq(SSL_write(m.ssl, req, (int)strlen(req)), (int)strlen(req));
    size_t n = mclient_take(&m, flight, sizeof flight);
    send_bytewise(m.fd, flight, n);
    char answer[4096];
    size_t alen = 0;
    while (alen < sizeof answer - 1) {
        int r = SSL_read(m.ssl, answer + alen, (int)(sizeof answer - 1 - alen));
        if (r > 0) {
            alen += (size_t)r;
            continue;
        }
        if (SSL_get_error(m.ssl, r) != SSL_ERROR_WANT_READ || !mclient_feed(&m, HANG_GUARD_MS))
            break;
    }
    answer[alen] = '\0';
    cr_assert(strstr(answer, "HTTP/1.1 200") && strstr(answer, "user 8\n"), "answer: %s",
              answer);
    fprintf(stderr, "tls-abuse: handshake of %zu client bytes in %u flights, a byte per send: "
                    "%ld ms\n",
            bytes, flights, hs);
    mclient_close(&m);
    server_stop(&s);
}

/* The length of the first n records of buf (whole records only). */
static size_t records_prefix(const uint8_t *buf, size_t len, size_t *count)
{
    size_t off = 0, k = 0;
    while (off + 5 <= len) {
        size_t rec = 5 + (((size_t)buf[off + 3] << 8) | buf[off + 4]);
        if (off + rec > len)
            break;
        off += rec;
        k++;
    }
    *count = k;
    return off;
}

/* Handshakes left half done, each while the kept connection is served:
 * the client stops after its ClientHello, after reading the server's
 * whole flight, and after its key exchange and ChangeCipherSpec without
 * the Finished; each is closed at the handshake timeout (HS_MS, counted
 * from the first byte). A Finished that is noise is closed at once. */
Test(tls_abuse, handshakes_left_half_done)
{
    server s;
    start(&s);
    client kept;
    open_session(&kept, s.port);
    for (int step = 0; step < 4; step++) {
        mclient m;
        mclient_open(&m, s.port);
        uint8_t flight[16384];
        int done;
        uint64_t t0 = now_ms();
        size_t n = mclient_next_flight(&m, flight, sizeof flight, &done);
        raw_send(m.fd, flight, n, "ClientHello");
        const char *what = "stopped after the ClientHello";
        unsigned bound = 5000;
        if (step >= 1) {
            /* the server's flight, read whole by libssl, which answers */
            n = mclient_next_flight(&m, flight, sizeof flight, &done);
            what = "stopped after reading the server's flight";
        }
        if (step >= 2) {
            size_t count;
            cr_assert_eq(records_prefix(flight, n, &count), n, "a flight of partial records");
            cr_assert(count >= 2, "the client's second flight has %zu records", count);
            /* every record but the last (the Finished) */
            size_t cut = 0;
            for (size_t k = 0; k + 1 < count; k++)
                cut += 5 + (((size_t)flight[cut + 3] << 8) | flight[cut + 4]);
            raw_send(m.fd, flight, cut, "key exchange");
            what = "stopped before its Finished";
            if (step == 3) {
                /* the Finished replaced by noise of the same length */
                size_t flen = n - cut;
                uint8_t *noise = (uint8_t *)harness_random_bytes(flen, 5);
                memcpy(noise, flight + cut, 5);
                raw_send(m.fd, noise, flen, "noise Finished");
                free(noise);
                what = "sent a Finished that is noise";
                bound = 3000;
            }
        }
        /* after a ClientHello alone, the server's flight is unread */
        long took = expect_closed_ex(m.fd, t0, bound, what, step > 0);
        if (step < 3)
            cr_assert(took >= HS_MS / 2, "%s: cut after %ld ms, before the handshake timeout %d",
                      what, took, HS_MS);
        mclient_close(&m);
        expect_kept_served(&kept, what);
    }
    client_close(&kept);
    server_stop(&s);
}

/* The rule for records inside a session, at its limit and past it: a
 * request record that arrives in two parts 150 ms apart (a handshake
 * timeout of 500 ms) is served; one trickled a byte every 100 ms, which
 * would take seconds, is closed about 500 ms after its first byte. */
static size_t session_request_record(mclient *m, uint8_t *buf, size_t cap)
{
    uint8_t flight[16384];
    int done = 0;
    while (!done) {
        size_t n = mclient_next_flight(m, flight, sizeof flight, &done);
        raw_send(m->fd, flight, n, "handshake");
    }
    const char *req = "GET /users/6 HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(SSL_write(m->ssl, req, (int)strlen(req)), (int)strlen(req));
    return mclient_take(m, buf, cap);
}

Test(tls_abuse, session_record_deadline_at_and_past_the_limit)
{
    server s;
    start(&s);
    mclient m;
    mclient_open(&m, s.port);
    uint8_t rec[4096];
    size_t n = session_request_record(&m, rec, sizeof rec);
    cr_assert(n > 20);
    raw_send(m.fd, rec, 10, "first part");
    sleep_ms(150);
    raw_send(m.fd, rec + 10, n - 10, "second part");
    char answer[1024] = "";
    size_t alen = 0;
    while (!strstr(answer, "user 6\n") && alen < sizeof answer - 1) {
        int r = SSL_read(m.ssl, answer + alen, (int)(sizeof answer - 1 - alen));
        if (r > 0) {
            alen += (size_t)r;
            answer[alen] = '\0';
            continue;
        }
        cr_assert(SSL_get_error(m.ssl, r) == SSL_ERROR_WANT_READ && mclient_feed(&m, 3000),
                  "a record in two parts 150 ms apart was not answered");
    }
    mclient_close(&m);

    mclient_open(&m, s.port);
    n = session_request_record(&m, rec, sizeof rec);
    uint64_t t0 = now_ms();
    size_t sent = 0;
    for (; sent < n; sent++) {
        raw_send(m.fd, rec + sent, 1, "trickle");
        struct pollfd p = {.fd = m.fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            break; /* the server's alert or its close */
    }
    expect_closed(m.fd, t0, 5000, "a request record trickled a byte per 100 ms");
    cr_assert(sent < n, "the whole trickled record (%zu bytes) was taken", n);
    mclient_close(&m);
    server_stop(&s);
}
