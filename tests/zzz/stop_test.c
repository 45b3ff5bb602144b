/* Prompt stop: SIGTERM stops an idle server at once, closes idle
 * keep-alive connections at once, and waits only for the requests in
 * flight. The figures are printed; the bounds are loose (a stop that
 * waits out a timeout shows as seconds, a prompt one as milliseconds). */
#include "harness.h"

TestSuite(stop, .timeout = 120);

#define LOOSE_MS 2000

/* SIGTERM to exit, timed with a fine wait on the child. */
static uint64_t stop_and_time(server *s, int *status)
{
    uint64_t t0 = now_ms();
    cr_assert_eq(kill(s->pid, SIGTERM), 0);
    for (;;) {
        pid_t r = waitpid(s->pid, status, WNOHANG);
        if (r == s->pid)
            break;
        if (now_ms() - t0 > HANG_GUARD_MS) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, status, 0);
            *status = -1;
            break;
        }
        usleep(500);
    }
    uint64_t took = now_ms() - t0;
    harness_track(s->pid, false);
    close(s->out_fd);
    s->pid = 0;
    return took;
}

static void idle_stop(const char *threads)
{
    server s;
    server_start(&s, binary_path("ZZZ_TESTSERVER"),
                 (const char *const[]){"--threads", threads, "--drain-timeout-ms", "60000", NULL});
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    sleep_ms(50);
    int status = 0;
    uint64_t took = stop_and_time(&s, &status);
    printf("stop (%s, %s threads): an idle server exited %llu ms after SIGTERM\n",
           getenv("TARDY_DRIVER") ? getenv("TARDY_DRIVER") : "auto", threads,
           (unsigned long long)took);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    cr_assert_lt(took, LOOSE_MS, "an idle server took %llu ms to stop", (unsigned long long)took);
}

Test(stop, idle_server_one_thread)
{
    idle_stop("1");
}

Test(stop, idle_server_two_threads)
{
    idle_stop("2");
}

/* An idle keep-alive connection is closed at once while a request is in
 * flight; the request completes; the server exits when it is done. */
Test(stop, keepalive_closed_at_once_in_flight_completes)
{
    server s;
    server_start(&s, binary_path("ZZZ_TESTSERVER"),
                 (const char *const[]){"--drain-timeout-ms", "60000", "--idle-timeout-ms", "60000",
                                       NULL});
    client idle, busy;
    client_open(&idle, s.port);
    client_send_str(&idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    client_response(&idle, &r);
    expect_status(&r, 200);
    response_free(&r);
    client_open(&busy, s.port);
    client_send_str(&busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); /* 300 ms */
    sleep_ms(50);
    uint64_t t0 = now_ms();
    cr_assert_eq(kill(s.pid, SIGTERM), 0);

    size_t extra = 0;
    cr_assert(client_wait_closed(&idle, HANG_GUARD_MS, &extra), "the idle connection stayed open");
    uint64_t idle_closed = now_ms() - t0;
    cr_assert_eq(extra, 0);

    client_response(&busy, &r);
    uint64_t answered = now_ms() - t0;
    expect_status(&r, 200);
    expect_body(&r, "slow done\n");
    cr_assert(header_is(&r, "Connection", "close"));
    response_free(&r);

    int status = server_wait(&s, HANG_GUARD_MS);
    uint64_t exited = now_ms() - t0;
    printf("stop (%s): idle keep-alive closed after %llu ms, in-flight answered after %llu ms, "
           "exit after %llu ms\n",
           getenv("TARDY_DRIVER") ? getenv("TARDY_DRIVER") : "auto",
           (unsigned long long)idle_closed, (unsigned long long)answered,
           (unsigned long long)exited);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    cr_assert_lt(idle_closed, LOOSE_MS);
    cr_assert_lt(exited - answered, LOOSE_MS, "the server lingered %llu ms after its last request",
                 (unsigned long long)(exited - answered));
    client_close(&idle);
    client_close(&busy);
}
