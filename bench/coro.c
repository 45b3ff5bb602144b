/* bench-coro: what a raw coroutine switch, a tardy_yield round trip and a
 * tardy_spawn-to-finish cost, in nanoseconds, as the median of several
 * timed repetitions after a warm-up. On x86-64 it also times variants of
 * the switch with and without the MXCSR / x87 control-word save: tardy's
 * switch saved both until the figures here showed they cost a quarter of
 * it; it now saves the general-purpose registers only, like `nofp`. The
 * other variants stay as the evidence (docs/performance.md). */
#include "bench_util.h"
#include "coro.h"
#include "tardy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BENCH_STACK_SIZE ((size_t)64 * 1024)
#define SPAWN_BATCH 1000u      /* tasks spawned before the spawner yields */
#define SPAWN_MAX_TASKS 1024u  /* the runtime's max_tasks: batch + spawner */
#define YIELD_MANY_TASKS 64u   /* second yield figure: a fuller ready queue */

static bench_opts opts;

/* ---- raw switch --------------------------------------------------------- */

/* A context as the bench's own switch copies see it: the saved stack
 * pointer first, as in tardy's asm tardy_coro. */
typedef struct bench_ctx {
    void *sp;
} bench_ctx;

typedef void (*bench_switch_fn)(bench_ctx *from, bench_ctx *to);

#ifdef BENCH_SWITCH_VARIANTS
void bench_switch_full(bench_ctx *from, bench_ctx *to);
void bench_switch_nofp(bench_ctx *from, bench_ctx *to);
void bench_switch_mxcsr(bench_ctx *from, bench_ctx *to);
void bench_switch_x87(bench_ctx *from, bench_ctx *to);
void bench_switch_lazy(bench_ctx *from, bench_ctx *to);
void bench_switch_nofp_jmp(bench_ctx *from, bench_ctx *to);
void bench_coro_trampoline(void);

/* The frame every variant pops, for the bench's own trampoline:
 * [mxcsr|x87 cw] r15 r14 r13 r12 rbx rbp ret, which is what
 * tardy_coro_make laid out before tardy dropped the control words (it now
 * lays out the same frame without the first 8-byte slot). */
static void bench_coro_make(bench_ctx *c, void *stack_lo, size_t size, void (*fn)(void *),
                            void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 64);
    uint32_t csr[2] = {0, 0};
    uint16_t cw = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(csr[0]));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    csr[1] = cw;
    memcpy(&sp[0], csr, sizeof csr);
    sp[1] = 0;
    sp[2] = 0;
    sp[3] = (uint64_t)(uintptr_t)arg;
    sp[4] = (uint64_t)(uintptr_t)fn;
    sp[5] = 0;
    sp[6] = 0;
    sp[7] = (uint64_t)(uintptr_t)&bench_coro_trampoline;
    c->sp = sp;
}

static struct {
    bench_ctx main, peer;
    bench_switch_fn sw;
    int deep; /* switch from two calls down, as tardy_yield does */
} var_pp;

/* Two frames between the loop and the switch, as tardy_yield ->
 * tardy_sched_switch -> tardy_coro_switch; the empty asm keeps them
 * from becoming tail calls. */
__attribute__((noinline)) static void var_level1(bench_ctx *from, bench_ctx *to)
{
    var_pp.sw(from, to);
    __asm__ volatile("");
}

__attribute__((noinline)) static void var_level2(bench_ctx *from, bench_ctx *to)
{
    var_level1(from, to);
    __asm__ volatile("");
}

static void var_switch(bench_ctx *from, bench_ctx *to)
{
    if (var_pp.deep)
        var_level2(from, to);
    else
        var_pp.sw(from, to);
}

static void var_peer(void *arg)
{
    (void)arg;
    for (;;)
        var_switch(&var_pp.peer, &var_pp.main);
}

static uint64_t var_run(uint64_t round_trips, void *ctx)
{
    void *stack = ctx;
    bench_coro_make(&var_pp.peer, stack, BENCH_STACK_SIZE, var_peer, NULL);
    var_switch(&var_pp.main, &var_pp.peer); /* first entry, not timed */
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < round_trips; i++)
        var_switch(&var_pp.main, &var_pp.peer);
    return bench_now_ns() - t0;
}
#endif

/* The library's own switch, called through a pointer like the variants so
 * that the library's figure and the `nofp` variant (the same instructions
 * but for the frame's unused 8-byte slot) compare like for like. */
static struct {
    tardy_coro main, peer;
    void (*sw)(tardy_coro *from, tardy_coro *to);
} lib_pp;

static void lib_peer(void *arg)
{
    (void)arg;
    for (;;)
        lib_pp.sw(&lib_pp.peer, &lib_pp.main);
}

static uint64_t lib_run(uint64_t round_trips, void *ctx)
{
    void *stack = ctx;
    lib_pp.sw = tardy_coro_switch;
    tardy_coro_make(&lib_pp.peer, stack, BENCH_STACK_SIZE, lib_peer, NULL);
    lib_pp.sw(&lib_pp.main, &lib_pp.peer);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < round_trips; i++)
        lib_pp.sw(&lib_pp.main, &lib_pp.peer);
    return bench_now_ns() - t0;
}

/* ns per switch: a round trip is two switches. */
static double switch_ns(bench_work_fn run, void *stack)
{
    uint64_t n = bench_calibrate(run, stack, opts.target_ns);
    return bench_median_ns(run, stack, n, opts.reps) / (2.0 * (double)n);
}

/* ---- yield ------------------------------------------------------------- */

static uint64_t yield_each;

static void yielder(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < yield_each; i++)
        tardy_yield();
}

/* `tasks` tasks each yield `per_task` times; each yield is one
 * task -> scheduler -> next task round. */
static uint64_t yield_run(uint64_t per_task, void *ctx)
{
    unsigned tasks = *(const unsigned *)ctx;
    tardy_task handles[YIELD_MANY_TASKS];
    yield_each = per_task;
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < tasks; i++) {
        int err = tardy_spawn(yielder, NULL, &handles[i]);
        if (err)
            bench_die("tardy_spawn", err);
    }
    for (unsigned i = 0; i < tasks; i++)
        tardy_join(handles[i]);
    return bench_now_ns() - t0;
}

/* ---- spawn + finish ---------------------------------------------------- */

static unsigned spawn_finished;

static void spawn_nothing(void *arg)
{
    (void)arg;
    spawn_finished++;
}

static uint64_t spawn_run(uint64_t batches, void *ctx)
{
    (void)ctx;
    uint64_t t0 = bench_now_ns();
    for (uint64_t b = 0; b < batches; b++) {
        spawn_finished = 0;
        for (unsigned i = 0; i < SPAWN_BATCH; i++) {
            int err = tardy_spawn(spawn_nothing, NULL, NULL);
            if (err)
                bench_die("tardy_spawn", err);
        }
        while (spawn_finished < SPAWN_BATCH)
            tardy_yield();
    }
    return bench_now_ns() - t0;
}

/* ---- in a runtime ------------------------------------------------------ */

static struct {
    const char *driver;
    double yield_ns, yield_many_ns, spawn_ns;
} rt_result;

static void runtime_benches(void *arg)
{
    (void)arg;
    rt_result.driver = tardy_driver_name();
    unsigned two = 2, many = YIELD_MANY_TASKS;
    uint64_t n = bench_calibrate(yield_run, &two, opts.target_ns);
    rt_result.yield_ns = bench_median_ns(yield_run, &two, n, opts.reps) / (2.0 * (double)n);
    n = bench_calibrate(yield_run, &many, opts.target_ns);
    rt_result.yield_many_ns =
        bench_median_ns(yield_run, &many, n, opts.reps) / ((double)many * (double)n);
    n = bench_calibrate(spawn_run, NULL, opts.target_ns);
    rt_result.spawn_ns =
        bench_median_ns(spawn_run, NULL, n, opts.reps) / ((double)SPAWN_BATCH * (double)n);
}

int main(int argc, char **argv)
{
    bench_parse_common(argc, argv, "bench-coro", &opts);
    bench_watchdog(120);

    void *stack = mmap(NULL, BENCH_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        bench_die("mmap", -errno);

    double sw = switch_ns(lib_run, stack);

#ifdef BENCH_SWITCH_VARIANTS
    static const struct {
        const char *name;
        bench_switch_fn fn;
        int deep;
        const char *what;
    } variants[] = {
        {"full", bench_switch_full, 0, "GPRs + MXCSR + x87 CW, as tardy's switch did before"},
        {"nofp", bench_switch_nofp, 0, "GPRs only, as tardy's switch does now"},
        {"mxcsr", bench_switch_mxcsr, 0, "GPRs + MXCSR"},
        {"x87", bench_switch_x87, 0, "GPRs + x87 CW"},
        {"lazy", bench_switch_lazy, 0, "saves both, reloads only when they differ"},
        {"nofp_jmp", bench_switch_nofp_jmp, 0, "GPRs only, pop+jmp instead of ret"},
        {"full_deep", bench_switch_full, 1, "full, switched from 2 calls down"},
        {"nofp_deep", bench_switch_nofp, 1, "nofp, switched from 2 calls down"},
        {"nofp_jmp_deep", bench_switch_nofp_jmp, 1, "nofp_jmp, switched from 2 calls down"},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        var_pp.sw = variants[i].fn;
        var_pp.deep = variants[i].deep;
        printf("coro-variant variant=%s switch_ns=%.2f  # %s\n", variants[i].name,
               switch_ns(var_run, stack), variants[i].what);
    }
#endif
    munmap(stack, BENCH_STACK_SIZE);

    tardy_config cfg = {.threads = 1, .max_tasks = SPAWN_MAX_TASKS};
    int err = tardy_run(&cfg, runtime_benches, NULL);
    if (err)
        bench_die("tardy_run", err);

    printf("coro backend=%s driver=%s switch_ns=%.2f yield_ns=%.1f yield%u_ns=%.1f "
           "spawn_ns=%.1f\n",
           tardy_coro_backend, rt_result.driver, sw, rt_result.yield_ns, YIELD_MANY_TASKS,
           rt_result.yield_many_ns, rt_result.spawn_ns);
    return 0;
}
