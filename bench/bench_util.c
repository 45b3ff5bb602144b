/* Helpers the benchmarks share; see bench_util.h. */
#include "bench_util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_REPS 101u

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_die(const char *what, int err)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

void bench_watchdog(unsigned seconds)
{
    /* SIGALRM's default action ends the process. */
    signal(SIGALRM, SIG_DFL);
    alarm(seconds);
}

static unsigned parse_count(const char *prog, const char *opt, const char *text, unsigned max)
{
    char *end;
    unsigned long value = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || text[0] == '-' || value == 0 || value > max) {
        fprintf(stderr, "%s: %s wants a number from 1 to %u, not '%s'\n", prog, opt, max, text);
        exit(2);
    }
    return (unsigned)value;
}

void bench_parse_common(int argc, char **argv, const char *prog, bench_opts *opts)
{
    static const struct option long_options[] = {
        {"quick", no_argument, NULL, 'q'},
        {"reps", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned reps = 0;
    opts->quick = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "qr:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'q':
            opts->quick = 1;
            break;
        case 'r':
            reps = parse_count(prog, "--reps", optarg, BENCH_MAX_REPS);
            break;
        case 'h':
            printf("usage: %s [--quick] [--reps N]\n"
                   "  --quick   5 repetitions of 3 ms each instead of 15 of 10 ms (CI)\n"
                   "  --reps N  timed repetitions, median reported (default 15)\n",
                   prog);
            exit(0);
        default:
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        exit(2);
    }
    /* Many short repetitions: on a shared machine a disturbed one is an
     * outlier that the median drops, where a long one would absorb it. */
    opts->reps = reps ? reps : opts->quick ? 5 : 15;
    opts->target_ns = opts->quick ? 3000000u : 10000000u;
}

uint64_t bench_calibrate(bench_work_fn run, void *ctx, uint64_t target_ns)
{
    run(16, ctx); /* warm caches, stacks and branch predictors */
    uint64_t n = 16;
    for (;;) {
        uint64_t took = run(n, ctx);
        if (took >= target_ns / 8 || n >= ((uint64_t)1 << 40)) {
            double scaled = (double)n * (double)target_ns / (double)(took ? took : 1);
            return scaled < 1.0 ? 1 : (uint64_t)scaled;
        }
        n *= 4;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, unsigned count)
{
    qsort(values, count, sizeof *values, cmp_double);
    if (count % 2)
        return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

double bench_median_ns(bench_work_fn run, void *ctx, uint64_t n, unsigned reps)
{
    double times[BENCH_MAX_REPS];
    if (reps > BENCH_MAX_REPS)
        reps = BENCH_MAX_REPS;
    run(n, ctx); /* warm-up at full size */
    for (unsigned i = 0; i < reps; i++)
        times[i] = (double)run(n, ctx);
    return bench_median(times, reps);
}
