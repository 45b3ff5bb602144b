/* one_runtime: proves that a program linked with -lzzz -ltardy has one
 * tardy runtime, the one zzz serves on. Were libzzz to carry a copy of
 * tardy of its own, this program's tardy calls would reach the other copy,
 * which runs nothing on these threads: tardy_runtime_self() would be NULL
 * and the task-only calls would fail with -EPERM.
 *
 * It serves one HTTP request on 127.0.0.1 (port 0 unless --port), in which
 * the handler sleeps, spawns a task and joins it, answers "one runtime"
 * (or 500 and what failed), then stops the server. scripts/test (install)
 * builds it against the installed libraries and drives it with curl. */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int started_ok;

static void child(void *arg)
{
    int *ran = arg;
    *ran = tardy_sleep(1000000) == 0 && tardy_yield() == 0;
}

/* Empty when the runtime is the program's own; otherwise what failed. */
static const char *check_runtime(void)
{
    static char why[128];
    int err;
    if (!tardy_runtime_self())
        return "tardy_runtime_self() is NULL inside a handler";
    uint64_t before = tardy_now();
    if ((err = tardy_sleep(2000000)) != 0) {
        snprintf(why, sizeof why, "tardy_sleep: %s", strerror(-err));
        return why;
    }
    if (tardy_now() < before + 2000000)
        return "tardy_now() did not advance across tardy_sleep";
    int ran = 0;
    tardy_task task;
    if ((err = tardy_spawn(child, &ran, &task)) != 0 || (err = tardy_join(task)) != 0) {
        snprintf(why, sizeof why, "tardy_spawn/join: %s", strerror(-err));
        return why;
    }
    if (!ran)
        return "the spawned task did not run to the end";
    return "";
}

static void handler(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    const char *why = check_runtime();
    if (!started_ok)
        why = "on_start saw another runtime";
    zzz_res_header(res, "Content-Type", "text/plain");
    if (*why)
        zzz_res_text(res, 500, why);
    else
        zzz_res_send(res, "one runtime", 11);
    zzz_server_stop(zzz_conn_server(zzz_req_conn(req)));
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    /* zzz named its driver through its tardy; ours must agree. */
    const char *ours = tardy_driver_name();
    started_ok = tardy_runtime_self() != NULL && ours && driver && strcmp(ours, driver) == 0;
    printf("listening on 127.0.0.1:%u (driver %s, ours %s)\n", zzz_server_port(server),
           driver ? driver : "?", ours ? ours : "none");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    if (argc == 3 && strcmp(argv[1], "--port") == 0)
        cfg.server.port = (uint16_t)atoi(argv[2]);
    alarm(30); /* never outlive a harness that forgot us */
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", handler, NULL);
    if (err) {
        fprintf(stderr, "one_runtime: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err == 0) {
        err = zzz_server_run(server);
        zzz_server_destroy(server);
    }
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "one_runtime: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
