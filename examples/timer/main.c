/* timer: prints a tick every --interval-ms milliseconds, --count times. The
 * ticks are scheduled against a fixed start, so they do not drift. */
#include "tardy.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull

struct timer_options {
    unsigned long interval_ms;
    unsigned long count;
    int status;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: timer [--interval-ms N] [--count N]\n"
                 "  --interval-ms N   milliseconds between ticks (default 100)\n"
                 "  --count N         number of ticks (default 10)\n");
}

static int parse_unsigned(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > max)
        return -1;
    *out = value;
    return 0;
}

static void tick_loop(void *arg)
{
    struct timer_options *opts = arg;
    uint64_t start = tardy_now();
    uint64_t interval = opts->interval_ms * NS_PER_MS;

    for (unsigned long tick = 1; tick <= opts->count; tick++) {
        /* Sleep until the tick's own instant rather than for one interval,
         * so time spent printing is not added to every later tick. */
        uint64_t due = start + tick * interval;
        uint64_t now = tardy_now();
        int ret = tardy_sleep(due > now ? due - now : 0);
        if (ret < 0) {
            fprintf(stderr, "timer: sleep: %s\n", strerror(-ret));
            opts->status = 1;
            return;
        }
        uint64_t elapsed = tardy_now() - start;
        printf("tick %lu at %llu.%03llu ms\n", tick, (unsigned long long)(elapsed / NS_PER_MS),
               (unsigned long long)(elapsed % NS_PER_MS / 1000));
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    struct timer_options opts = {.interval_ms = 100, .count = 10, .status = 0};

    static const struct option long_options[] = {
        {"interval-ms", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "i:c:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'i':
            /* Bounded so that count * interval in nanoseconds cannot overflow. */
            if (parse_unsigned(optarg, 86400000ul, &opts.interval_ms) < 0) {
                fprintf(stderr,
                        "timer: --interval-ms wants a number from 0 to 86400000, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'c':
            if (parse_unsigned(optarg, 1000000ul, &opts.count) < 0) {
                fprintf(stderr, "timer: --count wants a number from 0 to 1000000, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "timer: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    tardy_config config = {.threads = 1};
    int ret = tardy_run(&config, tick_loop, &opts);
    if (ret < 0) {
        fprintf(stderr, "timer: tardy_run: %s\n", strerror(-ret));
        return 1;
    }
    return opts.status;
}
