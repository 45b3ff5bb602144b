/* A TLS connection through BearSSL: its engine's state from the worker's
 * pool, the handshake (moved on without waiting between the client's
 * flights), records in and out through the socket, and the trimming of
 * an idle connection's buffers. See stream.h for the calls' promises. */
#include "deadline.h"
#include "tls.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sends every record the engine has ready. */
static int tls_send_records(zzz_conn *c, zzz_tls_conn *t)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &len);
        zzz_conn_send_arm(c);
        ssize_t n = tardy_send(c->fd, rec, len, 0);
        if (n < 0) {
            t->broken = true;
            return (int)n;
        }
        zzz_conn_send_progress(c, (size_t)n);
        br_ssl_engine_sendrec_ack(eng, (size_t)n);
    }
    return 0;
}

/* Small records the engine makes one after another in the handshake
 * (ServerHello, ChangeCipherSpec, Finished) are gathered up to this many
 * bytes on the task's stack and leave in one send: one syscall and one
 * packet for the flight instead of one per record. */
#define TLS_GATHER 512u

static int tls_send_all(zzz_conn *c, zzz_tls_conn *t, const unsigned char *p, size_t len)
{
    while (len > 0) {
        zzz_conn_send_arm(c);
        ssize_t n = tardy_send(c->fd, p, len, 0);
        if (n < 0) {
            t->broken = true;
            return (int)n;
        }
        zzz_conn_send_progress(c, (size_t)n);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Takes the records the engine has ready into gather (have bytes there
 * already), sending what was gathered first when one does not fit, and a
 * record too big to gather (a certificate chain) on its own. Acking a
 * record lets the engine write the next. What is gathered at the end is
 * left for the caller to send. */
static int tls_gather_records(zzz_conn *c, zzz_tls_conn *t, unsigned char gather[TLS_GATHER],
                              size_t *have_io)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    size_t have = *have_io;
    int err = 0;
    while (err == 0 && (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC)) {
        size_t len;
        unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &len);
        if (have + len <= TLS_GATHER) {
            memcpy(gather + have, rec, len);
            have += len;
            br_ssl_engine_sendrec_ack(eng, len);
            continue;
        }
        if (have > 0) {
            err = tls_send_all(c, t, gather, have);
            have = 0;
        }
        if (err == 0 && len > TLS_GATHER)
            err = tls_send_records(c, t);
    }
    *have_io = have;
    return err;
}

/* Sends the handshake's records, the small ones gathered: the whole
 * flight is out when this returns. */
static int tls_send_flight(zzz_conn *c, zzz_tls_conn *t)
{
    unsigned char gather[TLS_GATHER];
    size_t have = 0;
    int err = tls_gather_records(c, t, gather, &have);
    if (err == 0 && have > 0)
        err = tls_send_all(c, t, gather, have);
    return err;
}

/* Follows the record framing of n bytes about to be fed to the engine. */
static void tls_track_records(zzz_tls_conn *t, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (t->body_left > 0) {
            size_t k = n < t->body_left ? n : t->body_left;
            t->body_left -= (uint32_t)k;
            p += k;
            n -= k;
            continue;
        }
        if (t->header_have == 0)
            t->record_since = tardy_now();
        t->header[t->header_have++] = *p++;
        n--;
        if (t->header_have == sizeof t->header) {
            t->body_left = (uint32_t)t->header[3] << 8 | t->header[4];
            t->header_have = 0;
        }
    }
}

/* Feeds the engine what it asks for, from the read-ahead or the receive
 * stream (without waiting when `now`). Returns > 0, 0 at FIN, -EAGAIN (`now`
 * only: nothing has arrived), or -errno. */
static ssize_t tls_recv_records(zzz_conn *c, zzz_tls_conn *t, bool now)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    size_t want;
    unsigned char *rec = br_ssl_engine_recvrec_buf(eng, &want);
    if (t->staged_len == 0) {
        /* A large record body goes straight in, uncopied. */
        bool direct = want >= TLS_STAGE;
        void *into = direct ? rec : t->stage;
        size_t room = direct ? want : TLS_STAGE;
        /* Through the connection's receive stream: records arrive ahead
         * like plain bytes do. */
        ssize_t n = zzz_plain_recv(c, into, room, now);
        if (n == -EAGAIN && now)
            return -EAGAIN;
        /* A wait that ran out (a deadline, a cancel) took no byte: the
         * session is whole, and a later read goes on where this one
         * stopped (an event stream waits in turns like that). */
        if (n == -ETIMEDOUT || n == -ECANCELED)
            return n;
        if (n <= 0) {
            t->broken = true;
            return n;
        }
        if (direct) {
            tls_track_records(t, rec, (size_t)n);
            br_ssl_engine_recvrec_ack(eng, (size_t)n);
            return n;
        }
        t->staged_off = 0;
        t->staged_len = (uint16_t)n;
    }
    size_t n = t->staged_len < want ? t->staged_len : want;
    memcpy(rec, t->stage + t->staged_off, n);
    tls_track_records(t, rec, n);
    t->staged_off = (uint16_t)(t->staged_off + n);
    t->staged_len = (uint16_t)(t->staged_len - n);
    br_ssl_engine_recvrec_ack(eng, n);
    return (ssize_t)n;
}

/* For a closed engine: 0 after a clean close_notify, else -EPROTO. */
static int tls_closed_error(zzz_tls_conn *t)
{
    t->broken = true;
    return br_ssl_engine_last_error(&t->sc.eng) == BR_ERR_OK ? 0 : -EPROTO;
}

static int tls_open(zzz_conn *c)
{
    zzz_tls_ctx *ctx = c->worker->server->tls;
    zzz_tls_conn *t = c->tls;
    if (!t) {
        t = (zzz_tls_conn *)(void *)zzz_pool_get(&c->worker->tls_pool);
        if (!t)
            return -ENOBUFS;
        c->tls = t;
        t->open_deadline = tardy_now() + ctx->handshake_ns;
        t->established = false;
        t->broken = false;
        t->close_sent = false;
        t->staged_off = t->staged_len = 0;
        t->header_have = 0;
        t->body_left = 0;
        t->trimmed = false;
        zzz_tls_engine_setup(t, ctx);
        if (!br_ssl_server_reset(&t->sc)) {
            t->broken = true;
            return -EPROTO; /* no entropy to seed it, or a bad setting */
        }
    }
    if (t->established)
        return 0;
    if (t->broken)
        return -EPROTO;
    /* The handshake moves on with what has arrived and never waits for
     * the client: between its flights the connection waits holding no
     * task (a client that sends half a ClientHello holds nothing scarce).
     * Only our own flight's send may wait, within the handshake's time. */
    if (tardy_now() >= t->open_deadline)
        return -ETIMEDOUT;
    uint64_t saved = zzz_deadline_push(t->open_deadline);
    br_ssl_engine_context *eng = &t->sc.eng;
    int err = 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_SENDREC) {
            /* Our flight (or an alert) first: the client waits for it. */
            if ((err = tls_send_flight(c, t)) != 0)
                break;
        } else if (st & BR_SSL_CLOSED) {
            tls_closed_error(t);
            err = -EPROTO;
            break;
        } else if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) {
            t->established = true;
            break;
        } else if (st & BR_SSL_RECVREC) {
            ssize_t n = tls_recv_records(c, t, true);
            if (n <= 0) {
                err = n == 0 ? -ECONNRESET : (int)n;
                break;
            }
        } else {
            err = -EPROTO;
            break;
        }
    }
    zzz_deadline_pop(saved);
    return err == 0 ? 1 : err;
}

static uint64_t tls_open_deadline(const zzz_conn *c)
{
    const zzz_tls_conn *t = c->tls;
    if (!t)
        return 0;
    if (!t->established)
        return t->open_deadline;
    /* A record trickled in a byte at a time gives the protocol nothing,
     * so its own timeouts never start: the record must be whole within
     * the handshake timeout of its first byte. */
    if (t->header_have > 0 || t->body_left > 0)
        return t->record_since + t->ctx->handshake_ns;
    return 0;
}

static ssize_t tls_recv(zzz_conn *c, void *buf, size_t len, bool now)
{
    zzz_tls_conn *t = c->tls;
    br_ssl_engine_context *eng = &t->sc.eng;
    if (len == 0)
        return 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_RECVAPP) {
            size_t avail;
            unsigned char *app = br_ssl_engine_recvapp_buf(eng, &avail);
            size_t n = avail < len ? avail : len;
            memcpy(buf, app, n);
            br_ssl_engine_recvapp_ack(eng, n);
            return (ssize_t)n;
        }
        if (st & BR_SSL_SENDREC) {
            int err = tls_send_records(c, t);
            if (err)
                return err;
        } else if (st & BR_SSL_CLOSED) {
            return tls_closed_error(t);
        } else if (t->broken) {
            return 0; /* the peer left without close_notify */
        } else if (st & BR_SSL_RECVREC) {
            ssize_t n = tls_recv_records(c, t, now);
            if (n <= 0)
                return n;
        } else {
            return -EPROTO;
        }
    }
}

static ssize_t tls_arrived(zzz_conn *c)
{
    /* The records stay in the receive stream until the engine asks. */
    (void)c;
    return 1;
}

/* The engine's room for plaintext to send, sending sealed records until
 * it has some. Returns its start and sets *room (> 0), or NULL with *err
 * set: -EPIPE once the session is closed, -EPROTO, or a send's error. */
static unsigned char *tls_app_room(zzz_conn *c, zzz_tls_conn *t, size_t *room, int *err)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_CLOSED) {
            t->broken = true;
            *err = -EPIPE;
            return NULL;
        }
        if (st & BR_SSL_SENDAPP)
            return br_ssl_engine_sendapp_buf(eng, room);
        if (!(st & BR_SSL_SENDREC)) {
            *err = -EPROTO;
            return NULL;
        }
        if ((*err = tls_send_records(c, t)) != 0)
            return NULL;
    }
}

/* Seals what the engine holds into records and sends them all. */
static int tls_push(zzz_conn *c, zzz_tls_conn *t)
{
    br_ssl_engine_flush(&t->sc.eng, 0);
    return tls_send_records(c, t);
}

/* Copies len bytes into the engine's plaintext, sending the records
 * that fill up on the way; the last one stays open. 0 or -errno. */
static int tls_put(zzz_conn *c, zzz_tls_conn *t, const void *data, size_t len)
{
    const unsigned char *src = data;
    while (len > 0) {
        size_t room;
        int err;
        unsigned char *app = tls_app_room(c, t, &room, &err);
        if (!app)
            return err;
        size_t n = room < len ? room : len;
        memcpy(app, src, n);
        br_ssl_engine_sendapp_ack(&t->sc.eng, n);
        src += n;
        len -= n;
    }
    return 0;
}

static int tls_writev(zzz_conn *c, const struct iovec *iov, int iovcnt)
{
    zzz_tls_conn *t = c->tls;
    for (int i = 0; i < iovcnt; i++) {
        int err = tls_put(c, t, iov[i].iov_base, iov[i].iov_len);
        if (err)
            return err;
    }
    return tls_push(c, t);
}

/* Reads the file straight into the engine's plaintext buffer, so the
 * bytes are copied once, by the read, before they are sealed; the head
 * shares the first record with them. */
static int tls_sendfile(zzz_conn *c, const void *head, size_t head_len, int fd, off_t offset,
                        size_t len)
{
    zzz_tls_conn *t = c->tls;
    int head_err = tls_put(c, t, head, head_len);
    if (head_err)
        return head_err;
    size_t turn = 0;
    while (len > 0) {
        size_t room;
        int err;
        if (turn >= ZZZ_SENDFILE_TURN) {
            turn = 0;
            if ((err = tardy_yield()) != 0)
                return err;
        }
        unsigned char *app = tls_app_room(c, t, &room, &err);
        if (!app)
            return err;
        /* In the ring on io_uring: a cold file does not stop the thread. */
        ssize_t n = tardy_read(fd, app, room < len ? room : len, (int64_t)offset);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -ENODATA;
        br_ssl_engine_sendapp_ack(&t->sc.eng, (size_t)n);
        offset += n;
        len -= (size_t)n;
        turn += (size_t)n;
    }
    return tls_push(c, t);
}

/* True when a graceful end sends close_notify: after a finished
 * handshake, on a socket that still works, once. */
static bool tls_can_notify(const zzz_conn *c, zzz_tls_conn *t)
{
    return t->established && !t->broken && !t->close_sent && c->fd >= 0 &&
           !(br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_CLOSED);
}

static int tls_finish(zzz_conn *c, const void *data, size_t len)
{
    zzz_tls_conn *t = c->tls;
    if (!t) /* the handshake never got a TLS state */
        return len ? -EPIPE : 0;
    if (len == 0 || !tls_can_notify(c, t)) {
        /* With nothing to go with it, close_notify is left to close,
         * which does not wait for a peer that does not read. */
        struct iovec iov = {(void *)data, len};
        return len ? tls_writev(c, &iov, 1) : 0;
    }
    int err = tls_put(c, t, data, len);
    if (err)
        return err;
    /* The last record is sealed and gathered (or sent, when too big)
     * first, then close_notify joins it: one send for a short answer
     * (up to TLS_GATHER bytes of records, about 450 bytes of data). */
    br_ssl_engine_context *eng = &t->sc.eng;
    br_ssl_engine_flush(eng, 0);
    unsigned char gather[TLS_GATHER];
    size_t have = 0;
    err = tls_gather_records(c, t, gather, &have);
    if (err == 0) {
        br_ssl_engine_close(eng);
        err = tls_gather_records(c, t, gather, &have);
    }
    if (err == 0 && have > 0)
        err = tls_send_all(c, t, gather, have);
    /* Sent, or the socket failed (broken): close sends nothing more. */
    t->close_sent = err == 0;
    return err;
}

static bool tls_pending(const zzz_conn *c)
{
    const zzz_tls_conn *t = c->tls;
    return t && (t->staged_len > 0 ||
                 (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_RECVAPP) != 0);
}

static void tls_idle(zzz_conn *c)
{
    if (!c->tls)
        return;
    c->tls->idle_since = tardy_now();
    c->tls->trimmed = false;
}

static bool tls_trim(zzz_conn *c, uint64_t idle_before)
{
    zzz_tls_conn *t = c->tls;
    if (!t || t->trimmed || t->idle_since > idle_before || !t->established || t->staged_len > 0 ||
        t->header_have > 0 || t->body_left > 0)
        return false;
    /* Nothing decrypted waits, nothing is queued to send (every write
     * flushes): the stage and both record buffers hold nothing needed.
     * Only whole pages inside this slot go: its neighbour's engine may
     * share the first and last. */
    if (br_ssl_engine_current_state(&t->sc.eng) & (BR_SSL_RECVAPP | BR_SSL_SENDREC))
        return false;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)t->stage + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)t + t->ctx->state_size) & ~(page - 1);
    t->trimmed = true;
    if (to > from)
        madvise((void *)from, to - from, MADV_DONTNEED);
    return true;
}

static void tls_close(zzz_conn *c, bool graceful)
{
    zzz_tls_conn *t = c->tls;
    if (!t)
        return;
    br_ssl_engine_context *eng = &t->sc.eng;
    if (graceful && tls_can_notify(c, t)) {
        /* close_notify in non-blocking sends: a peer that does not read
         * it is not waited for. */
        br_ssl_engine_close(eng);
        while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
            size_t len;
            unsigned char *rec = br_ssl_engine_sendrec_buf(eng, &len);
            ssize_t n = send(c->fd, rec, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0)
                break;
            br_ssl_engine_sendrec_ack(eng, (size_t)n);
        }
    }
    zzz_pool_put(&c->worker->tls_pool, (char *)t);
    c->tls = NULL;
}

static bool tls_info(const zzz_conn *c, zzz_tls_info *info)
{
    if (!c->tls)
        return false;
    if (!info)
        return true;
    /* BearSSL's getters take the engine without const. */
    br_ssl_engine_context *eng = &c->tls->sc.eng;
    br_ssl_session_parameters params;
    br_ssl_engine_get_session_parameters(eng, &params);
    info->version = (uint16_t)br_ssl_engine_get_version(eng);
    info->cipher_suite = params.cipher_suite;
    info->server_name = br_ssl_engine_get_server_name(eng);
    info->alpn = br_ssl_engine_get_selected_protocol(eng);
    return true;
}

const zzz_stream_ops zzz_tls_ops = {
    .open = tls_open,
    .open_deadline = tls_open_deadline,
    .arrived = tls_arrived,
    .recv = tls_recv,
    .writev = tls_writev,
    .finish = tls_finish,
    .sendfile = tls_sendfile,
    .pending = tls_pending,
    .idle = tls_idle,
    .trim = tls_trim,
    .close = tls_close,
    .info = tls_info,
};
