/* Names: localhost and a name of /etc/hosts through the pool, numeric
 * addresses on the spot, EAI codes as -errno, tardy_connect_host, and a
 * failing lookup where no resolver can be reached (a network namespace
 * the test makes itself). No query leaves the machine. */
#include "common.h"

#include <netdb.h>
#include <sys/wait.h>

TestSuite(resolve, .timeout = 60);

static bool has_addr4(const struct addrinfo *list, const char *text)
{
    struct in_addr want;
    inet_pton(AF_INET, text, &want);
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET &&
            ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == want.s_addr)
            return true;
    return false;
}

static bool has_loopback(const struct addrinfo *list)
{
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET &&
            ntohl(((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) == INADDR_LOOPBACK)
            return true;
        if (ai->ai_family == AF_INET6 &&
            IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr))
            return true;
    }
    return false;
}

/* The first name of /etc/hosts other than localhost with an IPv4
 * address: what the resolver must give back from the file. */
static char hosts_name[256], hosts_addr[64];

static bool pick_hosts_name(void)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *save = NULL;
        char *addr = strtok_r(line, " \t\n", &save);
        struct in_addr a;
        if (!addr || addr[0] == '#' || inet_pton(AF_INET, addr, &a) != 1)
            continue;
        for (char *name = strtok_r(NULL, " \t\n", &save); name && name[0] != '#';
             name = strtok_r(NULL, " \t\n", &save)) {
            if (strcmp(name, "localhost") != 0 && strlen(name) < sizeof hosts_name) {
                snprintf(hosts_name, sizeof hosts_name, "%s", name);
                snprintf(hosts_addr, sizeof hosts_addr, "%s", addr);
                found = true;
                break;
            }
        }
    }
    fclose(f);
    return found;
}

static void names_entry(void *arg)
{
    (void)arg;
    struct addrinfo *list = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

    TT_CHECK_EQ(tardy_resolve("localhost", "80", &hints, &list), 0);
    TT_CHECK(list != NULL);
    TT_CHECK(has_loopback(list));
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next)
        TT_CHECK_EQ(ai->ai_socktype, SOCK_STREAM);
    tardy_resolve_free(list);

    if (hosts_name[0]) {
        struct addrinfo h4 = {.ai_family = AF_INET};
        list = NULL;
        TT_CHECK_EQ(tardy_resolve(hosts_name, NULL, &h4, &list), 0);
        TT_CHECK(has_addr4(list, hosts_addr));
        tardy_resolve_free(list);
    }

    /* Numeric: converted without the pool. */
    list = NULL;
    TT_CHECK_EQ(tardy_resolve("127.0.0.1", "8080", &hints, &list), 0);
    TT_CHECK(has_addr4(list, "127.0.0.1"));
    TT_CHECK_EQ(ntohs(((struct sockaddr_in *)list->ai_addr)->sin_port), 8080);
    tardy_resolve_free(list);
    list = NULL;
    TT_CHECK_EQ(tardy_resolve("::1", NULL, &(struct addrinfo){.ai_family = AF_INET6}, &list), 0);
    TT_CHECK(has_loopback(list));
    tardy_resolve_free(list);

    /* EAI codes as -errno (answered from local files). */
    list = (struct addrinfo *)&hints;
    TT_CHECK_EQ(tardy_resolve("localhost", "no-such-service-tardy", &hints, &list),
                -EPROTONOSUPPORT);
    TT_CHECK(list == NULL);
    TT_CHECK_EQ(tardy_resolve("localhost", NULL, &(struct addrinfo){.ai_family = 12345}, &list),
                -EAFNOSUPPORT);
    TT_CHECK_EQ(tardy_resolve("localhost", NULL, &(struct addrinfo){.ai_flags = ~0}, &list),
                -EINVAL);
    TT_CHECK_EQ(tardy_resolve(NULL, NULL, NULL, &list), -EINVAL);
    TT_CHECK_EQ(tardy_resolve("localhost", NULL, NULL, NULL), -EINVAL);
}

Test(resolve, localhost_hosts_numeric_and_errors)
{
    if (!pick_hosts_name())
        fprintf(stderr, "resolve: /etc/hosts has no name besides localhost; that check is skipped\n");
    struct addrinfo *list = NULL;
    cr_expect_eq(tardy_resolve("localhost", NULL, NULL, &list), -EPERM);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, names_entry, NULL);
}

/* ---- tardy_connect_host ------------------------------------------------ */

static atomic_int gate;

static int64_t job_hold(void *arg)
{
    (void)arg;
    while (!atomic_load(&gate)) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void holder(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_blocking(job_hold, NULL, NULL), 0);
}

static void connect_entry(void *arg)
{
    (void)arg;
    int lfd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    TT_CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    TT_CHECK_EQ(listen(lfd, 8), 0);
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    uint16_t port = ntohs(sa.sin_port);

    int fd = tardy_connect_host("localhost", port, 5000 * TT_MS);
    TT_CHECK(fd >= 0);
    TT_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    TT_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    int afd = tardy_accept(lfd, NULL, NULL);
    TT_CHECK(afd >= 0);
    TT_CHECK_EQ(tardy_send(fd, "hi", 2, 0), 2);
    char buf[4];
    TT_CHECK_EQ(tardy_recv(afd, buf, sizeof buf, 0), 2);
    tardy_close(afd);
    tardy_close(fd);

    /* No deadline of its own left behind. */
    TT_CHECK_EQ(tardy_deadline(), 0);

    TT_CHECK_EQ(tardy_connect_host("localhost", 0, 0), -EINVAL);
    TT_CHECK_EQ(tardy_connect_host("", port, 0), -EINVAL);
    TT_CHECK_EQ(tardy_connect_host(NULL, port, 0), -EINVAL);

    /* Nobody listens any more: every address refuses. */
    tardy_close(lfd);
    TT_CHECK_EQ(tardy_connect_host("127.0.0.1", port, 5000 * TT_MS), -ECONNREFUSED);

    /* With the only pool thread taken, the lookup of a name waits in the
     * queue until the timeout; a numeric address needs no lookup. */
    tardy_task h;
    TT_CHECK_EQ(tardy_spawn(holder, NULL, &h), 0);
    TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK_EQ(tardy_connect_host("localhost", port, 50 * TT_MS), -ETIMEDOUT);
    TT_CHECK_EQ(tardy_deadline(), 0);
    /* A task deadline sooner than the timeout wins, and stays. */
    uint64_t dl = tardy_now() + 30 * TT_MS;
    tardy_deadline_set(dl);
    TT_CHECK_EQ(tardy_connect_host("localhost", port, 5000 * TT_MS), -ETIMEDOUT);
    TT_CHECK_EQ(tardy_deadline(), dl);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_connect_host("127.0.0.1", port, 5000 * TT_MS), -ECONNREFUSED);
    atomic_store(&gate, 1);
    TT_CHECK_EQ(tardy_join(h), 0);
}

Test(resolve, connect_host)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 1};
    TT_RUN(&cfg, connect_entry, NULL);
}

/* ---- no resolver reachable --------------------------------------------- */

static int run_capture(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(resolve, failing_lookup_without_a_resolver)
{
    const char *helper = getenv("TARDY_RESOLVE_NETNS");
    cr_assert(helper != NULL, "TARDY_RESOLVE_NETNS (the helper's path) is not set");
    char out[1024];
    if (run_capture("unshare -rn true 2>&1", out, sizeof out) != 0)
        cr_skip_test("cannot make a network namespace here (unshare -rn: %s); the failing "
                     "lookup is not checked",
                     out);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "unshare -rn '%s'", helper);
    int rc = run_capture(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "helper failed (%d): %s", rc, out);
    char expect[256];
    /* No resolver reachable reads as a temporary failure: -EAGAIN. */
    snprintf(expect, sizeof expect, "resolve %d null\nconnect %d\nlocalhost 0 list\nrun 0\n",
             -EAGAIN, -EAGAIN);
    cr_expect_str_eq(out, expect);
}

Test(resolve, connect_host_races_a_silent_address)
{
    const char *helper = getenv("TARDY_RESOLVE_NETNS");
    cr_assert(helper != NULL, "TARDY_RESOLVE_NETNS (the helper's path) is not set");
    char out[1024];
    if (run_capture("unshare -rnm sh -c 'ip link set lo up && mount --bind /dev/null /etc/hosts' 2>&1",
                    out, sizeof out) != 0)
        cr_skip_test("cannot make a network and mount namespace with its own /etc/hosts here "
                     "(unshare -rnm, ip, mount --bind: %s); the racing is not checked",
                     out);
    char hosts[] = "/tmp/tardy-hosts-XXXXXX";
    int fd = mkstemp(hosts);
    cr_assert(fd >= 0);
    static const char text[] = "::1 he-test.tardy\n127.0.0.1 he-test.tardy\n"
                               "::1 he-dead.tardy\n127.0.0.1 localhost\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "unshare -rnm sh -c 'ip link set lo up && mount --bind %s /etc/hosts && exec %s race'",
             hosts, helper);
    int rc = run_capture(cmd, out, sizeof out);
    unlink(hosts);
    cr_assert_eq(rc, 0, "helper failed (%d): %s", rc, out);
    char expect[128];
    snprintf(expect, sizeof expect, "race connected ipv4\ndead %d\nrun 0\n", -ETIMEDOUT);
    cr_expect_str_eq(out, expect);
}
