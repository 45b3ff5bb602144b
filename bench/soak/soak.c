/* soak: drives a mix of traffic (soak_mix.c) at the soak servers from
 * worker processes, samples each server's RSS and open descriptors as
 * the count grows, and checks at the end that both stayed flat. See
 * bench/soak/soak.sh, which starts the servers and runs this.
 *
 *   soak --plain PORT --tls PORT --pid NAME=PID... [--requests N]
 *        [--workers N] [--rows N] [--max-seconds S] [--seed N]
 *
 * Flat means: the RSS at the last row is at most that of the first row
 * (after a tenth of the run) plus the larger of 1 MiB and 10%; and once
 * the load stops, the descriptors go back to their count before it
 * (the listening baseline) within 15 s. Exit status: 0 when every answer
 * was right and both held, 1 otherwise, 3 when the time bound cut the
 * run short (the figures are still printed and checked). */
#include "soak_mix.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 16
#define MAX_PIDS 4
#define MAX_ROWS 64
#define MAX_ERRORS_SHOWN 20
#define WORKER_ERROR_LIMIT 50

enum { K_KEEPALIVE, K_PIPELINE, K_BAD, K_UPLOAD, K_WS, K_RST_REQ, K_RST_RES, K_RST_HS, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    "keep-alive", "pipelined", "bad request", "upload", "websocket",
    "rst mid-request", "rst mid-response", "rst mid-handshake",
};

typedef struct shared {
    _Atomic uint64_t done[MAX_WORKERS];
    _Atomic uint64_t exchanges[K_COUNT], tls_exchanges[K_COUNT];
    _Atomic uint64_t errors, tls_full, tls_resumed, tls_missed;
    _Atomic unsigned shown;
} shared;

static shared *sh;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the workers ----------------------------------------------------------- */

static int exchange(soak_worker *w, unsigned kind, bool tls)
{
    switch (kind) {
    case K_KEEPALIVE: return soak_keepalive(w, tls);
    case K_PIPELINE: return soak_pipeline(w, tls);
    case K_BAD: return soak_bad(w, tls);
    case K_UPLOAD: return soak_upload(w, tls);
    case K_WS: return soak_ws(w, tls);
    case K_RST_REQ: return soak_rst_request(w, tls);
    case K_RST_RES: return soak_rst_response(w, tls);
    default: return soak_rst_handshake(w);
    }
}

/* The mix, in percent: mostly requests on open connections, with a
 * steady share of new connections, TLS handshakes and resets. */
static unsigned pick_kind(uint32_t r)
{
    static const unsigned weights[K_COUNT] = {26, 14, 10, 12, 14, 8, 7, 9};
    unsigned at = r % 100;
    for (unsigned k = 0; k < K_COUNT; k++) {
        if (at < weights[k])
            return k;
        at -= weights[k];
    }
    return K_KEEPALIVE;
}

static void worker(unsigned id, uint16_t plain, uint16_t tls, uint64_t quota, double deadline,
                   uint64_t seed)
{
    soak_worker w = {.port_plain = plain, .port_tls = tls, .rng = seed * 2654435761u + id + 1};
    w.ctx = SSL_CTX_new(TLS_client_method());
    if (!w.ctx) {
        fprintf(stderr, "soak: SSL_CTX_new failed\n");
        _exit(1);
    }
    SSL_CTX_set_min_proto_version(w.ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(w.ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(w.ctx, SSL_VERIFY_NONE, NULL);
    soak_mix_init(&w);
    uint64_t done = 0, errors = 0;
    unsigned turn = 0;
    while (done < quota && errors < WORKER_ERROR_LIMIT) {
        if (++turn % 64 == 0 && now_s() > deadline)
            break;
        uint32_t r = (uint32_t)(w.rng >> 11) ^ (uint32_t)turn * 2246822519u;
        w.rng ^= w.rng << 13;
        w.rng ^= w.rng >> 7;
        w.rng ^= w.rng << 17;
        unsigned kind = pick_kind(r);
        /* A third of the exchanges over TLS (every handshake reset is). */
        bool over_tls = kind == K_RST_HS || (r >> 8) % 3 == 0;
        int n = exchange(&w, kind, over_tls);
        atomic_fetch_add(&sh->exchanges[kind], 1);
        if (over_tls)
            atomic_fetch_add(&sh->tls_exchanges[kind], 1);
        if (n < 0) {
            errors++;
            atomic_fetch_add(&sh->errors, 1);
            if (atomic_fetch_add(&sh->shown, 1) < MAX_ERRORS_SHOWN)
                fprintf(stderr, "soak: worker %u, %s%s: %s\n", id, kind_names[kind],
                        over_tls ? " (TLS)" : "", soak_err);
            n = 1;
        }
        done += (uint64_t)n;
        atomic_store(&sh->done[id], done);
    }
    atomic_fetch_add(&sh->tls_full, w.tls_full);
    atomic_fetch_add(&sh->tls_resumed, w.tls_resumed);
    atomic_fetch_add(&sh->tls_missed, w.tls_missed);
    if (w.session)
        SSL_SESSION_free(w.session);
    SSL_CTX_free(w.ctx);
    _exit(0);
}

/* ---- the servers' figures -------------------------------------------------- */

typedef struct watched {
    char name[32];
    pid_t pid;
    long rss_kib, fds; /* -1: the process is gone */
} watched;

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static long fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void sample(watched *ws, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ws[i].rss_kib = rss_kib(ws[i].pid);
        ws[i].fds = fd_count(ws[i].pid);
    }
}

static uint64_t total_done(unsigned workers)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < workers; i++)
        sum += atomic_load(&sh->done[i]);
    return sum;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak --plain PORT --tls PORT --pid NAME=PID... [--requests N]\n"
                    "            [--workers N] [--rows N] [--max-seconds S] [--seed N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint16_t plain = 0, tls = 0;
    uint64_t requests = 10000000, seed = 1;
    unsigned workers = 4, rows = 10;
    double max_seconds = 3600;
    watched ws[MAX_PIDS];
    size_t nws = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i + 1];
        if (strcmp(argv[i], "--plain") == 0)
            plain = (uint16_t)strtoul(a, NULL, 10);
        else if (strcmp(argv[i], "--tls") == 0)
            tls = (uint16_t)strtoul(a, NULL, 10);
        else if (strcmp(argv[i], "--requests") == 0)
            requests = strtoull(a, NULL, 10);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = (unsigned)strtoul(a, NULL, 10);
        else if (strcmp(argv[i], "--rows") == 0)
            rows = (unsigned)strtoul(a, NULL, 10);
        else if (strcmp(argv[i], "--max-seconds") == 0)
            max_seconds = strtod(a, NULL);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(a, NULL, 10);
        else if (strcmp(argv[i], "--pid") == 0 && nws < MAX_PIDS) {
            const char *eq = strchr(a, '=');
            if (!eq || (size_t)(eq - a) >= sizeof ws[0].name)
                usage();
            snprintf(ws[nws].name, sizeof ws[0].name, "%.*s", (int)(eq - a), a);
            ws[nws++].pid = (pid_t)strtol(eq + 1, NULL, 10);
        } else
            usage();
    }
    if (!plain || !tls || !nws || workers < 1 || workers > MAX_WORKERS || rows < 2 ||
        rows > MAX_ROWS || requests < rows)
        usage();
    signal(SIGPIPE, SIG_IGN);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("soak: mmap");
        return 1;
    }
    memset(sh, 0, sizeof *sh);

    watched base[MAX_PIDS], at[MAX_ROWS][MAX_PIDS];
    memcpy(base, ws, sizeof ws);
    sample(base, nws);
    printf("soak: %llu requests, %u workers, at most %.0f s; before the load:",
           (unsigned long long)requests, workers, max_seconds);
    for (size_t i = 0; i < nws; i++)
        printf(" %s RSS %ld KiB, %ld fds;", base[i].name, base[i].rss_kib, base[i].fds);
    printf("\n%12s %8s %9s", "requests", "seconds", "req/s");
    for (size_t i = 0; i < nws; i++)
        printf("  %9s %-7s %5s", "RSS KiB", base[i].name, "fds");
    printf("\n");
    fflush(stdout);

    double start = now_s(), deadline = start + max_seconds;
    for (unsigned i = 0; i < workers; i++) {
        uint64_t quota = requests / workers + (i < requests % workers ? 1 : 0);
        pid_t pid = fork();
        if (pid < 0) {
            perror("soak: fork");
            return 1;
        }
        if (pid == 0)
            worker(i, plain, tls, quota, deadline, seed);
    }

    uint64_t step = requests / rows, next = step, last_total = 0;
    unsigned nrows = 0, running = workers;
    double last_t = start;
    while (running > 0) {
        usleep(100000);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            running--;
        uint64_t total = total_done(workers);
        double t = now_s();
        /* A row at each tenth (or 1/rows) of the count, and a last one
         * when the workers are done. */
        if ((total >= next || running == 0) && nrows < MAX_ROWS) {
            memcpy(at[nrows], ws, sizeof ws);
            sample(at[nrows], nws);
            printf("%12llu %8.1f %9.0f", (unsigned long long)total, t - start,
                   (double)(total - last_total) / (t - last_t));
            for (size_t i = 0; i < nws; i++)
                printf("  %9ld %-7s %5ld", at[nrows][i].rss_kib, "", at[nrows][i].fds);
            printf("\n");
            fflush(stdout);
            nrows++;
            last_total = total;
            last_t = t;
            while (next <= total)
                next += step;
        }
    }
    double elapsed = now_s() - start;
    uint64_t total = total_done(workers);

    /* Idle: every connection closed; the descriptors must come back. */
    watched idle[MAX_PIDS];
    double idle_start = now_s();
    bool fds_back = false;
    while (!fds_back && now_s() - idle_start < 15) {
        memcpy(idle, ws, sizeof ws);
        sample(idle, nws);
        fds_back = true;
        for (size_t i = 0; i < nws; i++)
            fds_back = fds_back && idle[i].fds == base[i].fds;
        if (!fds_back)
            usleep(100000);
    }

    printf("\n%llu requests in %.1f s: %.0f requests/s (%u workers)\n",
           (unsigned long long)total, elapsed, (double)total / elapsed, workers);
    printf("exchanges:");
    for (unsigned k = 0; k < K_COUNT; k++)
        printf(" %s %llu (%llu TLS);", kind_names[k],
               (unsigned long long)atomic_load(&sh->exchanges[k]),
               (unsigned long long)atomic_load(&sh->tls_exchanges[k]));
    printf("\nTLS handshakes: %llu full, %llu resumed, %llu offered but not resumed\n",
           (unsigned long long)atomic_load(&sh->tls_full),
           (unsigned long long)atomic_load(&sh->tls_resumed),
           (unsigned long long)atomic_load(&sh->tls_missed));

    bool ok = atomic_load(&sh->errors) == 0;
    printf("errors: %llu\n", (unsigned long long)atomic_load(&sh->errors));
    for (size_t i = 0; i < nws; i++) {
        long ref = at[0][i].rss_kib, last = at[nrows - 1][i].rss_kib;
        long allow = ref / 10 > 1024 ? ref / 10 : 1024;
        bool rss_ok = ref > 0 && last > 0 && last <= ref + allow;
        bool fd_ok = idle[i].fds == base[i].fds;
        printf("%s: RSS %ld KiB after the first row, %ld KiB at the last (allowed %ld), "
               "%ld KiB idle: %s; fds %ld before, %ld idle after: %s\n",
               ws[i].name, ref, last, ref + allow, idle[i].rss_kib, rss_ok ? "flat" : "GREW",
               base[i].fds, idle[i].fds, fd_ok ? "back" : "NOT BACK");
        ok = ok && rss_ok && fd_ok;
    }
    bool cut = total < requests;
    if (cut)
        printf("the time bound of %.0f s stopped the run at %llu of %llu requests\n", max_seconds,
               (unsigned long long)total, (unsigned long long)requests);
    printf("soak: %s\n", !ok ? "FAILED" : cut ? "cut short by the time bound" : "passed");
    return !ok ? 1 : cut ? 3 : 0;
}
