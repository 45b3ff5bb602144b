/* Sockets on 127.0.0.1 and socket pairs: a TCP echo server with 100
 * clients, a large transfer with partial sends, recvmsg/sendmsg, end of
 * stream, a refused connect and tardy_poll. */
#include "common.h"

TestSuite(net, .timeout = 90);

/* ---- TCP echo ------------------------------------------------------------ */

#define CLIENTS 100
#define ROUNDS 100
#define MSG_LEN 64

struct echo {
    int lfd;
    struct sockaddr_in addr;
    int accepted;
    int handlers_done;
    int clients_ok;
    long rounds_ok;
    long bytes_verified;
    int ids[CLIENTS];
};

static struct echo *echo_state;

static int send_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = tardy_send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return n == 0 ? -EIO : (int)n;
        off += (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = tardy_recv(fd, buf + off, len - off, 0);
        if (n <= 0)
            return n == 0 ? -EPIPE : (int)n;
        off += (size_t)n;
    }
    return 0;
}

static void echo_handler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = tardy_recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n < 0) {
            TT_CHECK_EQ(n, 0);
            break;
        }
        int rc = send_all(fd, buf, (size_t)n);
        if (rc != 0) {
            TT_CHECK_EQ(rc, 0);
            break;
        }
    }
    TT_CHECK_EQ(tardy_close(fd), 0);
    echo_state->handlers_done++;
}

static void echo_server(void *arg)
{
    struct echo *e = arg;
    for (int i = 0; i < CLIENTS; i++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = tardy_accept(e->lfd, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            TT_CHECK_EQ(fd, 0);
            break;
        }
        TT_CHECK_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
        TT_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
        TT_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        e->accepted++;
        TT_CHECK_EQ(tardy_spawn(echo_handler, (void *)(intptr_t)fd, NULL), 0);
    }
    TT_CHECK_EQ(tardy_close(e->lfd), 0);
}

static void fill_msg(char *msg, int client, int round)
{
    int n = snprintf(msg, MSG_LEN, "client %03d round %03d ", client, round);
    for (int i = n; i < MSG_LEN; i++)
        msg[i] = (char)('a' + (client * 7 + round * 13 + i) % 26);
}

static void echo_client(void *arg)
{
    int id = *(int *)arg;
    struct echo *e = echo_state;
    int fd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        TT_CHECK_EQ(fd, 0);
        return;
    }
    int rc = tardy_connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr);
    TT_CHECK_EQ(rc, 0);
    int ok = rc == 0;
    for (int r = 0; ok && r < ROUNDS; r++) {
        char out[MSG_LEN], in[MSG_LEN];
        fill_msg(out, id, r);
        rc = send_all(fd, out, MSG_LEN);
        if (rc == 0)
            rc = recv_all(fd, in, MSG_LEN);
        if (rc != 0) {
            TT_CHECK_EQ(rc, 0);
            ok = 0;
            break;
        }
        if (memcmp(in, out, MSG_LEN) != 0) {
            tt_fail(__FILE__, __LINE__, "client %d round %d: echoed bytes differ", id, r);
            ok = 0;
            break;
        }
        e->rounds_ok++;
        e->bytes_verified += MSG_LEN;
    }
    TT_CHECK_EQ(tardy_close(fd), 0);
    if (ok)
        e->clients_ok++;
}

static void echo_entry(void *arg)
{
    struct echo *e = arg;
    e->lfd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    TT_CHECK(e->lfd >= 0);
    int one = 1;
    setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    e->addr = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    TT_CHECK_EQ(bind(e->lfd, (struct sockaddr *)&e->addr, sizeof e->addr), 0);
    TT_CHECK_EQ(listen(e->lfd, 256), 0);
    socklen_t len = sizeof e->addr;
    TT_CHECK_EQ(getsockname(e->lfd, (struct sockaddr *)&e->addr, &len), 0);
    TT_CHECK(e->addr.sin_port != 0);
    TT_CHECK_EQ(tardy_spawn(echo_server, e, NULL), 0);
    for (int i = 0; i < CLIENTS; i++) {
        e->ids[i] = i;
        TT_CHECK_EQ(tardy_spawn(echo_client, &e->ids[i], NULL), 0);
    }
}

Test(net, tcp_echo_100_clients_100_round_trips)
{
    struct echo e = {0};
    echo_state = &e;
    tardy_config cfg = {.threads = 1, .max_tasks = 512};
    TT_RUN(&cfg, echo_entry, &e);
    TT_EXPECT_EQ(e.accepted, CLIENTS);
    TT_EXPECT_EQ(e.handlers_done, CLIENTS);
    TT_EXPECT_EQ(e.clients_ok, CLIENTS);
    TT_EXPECT_EQ(e.rounds_ok, (long)CLIENTS * ROUNDS);
    TT_EXPECT_EQ(e.bytes_verified, (long)CLIENTS * ROUNDS * MSG_LEN);
}

/* The same with a two-entry io_uring submission queue, so submissions
 * overflow it within one turn (other drivers ignore queue_depth). */
Test(net, tcp_echo_with_a_tiny_submission_queue)
{
    struct echo e = {0};
    echo_state = &e;
    tardy_config cfg = {.threads = 1, .max_tasks = 512, .queue_depth = 2};
    TT_RUN(&cfg, echo_entry, &e);
    TT_EXPECT_EQ(e.clients_ok, CLIENTS);
    TT_EXPECT_EQ(e.rounds_ok, (long)CLIENTS * ROUNDS);
}

/* ---- a large transfer ---------------------------------------------------- */

#define BIG (4u << 20)

struct big {
    int sv[2];
    unsigned char *out, *in;
    size_t received;
    int partial_sends;
};

static void big_sender(void *arg)
{
    struct big *b = arg;
    size_t off = 0;
    while (off < BIG) {
        ssize_t n = tardy_send(b->sv[1], b->out + off, BIG - off, MSG_NOSIGNAL);
        if (n <= 0) {
            TT_CHECK(n > 0);
            break;
        }
        if ((size_t)n < BIG - off)
            b->partial_sends++;
        off += (size_t)n;
    }
    TT_CHECK_EQ(tardy_close(b->sv[1]), 0);
}

static void big_entry(void *arg)
{
    struct big *b = arg;
    TT_CHECK_EQ(tardy_spawn(big_sender, b, NULL), 0);
    for (;;) {
        size_t want = BIG - b->received;
        ssize_t n = tardy_recv(b->sv[0], b->in + b->received, want ? (want > 65536 ? 65536 : want) : 1, 0);
        if (n == 0)
            break;
        if (n < 0 || b->received + (size_t)n > BIG) {
            TT_CHECK(n >= 0 && b->received + (size_t)n <= BIG);
            break;
        }
        b->received += (size_t)n;
    }
    TT_CHECK_EQ(tardy_close(b->sv[0]), 0);
}

Test(net, large_transfer_with_partial_sends_and_end_of_stream)
{
    struct big b = {0};
    tt_socketpair(b.sv);
    b.out = malloc(BIG);
    b.in = malloc(BIG);
    cr_assert(b.out && b.in);
    uint32_t x = 12345;
    for (size_t i = 0; i < BIG; i++) {
        x = x * 1103515245u + 12345u;
        b.out[i] = (unsigned char)(x >> 16);
    }
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, big_entry, &b);
    TT_EXPECT_EQ(b.received, BIG);
    cr_expect(memcmp(b.in, b.out, BIG) == 0, "received bytes differ from those sent");
    free(b.out);
    free(b.in);
}

/* A recv parked before the peer closes returns 0 (end of stream). */
struct eof {
    int sv[2];
    ssize_t rc;
};

static void eof_closer(void *arg)
{
    struct eof *e = arg;
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(tardy_close(e->sv[1]), 0);
}

static void eof_entry(void *arg)
{
    struct eof *e = arg;
    char c;
    TT_CHECK_EQ(tardy_spawn(eof_closer, e, NULL), 0);
    e->rc = tardy_recv(e->sv[0], &c, 1, 0);
    TT_CHECK_EQ(tardy_close(e->sv[0]), 0);
}

Test(net, parked_recv_sees_end_of_stream, .timeout = 20)
{
    struct eof e = {.rc = -1};
    tt_socketpair(e.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, eof_entry, &e);
    TT_EXPECT_EQ(e.rc, 0);
}

/* Data and the end of stream arriving together on a socket the driver
 * already waits on: the read that takes the data comes back short, and the
 * next must still see the end (no further edge announces it). Then the same
 * with a read that did not wait, through MSG_DONTWAIT. */
struct data_eof {
    int sv[2];
    ssize_t first, second, third;
    char got[8];
};

static void data_eof_writer(void *arg)
{
    struct data_eof *d = arg;
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(d->sv[1], "abc", 3, MSG_NOSIGNAL), 3);
    TT_CHECK_EQ(shutdown(d->sv[1], SHUT_WR), 0);
}

static void data_eof_entry(void *arg)
{
    struct data_eof *d = arg;
    TT_CHECK_EQ(tardy_spawn(data_eof_writer, d, NULL), 0);
    /* Parks (nothing yet): the socket gets registered with the driver. */
    d->first = tardy_recv(d->sv[0], d->got, sizeof d->got, 0);
    uint64_t saved = tardy_deadline();
    tardy_deadline_after(2000 * TT_MS);
    d->second = tardy_recv(d->sv[0], d->got, sizeof d->got, 0);
    d->third = tardy_poll(d->sv[0], POLLIN);
    tardy_deadline_set(saved);
    TT_CHECK_EQ(tardy_close(d->sv[0]), 0);
    TT_CHECK_EQ(tardy_close(d->sv[1]), 0);
}

Test(net, short_read_then_end_of_stream, .timeout = 20)
{
    struct data_eof d = {.first = -1, .second = -1, .third = -1};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, data_eof_entry, &d);
    TT_EXPECT_EQ(d.first, 3);
    TT_EXPECT_EQ(d.second, 0);
    cr_expect(d.third > 0, "poll after the data: %zd", d.third);
}

static void data_eof_nowait_entry(void *arg)
{
    struct data_eof *d = arg;
    TT_CHECK_EQ(tardy_spawn(data_eof_writer, d, NULL), 0);
    /* Registered by a wait, then woken by the data and the end together. */
    TT_CHECK(tardy_poll(d->sv[0], POLLIN) > 0);
    d->first = tardy_recv(d->sv[0], d->got, sizeof d->got, MSG_DONTWAIT);
    uint64_t saved = tardy_deadline();
    tardy_deadline_after(2000 * TT_MS);
    d->third = tardy_poll(d->sv[0], POLLIN);
    d->second = tardy_recv(d->sv[0], d->got, sizeof d->got, 0);
    tardy_deadline_set(saved);
    TT_CHECK_EQ(tardy_close(d->sv[0]), 0);
    TT_CHECK_EQ(tardy_close(d->sv[1]), 0);
}

Test(net, short_nonblocking_read_then_end_of_stream, .timeout = 20)
{
    struct data_eof d = {.first = -1, .second = -1, .third = -1};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, data_eof_nowait_entry, &d);
    TT_EXPECT_EQ(d.first, 3);
    cr_expect(d.third > 0, "poll after the data: %zd", d.third);
    TT_EXPECT_EQ(d.second, 0);
}

/* Several tasks parked on one descriptor: two readers, and a writer
 * stuck on a full buffer while a reader waits on the same socket. */
struct shared_fd {
    int sv[2];
    char got[2];
    int n;
    size_t sent, drained;
    int done_rc;
};

static void shared_reader(void *arg)
{
    struct shared_fd *s = arg;
    char c;
    ssize_t r = tardy_recv(s->sv[0], &c, 1, 0);
    TT_CHECK_EQ(r, 1);
    if (r == 1)
        s->got[s->n++] = c;
}

static void shared_writer(void *arg)
{
    struct shared_fd *s = arg;
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(s->sv[1], "a", 1, 0), 1);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(s->sv[1], "b", 1, 0), 1);
}

static void two_readers_entry(void *arg)
{
    struct shared_fd *s = arg;
    tardy_task t[3];
    TT_CHECK_EQ(tardy_spawn(shared_reader, s, &t[0]), 0);
    TT_CHECK_EQ(tardy_spawn(shared_reader, s, &t[1]), 0);
    TT_CHECK_EQ(tardy_spawn(shared_writer, s, &t[2]), 0);
    for (int i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
}

Test(net, two_readers_parked_on_one_socket)
{
    struct shared_fd s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, two_readers_entry, &s);
    TT_EXPECT_EQ(s.n, 2);
    cr_expect(s.n == 2 && s.got[0] == 'a' && s.got[1] == 'b', "got '%.2s'", s.got);
    close(s.sv[0]);
    close(s.sv[1]);
}

#define DUPLEX_BYTES (2u << 20)

static void duplex_waiter(void *arg)
{
    struct shared_fd *s = arg;
    char c = 0;
    /* Parked on sv[0] for reading while duplex_sender writes to it. */
    s->done_rc = (int)tardy_recv(s->sv[0], &c, 1, 0);
    TT_CHECK_EQ(c, 'D');
}

static void duplex_sender(void *arg)
{
    struct shared_fd *s = arg;
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    while (s->sent < DUPLEX_BYTES) {
        size_t left = DUPLEX_BYTES - s->sent;
        ssize_t n = tardy_send(s->sv[0], chunk, left < sizeof chunk ? left : sizeof chunk, 0);
        if (n <= 0) {
            TT_CHECK(n > 0);
            return;
        }
        s->sent += (size_t)n;
    }
}

static void duplex_drainer(void *arg)
{
    struct shared_fd *s = arg;
    static char buf[65536];
    while (s->drained < DUPLEX_BYTES) {
        size_t left = DUPLEX_BYTES - s->drained;
        ssize_t n = tardy_recv(s->sv[1], buf, left < sizeof buf ? left : sizeof buf, 0);
        if (n <= 0) {
            TT_CHECK(n > 0);
            return;
        }
        s->drained += (size_t)n;
    }
    TT_CHECK_EQ(tardy_send(s->sv[1], "D", 1, 0), 1);
}

static void duplex_entry(void *arg)
{
    struct shared_fd *s = arg;
    tardy_task t[3];
    TT_CHECK_EQ(tardy_spawn(duplex_waiter, s, &t[0]), 0);
    TT_CHECK_EQ(tardy_spawn(duplex_sender, s, &t[1]), 0);
    TT_CHECK_EQ(tardy_spawn(duplex_drainer, s, &t[2]), 0);
    for (int i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
}

Test(net, reader_and_writer_parked_on_one_socket)
{
    struct shared_fd s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, duplex_entry, &s);
    TT_EXPECT_EQ(s.sent, DUPLEX_BYTES);
    TT_EXPECT_EQ(s.drained, DUPLEX_BYTES);
    TT_EXPECT_EQ(s.done_rc, 1);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* ---- recvmsg / sendmsg --------------------------------------------------- */

struct msgs {
    int sv[2];
    char got[32];
    ssize_t rc;
};

static void msg_receiver(void *arg)
{
    struct msgs *m = arg;
    char a[5], b[27];
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    /* Parks first: the sender runs only after this. One small sendmsg
     * arrives whole on a Unix stream socket. */
    m->rc = tardy_recvmsg(m->sv[0], &mh, 0);
    if (m->rc == 11) {
        memcpy(m->got, a, 5);
        memcpy(m->got + 5, b, 6);
    }
}

static void msg_entry(void *arg)
{
    struct msgs *m = arg;
    tardy_task r;
    TT_CHECK_EQ(tardy_spawn(msg_receiver, m, &r), 0);
    TT_CHECK_EQ(tardy_yield(), 0);
    char h[] = "hello", w[] = " world";
    struct iovec iov[2] = {{h, 5}, {w, 6}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    TT_CHECK_EQ(tardy_sendmsg(m->sv[1], &mh, 0), 11);
    TT_CHECK_EQ(tardy_join(r), 0);
}

Test(net, recvmsg_and_sendmsg)
{
    struct msgs m = {0};
    tt_socketpair(m.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, msg_entry, &m);
    TT_EXPECT_EQ(m.rc, 11);
    cr_expect(memcmp(m.got, "hello world", 11) == 0, "got '%.11s'", m.got);
    close(m.sv[0]);
    close(m.sv[1]);
}

/* ---- connect errors ------------------------------------------------------ */

struct refused {
    struct sockaddr_in addr;
    int rc;
};

static void refused_entry(void *arg)
{
    struct refused *r = arg;
    int fd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    TT_CHECK(fd >= 0);
    r->rc = tardy_connect(fd, (struct sockaddr *)&r->addr, sizeof r->addr);
    TT_CHECK_EQ(tardy_close(fd), 0);
}

Test(net, connect_to_a_closed_port_is_econnrefused)
{
    struct refused r = {.addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}};
    /* A port that was just free: bind, read it back, close without listening. */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(probe, 0);
    socklen_t len = sizeof r.addr;
    cr_assert_eq(bind(probe, (struct sockaddr *)&r.addr, sizeof r.addr), 0);
    cr_assert_eq(getsockname(probe, (struct sockaddr *)&r.addr, &len), 0);
    close(probe);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, refused_entry, &r);
    TT_EXPECT_EQ(r.rc, -ECONNREFUSED);
}

/* ---- tardy_poll ---------------------------------------------------------- */

struct polls {
    int sv[2];
    int in_rc, out_rc, hup_rc;
    int wrote_before_poll_returned;
    int writer_ran;
};

static void poll_writer(void *arg)
{
    struct polls *p = arg;
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    p->writer_ran = 1;
    TT_CHECK_EQ(tardy_send(p->sv[1], "z", 1, 0), 1);
}

static void poll_entry(void *arg)
{
    struct polls *p = arg;
    /* Writable at once. */
    p->out_rc = tardy_poll(p->sv[0], POLLOUT);
    /* Readable once the peer writes. */
    TT_CHECK_EQ(tardy_spawn(poll_writer, p, NULL), 0);
    p->in_rc = tardy_poll(p->sv[0], POLLIN);
    p->wrote_before_poll_returned = p->writer_ran;
    /* Polling does not consume the byte. */
    char c = 0;
    TT_CHECK_EQ(tardy_recv(p->sv[0], &c, 1, 0), 1);
    TT_CHECK_EQ(c, 'z');
    /* End of stream is readable too. */
    TT_CHECK_EQ(tardy_close(p->sv[1]), 0);
    p->hup_rc = tardy_poll(p->sv[0], POLLIN);
    TT_CHECK_EQ(tardy_recv(p->sv[0], &c, 1, 0), 0);
    TT_CHECK_EQ(tardy_close(p->sv[0]), 0);
}

Test(net, poll_on_a_socketpair)
{
    struct polls p = {0};
    tt_socketpair(p.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, poll_entry, &p);
    cr_expect(p.out_rc > 0 && (p.out_rc & POLLOUT), "POLLOUT poll returned %d", p.out_rc);
    cr_expect(p.in_rc > 0 && (p.in_rc & POLLIN), "POLLIN poll returned %d", p.in_rc);
    TT_EXPECT_EQ(p.wrote_before_poll_returned, 1);
    cr_expect(p.hup_rc > 0 && (p.hup_rc & (POLLIN | POLLHUP | POLLRDHUP)),
              "poll at end of stream returned %d", p.hup_rc);
}

/* ---- the I/O epoch ------------------------------------------------------- */

/* tardy_io_epoch's promise, from the other side: bytes that reach the
 * kernel after the epoch was read are never received while it still
 * reads the same. Each receive call below gets bytes sent after the
 * epoch was read, and the epoch must have moved by the time it returns
 * (at once on a readiness driver, through a turn on io_uring). A receive
 * that finds nothing does not move it; a turn does. */
static void epoch_entry(void *arg)
{
    (void)arg;
    int sv[2];
    TT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    char buf[16];

    uint64_t e = tardy_io_epoch();
    TT_CHECK(e > 0);
    TT_CHECK_EQ(tardy_io_epoch(), e);
    TT_CHECK_EQ(tardy_recv_now(sv[1], buf, sizeof buf, 0), -EAGAIN);
    TT_CHECK_EQ(tardy_io_epoch(), e);
    TT_CHECK_EQ(tardy_send(sv[1], "x", 1, 0), 1); /* may take a turn (io_uring) */
    e = tardy_io_epoch();
    TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK(tardy_io_epoch() > e);

    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "ab", 2, 0), 2); /* after e was read */
    TT_CHECK_EQ(tardy_recv(sv[0], buf, sizeof buf, 0), 3); /* "x" and "ab" */
    TT_CHECK(tardy_io_epoch() > e);

    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "cd", 2, 0), 2);
    TT_CHECK_EQ(tardy_recv_now(sv[0], buf, sizeof buf, 0), 2);
    TT_CHECK(tardy_io_epoch() > e);

    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "ef", 2, 0), 2);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    TT_CHECK_EQ(tardy_recvmsg(sv[0], &msg, 0), 2);
    TT_CHECK(tardy_io_epoch() > e);

    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "gh", 2, 0), 2);
    TT_CHECK_EQ(tardy_read(sv[0], buf, sizeof buf, -1), 2);
    TT_CHECK(tardy_io_epoch() > e);

    /* A stream: its first read arms it; later bytes come through the
     * driver (io_uring) or a receive of its own. */
    tardy_stream st;
    TT_CHECK_EQ(tardy_stream_open(&st, sv[0]), 0);
    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "ij", 2, 0), 2);
    TT_CHECK_EQ(tardy_stream_read(&st, buf, sizeof buf), 2);
    TT_CHECK(tardy_io_epoch() > e);
    e = tardy_io_epoch();
    TT_CHECK_EQ(send(sv[1], "kl", 2, 0), 2);
    ssize_t n = tardy_stream_take(&st, buf, sizeof buf);
    if (n == -EAGAIN) /* the armed receive has not reported it yet */
        n = tardy_stream_read(&st, buf, sizeof buf);
    TT_CHECK_EQ(n, 2);
    TT_CHECK(tardy_io_epoch() > e);
    TT_CHECK_EQ(tardy_stream_close(&st), 0);

    /* tardy_recv_now leaves a passed deadline and a pending cancel to
     * the next call that waits. */
    tardy_deadline_after(1);
    TT_CHECK_EQ(tardy_sleep(TT_MS), -ETIMEDOUT);
    TT_CHECK_EQ(tardy_recv_now(sv[0], buf, sizeof buf, 0), -EAGAIN);
    TT_CHECK_EQ(tardy_recv(sv[0], buf, sizeof buf, 0), -ETIMEDOUT);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_cancel(tardy_self()), 0);
    TT_CHECK_EQ(send(sv[1], "m", 1, 0), 1);
    TT_CHECK_EQ(tardy_recv_now(sv[0], buf, sizeof buf, 0), 1);
    TT_CHECK_EQ(tardy_sleep(TT_MS), -ECANCELED);
    close(sv[0]);
    close(sv[1]);
}

Test(net, io_epoch_moves_before_late_bytes_are_seen, .timeout = 20)
{
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, epoch_entry, NULL);

    int sv[2];
    tt_socketpair(sv);
    TT_EXPECT_EQ(tardy_io_epoch(), 0);
    char buf[4];
    TT_EXPECT_EQ(tardy_recv_now(sv[0], buf, sizeof buf, 0), -EAGAIN);
    cr_assert_eq(send(sv[1], "ok", 2, 0), 2);
    TT_EXPECT_EQ(tardy_recv_now(sv[0], buf, sizeof buf, 0), 2);
    TT_EXPECT_EQ(tardy_io_epoch(), 0);
    close(sv[0]);
    close(sv[1]);
}

/* tardy_close_nowait: the task goes on at once; the socket is closed by
 * the end of the turn (the peer sees the end of the stream), and on
 * io_uring not before the turn's submissions go in, so its number is not
 * free for reuse while the task still runs. */
struct nowait {
    int sv[2];
    int ret;
    int open_right_after;
    int open_later;
    ssize_t peer_read;
    bool uring;
};

static void nowait_entry(void *arg)
{
    struct nowait *n = arg;
    n->uring = strcmp(tardy_driver_name(), "io_uring") == 0;
    n->ret = tardy_close_nowait(n->sv[0]);
    n->open_right_after = fcntl(n->sv[0], F_GETFD) != -1;
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    n->open_later = fcntl(n->sv[0], F_GETFD) != -1;
    char c;
    n->peer_read = tardy_recv(n->sv[1], &c, 1, 0);
    TT_CHECK_EQ(tardy_close(n->sv[1]), 0);
}

Test(net, close_nowait_closes_by_the_end_of_the_turn)
{
    struct nowait n = {0};
    tt_socketpair(n.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, nowait_entry, &n);
    TT_EXPECT_EQ(n.ret, 0);
    TT_EXPECT_EQ(n.open_right_after, n.uring ? 1 : 0);
    TT_EXPECT_EQ(n.open_later, 0);
    TT_EXPECT_EQ(n.peer_read, 0);
    TT_EXPECT_EQ(tardy_close_nowait(3), -EPERM); /* outside a task */
}
