/* The plain stream: TCP straight on the socket, its bytes received ahead
 * through the connection's receive stream. The calls shared by every
 * stream (zzz_plain_recv, the copying file send) are here too. See
 * stream.h. */
#include "stream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

ssize_t zzz_plain_recv(zzz_conn *c, void *buf, size_t len, bool now)
{
    /* An open receive stream may already hold the next bytes. */
    if (c->stream)
        return now ? tardy_stream_take(&c->rx.stream, buf, len)
                   : tardy_stream_read(&c->rx.stream, buf, len);
    if (!now)
        return tardy_recv(c->fd, buf, len, 0);
    return tardy_recv_now(c->fd, buf, len, 0);
}

static int plain_open(zzz_conn *c)
{
    (void)c;
    return 0;
}

static uint64_t plain_open_deadline(const zzz_conn *c)
{
    (void)c;
    return 0;
}

static ssize_t plain_arrived(zzz_conn *c)
{
    zzz_buf *b = zzz_conn_buf(c);
    if (!b->data || b->len >= b->cap)
        return 1; /* no room: the protocol reads it when it has some */
    ssize_t n = tardy_stream_take(&c->rx.stream, b->data + b->len, b->cap - b->len);
    if (n > 0) {
        zzz_conn_in_arrived(c);
        b->len += (size_t)n;
    }
    return n;
}

static ssize_t plain_recv(zzz_conn *c, void *buf, size_t len, bool now)
{
    return zzz_plain_recv(c, buf, len, now);
}

static int plain_writev(zzz_conn *c, const struct iovec *iov_in, int iovcnt)
{
    enum { IOV_BATCH = 64 };
    struct iovec iov[IOV_BATCH];
    int done_idx = 0;
    while (done_idx < iovcnt) {
        int n = iovcnt - done_idx < IOV_BATCH ? iovcnt - done_idx : IOV_BATCH;
        memcpy(iov, iov_in + done_idx, (size_t)n * sizeof *iov);
        int first = 0;
        while (first < n) {
            /* A readiness driver sends at once and parks only when the
             * socket is full; io_uring queues the send with the turn's
             * other submissions, which costs less than a syscall of its
             * own (measured: 4% less server CPU per keep-alive request). */
            ssize_t sent;
            zzz_conn_send_arm(c);
            if (n - first == 1) {
                /* One buffer (every flushed response): a plain send spares
                 * the kernel importing a message header and iovec. */
                sent = tardy_send(c->fd, iov[first].iov_base, iov[first].iov_len, 0);
            } else {
                struct msghdr msg = {.msg_iov = iov + first, .msg_iovlen = (size_t)(n - first)};
                sent = tardy_sendmsg(c->fd, &msg, 0);
            }
            if (sent < 0)
                return (int)sent;
            zzz_conn_send_progress(c, (size_t)sent);
            size_t left = (size_t)sent;
            while (first < n && left >= iov[first].iov_len) {
                left -= iov[first].iov_len;
                first++;
            }
            if (first < n && left > 0) {
                iov[first].iov_base = (char *)iov[first].iov_base + left;
                iov[first].iov_len -= left;
            }
        }
        done_idx += n;
    }
    return 0;
}

int zzz_stream_sendfile_copy(zzz_conn *c, int fd, off_t offset, size_t len, char *buf,
                             size_t cap)
{
    while (len > 0) {
        size_t want = len < cap ? len : cap;
        /* In the ring on io_uring: a cold file does not stop the thread. */
        ssize_t n = tardy_read(fd, buf, want, (int64_t)offset);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -ENODATA;
        struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
        int err = c->ops->writev(c, &iov, 1);
        if (err)
            return err;
        offset += n;
        len -= (size_t)n;
    }
    return 0;
}

/* sendfile(2) on a socket raises SIGPIPE when the peer has gone (it has
 * no MSG_NOSIGNAL). A server's run holds it blocked (zzz_stream_hold_
 * sigpipe) before its runtimes start, so every thread they start and
 * every task's context has it blocked too (the ucontext backend switches
 * masks with contexts, so a block made inside a task would not last);
 * pipe_held tells a runtime thread that this is so. A raised one then
 * only waits, pending, until it is taken back. */
static _Thread_local bool pipe_held;

/* Drops a pending SIGPIPE of this thread (or the process's): never
 * waits. */
static void pipe_take_back(void)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE) {
    }
}

bool zzz_stream_hold_sigpipe(void)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    return pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0 && !sigismember(&old, SIGPIPE);
}

void zzz_stream_sigpipe_held(bool held)
{
    pipe_held = held;
}

void zzz_stream_release_sigpipe(bool held)
{
    pipe_held = false;
    if (!held)
        return;
    pipe_take_back();
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
}

/* sendfile(2) without SIGPIPE reaching the process. On a thread that
 * holds it blocked: the call, and after a failure, the taking back of
 * what it raised (a call that sent some bytes and then met the gone peer
 * leaves one pending, taken back by the next call, which fails). On any
 * other thread: held back for the call and taken back after it, whatever
 * it returned, unless one was pending before (left alone). Returns the
 * bytes sent or -errno. */
static ssize_t sendfile_quiet(int out_fd, int in_fd, off_t *offset, size_t len)
{
    if (pipe_held) {
        ssize_t n = sendfile(out_fd, in_fd, offset, len);
        if (n >= 0)
            return n;
        int err = errno;
        if (err != EAGAIN)
            pipe_take_back();
        return -err;
    }
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    /* Only a thread that blocks it already can have one pending. */
    bool was_pending = false;
    if (sigismember(&old, SIGPIPE) && sigpending(&pending) == 0)
        was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = sendfile(out_fd, in_fd, offset, len);
    int err = n < 0 ? errno : 0;
    if (!was_pending) {
        const struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n < 0 ? -err : n;
}

/* Sends the head at once if the socket takes it all, marked as having
 * more to follow so that it leaves in the same segments as the file's
 * first bytes (sendfile pushes at its end); else waits, as any write.
 * Returns how many of the head's bytes are held back to lead the file's
 * first segment: all of them when it went at once, 0 when it had to wait
 * (its rest went without MSG_MORE, so the file starts a segment); or
 * -errno. */
static ssize_t plain_head(zzz_conn *c, const char *head, size_t len)
{
    if (len == 0)
        return 0;
    ssize_t n = send(c->fd, head, len, MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -errno;
    if (n > 0) {
        zzz_conn_send_progress(c, (size_t)n);
        if ((size_t)n == len)
            return n;
        head += n;
        len -= (size_t)n;
    }
    struct iovec rest = {.iov_base = (void *)head, .iov_len = len};
    return plain_writev(c, &rest, 1);
}

/* A file the kernel cannot send from: read and send it. The write buffer
 * is empty (its bytes went as the head) but for the scratch arena at its
 * end. Not inlined: its spare buffer stays off the usual path's stack. */
__attribute__((noinline)) static int plain_copy(zzz_conn *c, int fd, off_t offset, size_t len)
{
    char small[2048];
    zzz_buf *o = zzz_conn_outbuf(c);
    size_t room = o->data ? o->cap - c->arena_used : 0;
    if (room >= sizeof small)
        return zzz_stream_sendfile_copy(c, fd, offset, len, o->data, room);
    return zzz_stream_sendfile_copy(c, fd, offset, len, small, sizeof small);
}

/* The connection's segment size (TCP_MAXSEG) when a file send takes more
 * than one call and at least two segments fit in a call; else 0. (With
 * fewer, each call would be one segment or less, and cutting the first
 * to the head's segment could leave it a few bytes.) */
static size_t sendfile_mss(int sock, size_t len)
{
    int mss = 0;
    socklen_t mss_len = sizeof mss;
    if (len <= ZZZ_SENDFILE_CHUNK ||
        getsockopt(sock, IPPROTO_TCP, TCP_MAXSEG, &mss, &mss_len) != 0 || mss <= 0 ||
        (size_t)mss > ZZZ_SENDFILE_CHUNK / 2)
        return 0;
    return (size_t)mss;
}

/* Sends the file in calls of about ZZZ_SENDFILE_CHUNK bytes, each ending
 * on a segment's end: a call's last bytes are pushed when it returns, so
 * a call ending mid-segment sends a short one, and the next call starts
 * another. Segments are counted from the first byte of the segment the
 * file starts in: `queued` bytes of the head lead it (plain_head). That
 * holds when the answer starts a segment, as it does unless an earlier
 * answer's last bytes were still waiting in the socket (pipelining), when
 * the calls end mid-segment as they did before. On loopback (65483-byte
 * segments) the short ones made a quarter more segments and
 * acknowledgements per byte and about a third more CPU per byte
 * (docs/performance.md). */
static int sendfile_loop(zzz_conn *c, int fd, off_t offset, size_t len, size_t queued)
{
    size_t turn = 0;
    size_t mss = sendfile_mss(c->fd, len);
    size_t step = mss ? ZZZ_SENDFILE_CHUNK - ZZZ_SENDFILE_CHUNK % mss : ZZZ_SENDFILE_CHUNK;
    while (len > 0) {
        off_t at = offset;
        zzz_conn_send_arm(c);
        size_t chunk = mss ? step - queued % mss : step;
        if (chunk > len)
            chunk = len;
        ssize_t n = sendfile_quiet(c->fd, fd, &at, chunk);
        if (n > 0) {
            zzz_conn_send_progress(c, (size_t)n);
            offset += n;
            len -= (size_t)n;
            queued += (size_t)n;
            turn += (size_t)n;
            if (turn >= ZZZ_SENDFILE_TURN && len > 0) {
                turn = 0;
                int err = tardy_yield();
                if (err)
                    return err;
            }
            continue;
        }
        if (n == 0)
            return -ENODATA;
        if (n == -EAGAIN) {
            /* The socket is full: wait for room, under the write's
             * deadline that zzz_conn_send_arm set. */
            turn = 0;
            int r = tardy_poll(c->fd, POLLOUT);
            if (r < 0)
                return r;
            continue;
        }
        if (n == -EINVAL || n == -ENOSYS || n == -EOPNOTSUPP)
            return plain_copy(c, fd, offset, len);
        return (int)n;
    }
    return 0;
}

static int plain_sendfile(zzz_conn *c, const void *head, size_t head_len, int fd, off_t offset,
                          size_t len)
{
    /* Not corked (TCP_CORK) while the calls go on: corked, the 100 MiB
     * load's client spent a fifth to a half more CPU per byte and its rate
     * fell (as with one call for the whole file). The calls end on
     * segment ends instead (sendfile_loop). */
    ssize_t queued = plain_head(c, head, head_len);
    return queued < 0 ? (int)queued : sendfile_loop(c, fd, offset, len, (size_t)queued);
}

static bool plain_pending(const zzz_conn *c)
{
    (void)c;
    return false;
}

static void plain_idle(zzz_conn *c)
{
    (void)c;
}

static bool plain_trim(zzz_conn *c, uint64_t idle_before)
{
    (void)c;
    (void)idle_before;
    return false;
}

static void plain_close(zzz_conn *c, bool graceful)
{
    (void)c;
    (void)graceful;
}

static bool plain_info(const zzz_conn *c, zzz_tls_info *info)
{
    (void)c;
    (void)info;
    return false;
}

const zzz_stream_ops zzz_plain_ops = {
    .open = plain_open,
    .open_deadline = plain_open_deadline,
    .arrived = plain_arrived,
    .recv = plain_recv,
    .writev = plain_writev,
    .sendfile = plain_sendfile,
    .pending = plain_pending,
    .idle = plain_idle,
    .trim = plain_trim,
    .close = plain_close,
    .info = plain_info,
};

bool zzz_conn_tls(const zzz_conn *c, zzz_tls_info *info)
{
    return c->ops->info(c, info);
}

bool zzz_tls_available(void)
{
#ifdef ZZZ_HAVE_TLS
    return true;
#else
    return false;
#endif
}
