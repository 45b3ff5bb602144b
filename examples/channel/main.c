/* channel: ping-pong between two runtimes (two threads) over two
 * tardy_chan channels, timing the round trips. */
#include "tardy.h"

#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ping_pong {
    tardy_chan *ping; /* runtime 0 -> runtime 1 */
    tardy_chan *pong; /* runtime 1 -> runtime 0 */
    unsigned long rounds;
    atomic_int status;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: channel [--rounds N]\n"
                 "  --rounds N   round trips between the two runtimes (default 10000)\n");
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

/* Reports an error and closes both channels, so the task on the other
 * runtime wakes with -EPIPE instead of waiting forever. */
static void fail(struct ping_pong *pp, const char *what, int err)
{
    fprintf(stderr, "channel: %s: %s\n", what, strerror(-err));
    atomic_store(&pp->status, 1);
    tardy_chan_close(pp->ping);
    tardy_chan_close(pp->pong);
}

/* Runtime 0: sends n, expects n + 1 back. */
static void pinger(struct ping_pong *pp)
{
    uint64_t start = tardy_now();
    for (uint64_t n = 0; n < pp->rounds; n++) {
        int ret = tardy_chan_send(pp->ping, &n);
        if (ret < 0) {
            fail(pp, "send ping", ret);
            return;
        }
        uint64_t reply;
        ret = tardy_chan_recv(pp->pong, &reply);
        if (ret < 0) {
            fail(pp, "receive pong", ret);
            return;
        }
        if (reply != n + 1) {
            fprintf(stderr, "channel: sent %llu, got back %llu instead of %llu\n",
                    (unsigned long long)n, (unsigned long long)reply, (unsigned long long)(n + 1));
            atomic_store(&pp->status, 1);
            break;
        }
    }
    uint64_t elapsed = tardy_now() - start;
    /* Closing tells the ponger there is nothing more to come. */
    tardy_chan_close(pp->ping);

    if (atomic_load(&pp->status) == 0) {
        printf("%lu round trips in %.3f ms: %llu ns per round trip (driver %s)\n", pp->rounds,
               (double)elapsed / 1e6, (unsigned long long)(pp->rounds ? elapsed / pp->rounds : 0),
               tardy_driver_name());
        fflush(stdout);
    }
}

/* Runtime 1: answers every n with n + 1 until the ping channel closes. */
static void ponger(struct ping_pong *pp)
{
    for (;;) {
        uint64_t n;
        int ret = tardy_chan_recv(pp->ping, &n);
        if (ret == -EPIPE)
            break; /* closed and drained: the pinger is done */
        if (ret < 0) {
            fail(pp, "receive ping", ret);
            return;
        }
        n++;
        ret = tardy_chan_send(pp->pong, &n);
        if (ret == -EPIPE)
            break;
        if (ret < 0) {
            fail(pp, "send pong", ret);
            return;
        }
    }
}

/* Runs as the first task of both runtimes; the runtime's index picks the role. */
static void entry(void *arg)
{
    struct ping_pong *pp = arg;
    if (tardy_runtime_index(tardy_runtime_self()) == 0)
        pinger(pp);
    else
        ponger(pp);
}

int main(int argc, char **argv)
{
    unsigned long rounds = 10000;

    static const struct option long_options[] = {
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "r:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            if (parse_unsigned(optarg, 1000000000ul, &rounds) < 0) {
                fprintf(stderr, "channel: --rounds wants a number from 0 to 1000000000, not '%s'\n",
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
        fprintf(stderr, "channel: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    struct ping_pong pp = {.rounds = rounds};
    atomic_init(&pp.status, 0);
    int ret = tardy_chan_create(&pp.ping, sizeof(uint64_t), 1);
    if (ret < 0) {
        fprintf(stderr, "channel: create: %s\n", strerror(-ret));
        return 1;
    }
    ret = tardy_chan_create(&pp.pong, sizeof(uint64_t), 1);
    if (ret < 0) {
        fprintf(stderr, "channel: create: %s\n", strerror(-ret));
        tardy_chan_destroy(pp.ping);
        return 1;
    }

    tardy_config config = {.threads = 2};
    ret = tardy_run(&config, entry, &pp);
    tardy_chan_destroy(pp.ping);
    tardy_chan_destroy(pp.pong);
    if (ret < 0) {
        fprintf(stderr, "channel: tardy_run: %s\n", strerror(-ret));
        return 1;
    }
    return atomic_load(&pp.status);
}
