/* Run by the resolve tests inside a network namespace of their own
 * (unshare -rn), where no name server can be reached: prints what
 * tardy_resolve and tardy_connect_host return for a name that is not in
 * /etc/hosts, and for localhost, which is. With the argument "race" (and
 * an /etc/hosts of the test's own, where he-test.tardy is ::1 then
 * 127.0.0.1, and he-dead.tardy is ::1), it checks tardy_connect_host's
 * racing: ::1 takes no connection (a full backlog), 127.0.0.1 does. */
#include <tardy.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int good_fd = -1;
static uint16_t race_port;

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void race_entry(void *arg)
{
    (void)arg;
    uint64_t t0 = clock_ms();
    /* Three seconds for all of it: trying ::1 first, alone, would use
     * them up; the racer starts 127.0.0.1 after 250 ms. */
    int fd = tardy_connect_host("he-test.tardy", race_port, 3000ull * 1000000u);
    int peer = fd >= 0 ? accept(good_fd, NULL, NULL) : -1;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int family = fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : -1;
    printf("race %s %s\n", fd >= 0 ? "connected" : strerror(-fd),
           family == AF_INET ? "ipv4" : "other");
    fprintf(stderr, "resolve_netns: connected after %llu ms\n", (unsigned long long)(clock_ms() - t0));
    if (fd >= 0)
        tardy_close(fd);
    if (peer >= 0)
        close(peer);
    /* Only the silent address: the timeout ends the attempt. */
    fd = tardy_connect_host("he-dead.tardy", race_port, 300ull * 1000000u);
    printf("dead %d\n", fd);
}

static int race_main(void)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    good_fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof a4;
    if (good_fd < 0 || bind(good_fd, (struct sockaddr *)&a4, sizeof a4) != 0 ||
        listen(good_fd, 8) != 0 || getsockname(good_fd, (struct sockaddr *)&a4, &len) != 0) {
        perror("ipv4 listener");
        return 1;
    }
    race_port = ntohs(a4.sin_port);
    /* A listener whose backlog is full drops new SYNs: connecting to it
     * hangs, as to a host that does not answer. */
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                              .sin6_port = htons(race_port)};
    int one = 1;
    int dead = socket(AF_INET6, SOCK_STREAM, 0);
    if (dead < 0 || setsockopt(dead, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0 ||
        bind(dead, (struct sockaddr *)&a6, sizeof a6) != 0 || listen(dead, 0) != 0) {
        perror("ipv6 listener");
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        int c = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(c, (struct sockaddr *)&a6, sizeof a6);
    }
    struct timespec settle = {0, 100 * 1000000L};
    nanosleep(&settle, NULL);
    tardy_config cfg = {.threads = 1};
    int r = tardy_run(&cfg, race_entry, NULL);
    printf("run %d\n", r);
    return r == 0 ? 0 : 1;
}

static const char *missing = "no-such-host.tardy-test.invalid";

static void entry(void *arg)
{
    (void)arg;
    struct addrinfo *list = NULL;
    tardy_deadline_after(30ull * 1000000000u);
    int r = tardy_resolve(missing, "80", NULL, &list);
    printf("resolve %d %s\n", r, list ? "list" : "null");
    tardy_resolve_free(list);
    r = tardy_connect_host(missing, 80, 30ull * 1000000000u);
    printf("connect %d\n", r);
    list = NULL;
    r = tardy_resolve("localhost", NULL, NULL, &list);
    printf("localhost %d %s\n", r, list ? "list" : "null");
    tardy_resolve_free(list);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "race") == 0)
        return race_main();
    tardy_config cfg = {.threads = 1};
    int r = tardy_run(&cfg, entry, NULL);
    printf("run %d\n", r);
    return r == 0 ? 0 : 1;
}
