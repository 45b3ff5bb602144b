/* State shared between threads (lockserver.c): a handler that holds a
 * tardy_mutex while it streams to a client that has stopped reading does
 * not freeze the server. Requests that need no lock are served, one that
 * needs it gives up at its deadline, the lock comes free when the stuck
 * client goes, and SIGTERM still stops the server. On one and two threads. */
#include "harness.h"

TestSuite(lock, .timeout = 120);

static void get(uint16_t port, const char *path, response *r)
{
    char request[128];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    exchange(port, request, r);
}

/* A client that asks for the locked stream and never reads it. */
static int stuck_client(uint16_t port)
{
    int fd = tcp_connect_small_rcvbuf(port, 4096);
    static const char request[] = "GET /locked-stream HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(send(fd, request, sizeof request - 1, MSG_NOSIGNAL), (ssize_t)(sizeof request - 1));
    return fd;
}

static void lock_held_while_streaming(const char *threads)
{
    server s;
    server_start(&s, binary_path("ZZZ_LOCKSERVER"),
                 (const char *const[]){"--threads", threads, "--drain-timeout-ms", "500", NULL});
    int stuck = stuck_client(s.port);
    /* Until the stream has filled both sockets' buffers and its task waits
     * for the client, holding the lock. */
    response r;
    for (int i = 0; i < 200; i++) {
        get(s.port, "/count", &r);
        int status = r.status;
        response_free(&r);
        if (status == 503)
            break;
        sleep_ms(10);
    }

    /* Other requests, on every thread, are served meanwhile. */
    for (int i = 0; i < 8; i++) {
        uint64_t t0 = now_ms();
        get(s.port, "/hello", &r);
        expect_status(&r, 200);
        expect_body(&r, "hello\n");
        response_free(&r);
        if (i == 0)
            printf("lock (%s threads): /hello answered in %llu ms while the lock was held\n",
                   threads, (unsigned long long)(now_ms() - t0));
    }
    /* A request that needs the lock waits for it only until its deadline. */
    get(s.port, "/count", &r);
    expect_status(&r, 503);
    expect_body(&r, "lock busy\n");
    response_free(&r);

    /* The stuck client goes: the stream fails, the lock comes free. */
    struct linger now = {.l_onoff = 1, .l_linger = 0};
    setsockopt(stuck, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    close(stuck);
    int status = 0;
    for (int i = 0; i < 500 && status != 200; i++) {
        get(s.port, "/count", &r);
        status = r.status;
        response_free(&r);
        if (status != 200)
            sleep_ms(10);
    }
    cr_assert_eq(status, 200, "the lock never came free after the client left");

    /* Stuck again, then SIGTERM: the drain timeout cuts the stream, the
     * lock is let go, and the server exits. */
    stuck = stuck_client(s.port);
    sleep_ms(200);
    uint64_t t0 = now_ms();
    server_stop(&s);
    printf("lock (%s threads): stopped in %llu ms with a stuck stream (drain timeout 500 ms)\n",
           threads, (unsigned long long)(now_ms() - t0));
    close(stuck);
}

Test(lock, one_thread_serves_others_while_a_stream_holds_the_lock)
{
    lock_held_while_streaming("1");
}

Test(lock, two_threads_serve_others_while_a_stream_holds_the_lock)
{
    lock_held_while_streaming("2");
}
