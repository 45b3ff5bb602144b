/* Helpers the benchmarks share: the clock, failing loudly, calibrating an
 * iteration count to a time budget, and the median of repetitions. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

/* Options common to the benchmarks. */
typedef struct bench_opts {
    unsigned reps;      /* timed repetitions; the median is reported */
    uint64_t target_ns; /* wall time one repetition should take */
    int quick;          /* --quick: a fraction of the work, for CI */
} bench_opts;

/* Runs `n` iterations of some work and returns the nanoseconds taken. */
typedef uint64_t (*bench_work_fn)(uint64_t n, void *ctx);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Prints "bench: what: strerror(-err)" and exits with status 1. */
_Noreturn void bench_die(const char *what, int err);

/* Kills the process after `seconds`, so that a stuck benchmark ends. */
void bench_watchdog(unsigned seconds);

/* Parses --quick, --reps N and --help (the only options of bench-coro). */
void bench_parse_common(int argc, char **argv, const char *prog, bench_opts *opts);

/* Runs `run` once untimed (warm-up) and finds the iteration count that
 * takes about target_ns. */
uint64_t bench_calibrate(bench_work_fn run, void *ctx, uint64_t target_ns);

/* Runs `run` with n iterations `reps` times after one warm-up run, and
 * returns the median of the times. */
double bench_median_ns(bench_work_fn run, void *ctx, uint64_t n, unsigned reps);

/* Median of `count` values (sorts them in place). */
double bench_median(double *values, unsigned count);

#endif
