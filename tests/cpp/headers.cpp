// The public headers, included from C++: every one of them compiles under
// -std=c++17 -Wall -Wextra -Wpedantic -Werror, and a C++ program links
// against both libraries and runs a task that takes a tardy_mutex.
#include <tardy.h>
#include <tardy_driver.h>
#include <zzz.h>
#include <zzz_http.h>
#include <zzz_sse.h>
#include <zzz_ws.h>

#include <cstdio>

namespace {

tardy_mutex lock = TARDY_MUTEX_INIT;
tardy_cond cond = TARDY_COND_INIT;
int locked_rc = -1;

void entry(void *)
{
    locked_rc = tardy_mutex_lock(&lock);
    if (locked_rc == 0)
        tardy_mutex_unlock(&lock);
    tardy_cond_signal(&cond);
}

} // namespace

int main()
{
    static_assert(alignof(tardy_watch) == 16, "tardy_watch keeps its alignment in C++");
    tardy_config cfg = {};
    cfg.threads = 1;
    int rc = tardy_run(&cfg, entry, nullptr);
    zzz_router *router = nullptr;
    int rrc = zzz_router_create(&router);
    if (rrc == 0)
        zzz_router_destroy(router);
    if (rc != 0 || locked_rc != 0 || rrc != 0) {
        std::fprintf(stderr, "run %d, lock %d, router %d\n", rc, locked_rc, rrc);
        return 1;
    }
    return 0;
}
