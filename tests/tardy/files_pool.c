/* Files while other tasks run: on epoll and busy the path calls wait for
 * the blocking pool (and a deadline ends them only while queued), on
 * io_uring they stay in the ring; a cold file (evicted from the page
 * cache) reads correctly while a ticking task keeps ticking. */
#include "common.h"

#include <sys/mman.h>
#include <sys/stat.h>

TestSuite(files_pool, .timeout = 90);

static bool uses_pool(void)
{
    const char *name = tardy_driver_name();
    return strcmp(name, "epoll") == 0 || strcmp(name, "busy") == 0;
}

static atomic_int gate, gate_started;

static int64_t job_hold(void *arg)
{
    (void)arg;
    atomic_fetch_add(&gate_started, 1);
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

static char dir[64], path[128], sub[128];
static atomic_int open_result = 1;

static void opener(void *arg)
{
    (void)arg;
    int fd = tardy_open(path, O_RDONLY, 0);
    atomic_store(&open_result, fd >= 0 ? 0 : fd);
    if (fd >= 0)
        tardy_close(fd);
}

static void routing_entry(void *arg)
{
    (void)arg;
    tardy_task h, o;
    TT_CHECK_EQ(tardy_spawn(holder, NULL, &h), 0);
    while (atomic_load(&gate_started) == 0)
        tardy_sleep(TT_MS);
    /* The only pool thread is taken. */
    TT_CHECK_EQ(tardy_spawn(opener, NULL, &o), 0);
    for (int i = 0; i < 20; i++)
        tardy_sleep(TT_MS);
    if (uses_pool())
        TT_CHECK_EQ(atomic_load(&open_result), 1); /* still queued */
    else
        TT_CHECK_EQ(atomic_load(&open_result), 0); /* done in the ring */

    /* A deadline ends a queued path call, which then never runs. */
    tardy_deadline_after(20 * TT_MS);
    int r = tardy_mkdir(sub, 0755);
    tardy_deadline_clear();
    if (uses_pool())
        TT_CHECK_EQ(r, -ETIMEDOUT);
    else
        TT_CHECK_EQ(r, 0);

    atomic_store(&gate, 1);
    TT_CHECK_EQ(tardy_join(o), 0);
    TT_CHECK_EQ(tardy_join(h), 0);
    TT_CHECK_EQ(atomic_load(&open_result), 0);
    struct stat st;
    TT_CHECK_EQ(tardy_stat(sub, &st), uses_pool() ? -ENOENT : 0);
    if (!uses_pool())
        TT_CHECK_EQ(rmdir(sub), 0);
}

Test(files_pool, path_calls_take_the_pool_on_readiness_drivers)
{
    snprintf(dir, sizeof dir, "/tmp/tardy-fpool-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert(fd >= 0);
    close(fd);
    tardy_config cfg = {.threads = 1, .blocking_threads = 1};
    TT_RUN(&cfg, routing_entry, NULL);
    unlink(path);
    rmdir(dir);
}

/* ---- a cold read while a task ticks ------------------------------------ */

#define COLD_SIZE (32u << 20)
#define COLD_CHUNK (256u << 10)

static atomic_bool reading;
static atomic_int ticks_during;
static uint64_t max_gap;
static bool direct; /* read with pread(2) on the runtime's thread instead */
static uint64_t read_ns;

static void ticker(void *arg)
{
    (void)arg;
    uint64_t last = tt_clock_ns();
    while (atomic_load(&reading)) {
        tardy_sleep(TT_MS);
        uint64_t now = tt_clock_ns();
        if (now - last > max_gap)
            max_gap = now - last;
        last = now;
        atomic_fetch_add(&ticks_during, 1);
    }
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 12));
}

static void cold_entry(void *arg)
{
    (void)arg;
    int fd = tardy_open(path, O_RDONLY, 0);
    TT_CHECK(fd >= 0);
    unsigned char *buf = malloc(COLD_CHUNK);
    atomic_store(&reading, true);
    TT_CHECK_EQ(tardy_spawn(ticker, NULL, NULL), 0);
    TT_CHECK_EQ(tardy_yield(), 0);
    uint64_t start = tt_clock_ns();
    size_t got = 0;
    bool same = true;
    while (got < COLD_SIZE) {
        ssize_t n = direct ? pread(fd, buf, COLD_CHUNK, (off_t)got)
                           : tardy_read(fd, buf, COLD_CHUNK, (int64_t)got);
        if (n <= 0) {
            TT_CHECK(n > 0);
            break;
        }
        for (ssize_t i = 0; i < n; i += 509)
            same = same && buf[i] == pattern(got + (size_t)i);
        got += (size_t)n;
        /* As a program that sends each chunk on would: between reads the
         * other tasks get their turn, so what delays them is the reads. */
        tardy_yield();
    }
    read_ns = tt_clock_ns() - start;
    atomic_store(&reading, false);
    TT_CHECK_EQ(got, COLD_SIZE);
    TT_CHECK(same);
    free(buf);
    tardy_close(fd);
}

static void make_cold_file(void)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    unsigned char *buf = malloc(COLD_CHUNK);
    for (size_t off = 0; off < COLD_SIZE; off += COLD_CHUNK) {
        for (size_t i = 0; i < COLD_CHUNK; i++)
            buf[i] = pattern(off + i);
        cr_assert_eq(write(fd, buf, COLD_CHUNK), (ssize_t)COLD_CHUNK);
    }
    free(buf);
    fsync(fd);
    close(fd);
}

static void evict(void)
{
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    /* Clean pages (written back by the fsync) are dropped at once. */
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

Test(files_pool, cold_read_while_a_task_ticks)
{
    /* On disk, not in a tmpfs: TARDY_COLD_DIR, else the build directory. */
    const char *base = getenv("TARDY_COLD_DIR");
    snprintf(dir, sizeof dir, "%s/tardy-cold-XXXXXX", base ? base : ".");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/file", dir);
    make_cold_file();
    tardy_config cfg = {.threads = 1};
    const char *drv = getenv("TARDY_DRIVER");
    for (int pass = 0; pass < 2; pass++) {
        direct = pass == 1;
        evict();
        atomic_store(&ticks_during, 0);
        max_gap = 0;
        TT_RUN(&cfg, cold_entry, NULL);
        fprintf(stderr,
                "files_pool (%s): cold %u MiB via %s: %.1f ms, %d ticks of 1 ms meanwhile, "
                "largest gap %.1f ms\n",
                drv ? drv : "auto", COLD_SIZE >> 20, direct ? "pread on the loop" : "tardy_read",
                (double)read_ns / 1e6, atomic_load(&ticks_during), (double)max_gap / 1e6);
    }
    unlink(path);
    rmdir(dir);
}

/* tardy_read_cached takes only what the page cache holds: nothing of a
 * file just evicted (-EAGAIN, without waiting for the disk), the bytes
 * once a read has brought them in; outside any runtime too. */
Test(files_pool, read_cached_takes_only_cached_pages)
{
    const char *base = getenv("TARDY_COLD_DIR");
    snprintf(dir, sizeof dir, "%s/tardy-cached-XXXXXX", base ? base : ".");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/file", dir);
    enum { SIZE = 256 * 1024 };
    unsigned char *data = malloc(SIZE), *got = malloc(SIZE);
    cr_assert(data && got);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = pattern(i);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, SIZE), (ssize_t)SIZE);
    fsync(fd);
    /* Where the file system (a tmpfs) or the C library cannot read
     * without waiting, every answer is -EAGAIN: nothing to see here. */
    bool nowait = false;
#ifdef RWF_NOWAIT
    struct iovec probe = {.iov_base = got, .iov_len = 1};
    nowait = preadv2(fd, &probe, 1, 0, RWF_NOWAIT) >= 0;
#endif
    if (!nowait) {
        close(fd);
        unlink(path);
        rmdir(dir);
        free(data);
        free(got);
        cr_skip_test("no non-waiting reads of files in %s", base ? base : ".");
    }
    evict();
    /* Whether the kernel dropped the pages: mincore of a mapping. */
    void *map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    cr_assert(map != MAP_FAILED);
    unsigned char resident[SIZE / 4096] = {0};
    cr_assert_eq(mincore(map, SIZE, resident), 0);
    munmap(map, SIZE);
    bool dropped = (resident[0] & 1) == 0;
    ssize_t cold = tardy_read_cached(fd, got, SIZE, 0);
    ssize_t warm_in = pread(fd, got, SIZE, 0);
    memset(got, 0, SIZE);
    ssize_t warm = tardy_read_cached(fd, got, SIZE, 0);
    bool same = warm == SIZE && memcmp(got, data, SIZE) == 0;
    close(fd);
    unlink(path);
    rmdir(dir);
    free(data);
    free(got);
    cr_assert_eq(warm_in, (ssize_t)SIZE);
    cr_expect(same, "the cached read gave %zd bytes, or other bytes", warm);
    if (!dropped)
        cr_skip_test("the kernel kept the first page after POSIX_FADV_DONTNEED");
    cr_expect_eq(cold, -EAGAIN, "an evicted file's read gave %zd", cold);
}

/* A cancel that reaches a file call already running on the pool cannot
 * stop it (the kernel writes into the caller's memory), so the call
 * returns its real result; the cancel is kept for the task's next wait. */
static tardy_task fifo_victim;
static atomic_int fifo_state;
static char fifo_path[64];

static void fifo_opener(void *arg)
{
    (void)arg;
    atomic_store(&fifo_state, 1);
    int fd = tardy_open(fifo_path, O_RDONLY, 0); /* blocks until a writer opens */
    TT_CHECK(fd >= 0);
    if (fd >= 0)
        tardy_close(fd);
    uint64_t t0 = tardy_now();
    TT_CHECK_EQ(tardy_sleep(2000 * TT_MS), -ECANCELED);
    TT_CHECK(tardy_now() - t0 < 1000 * TT_MS);
    atomic_store(&fifo_state, 3);
}

static void fifo_entry(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_spawn(fifo_opener, NULL, &fifo_victim), 0);
    while (atomic_load(&fifo_state) < 1)
        tardy_sleep(TT_MS);
    tardy_sleep(50 * TT_MS); /* the open is running on a pool thread */
    TT_CHECK_EQ(tardy_cancel(fifo_victim), 0);
    tardy_sleep(20 * TT_MS);
    int w = open(fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    TT_CHECK(w >= 0);
    tardy_join(fifo_victim);
    if (w >= 0)
        close(w);
}

Test(files_pool, a_cancel_during_a_running_call_stays_pending)
{
    const char *drv = getenv("TARDY_DRIVER");
    if (!drv || (strcmp(drv, "epoll") != 0 && strcmp(drv, "busy") != 0))
        cr_skip_test("only epoll and busy take file calls to the pool");
    snprintf(fifo_path, sizeof fifo_path, "/tmp/tardy-fifo-%d", (int)getpid());
    unlink(fifo_path);
    cr_assert_eq(mkfifo(fifo_path, 0600), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, fifo_entry, NULL);
    unlink(fifo_path);
    cr_expect_eq(atomic_load(&fifo_state), 3);
}
