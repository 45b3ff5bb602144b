/* Run by the resolve tests inside a network namespace of their own
 * (unshare -rn), where no name server can be reached: prints what
 * tardy_resolve and tardy_connect_host return for a name that is not in
 * /etc/hosts, and for localhost, which is. */
#include <tardy.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    tardy_config cfg = {.threads = 1};
    int r = tardy_run(&cfg, entry, NULL);
    printf("run %d\n", r);
    return r == 0 ? 0 : 1;
}
