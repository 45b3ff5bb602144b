/* Unit tests of the static files' cache (zzz/src/http/static_cache.c):
 * what it keeps (the size and settling limits, at them and past them),
 * that a use in a new I/O epoch checks the file (rewritten, replaced,
 * removed, a sibling that appears) and one in the same epoch does not,
 * least-recently-used eviction within its byte and descriptor budgets,
 * idle entries going, and that a pinned entry outlives its eviction.
 * Files are real, in a temporary directory; reads go through tardy, so
 * each test runs its body as the first task of a one-thread runtime, and
 * a change the cache must see is followed by a turn of the scheduler (as
 * a request arriving after it would be). */
#include "static_impl.h"

#include "tardy.h"

#include <criterion/criterion.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static int dir_fd = -1;

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/zzz-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dir_fd, 0);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    close(dir_fd);
}

TestSuite(static_cache, .init = setup, .fini = teardown);

/* Writes name with len bytes of `fill` (through a new file renamed over
 * it when `replace`, so the name gets another inode). */
static void write_file(const char *name, size_t len, char fill, bool replace)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int fd = open(replace ? tmp : path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    char *buf = malloc(len ? len : 1);
    cr_assert(buf);
    memset(buf, fill, len);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    free(buf);
    close(fd);
    if (replace)
        cr_assert_eq(rename(tmp, path), 0);
}

/* Lets the coarse clock of file timestamps move on, so a change made now
 * gets times other than what was cached (the cache itself only keeps
 * files two seconds old, for the same reason). */
static void next_tick(void)
{
    usleep(30 * 1000);
}

/* A turn of the scheduler: what a request arriving now would come after
 * (tardy_io_epoch moves on). */
static void next_turn(void)
{
    uint64_t before = tardy_io_epoch();
    cr_assert_eq(tardy_yield(), 0);
    cr_assert_gt(tardy_io_epoch(), before);
}

/* Opens name and keeps it in c; the entry, pinned. */
static const static_cached *put(static_cache *c, const char *name)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", name, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    static_entity e = {.type = "application/octet-stream", .size = (uint64_t)st.st_size};
    const static_cached *f = zzz_http_static_cache_put(c, name, strlen(name), fd, &st, &e);
    close(fd);
    return f;
}

static const static_cached *get(static_cache *c, const char *name)
{
    return zzz_http_static_cache_get(c, dir_fd, name, strlen(name));
}

static void expect_bytes(const static_cached *f, size_t len, char fill)
{
    cr_assert_not_null(f);
    cr_assert_not(f->absent);
    cr_assert_eq(f->e.size, len);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(f->data[i], fill, "byte %zu", i);
}

/* Runs body as the first task of a one-thread runtime. */
typedef struct body_ref {
    void (*body)(void);
} body_ref;

static void task(void *arg)
{
    ((body_ref *)arg)->body();
}

static void in_tardy(void (*body)(void))
{
    tardy_config cfg = {.threads = 1};
    body_ref ref = {body};
    cr_assert_eq(tardy_run(&cfg, task, &ref), 0);
}

static void keeps_and_checks_body(void)
{
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not_null(c);
    write_file("a.txt", 1000, 'a', false);
    cr_assert_null(get(c, "a.txt"), "nothing is cached before a put");
    const static_cached *f = put(c, "a.txt");
    expect_bytes(f, 1000, 'a');
    zzz_http_static_cache_unpin(c, f);
    f = get(c, "a.txt");
    expect_bytes(f, 1000, 'a');
    zzz_http_static_cache_unpin(c, f);

    /* Rewritten in place, same size: a miss, then the new bytes. */
    next_tick();
    write_file("a.txt", 1000, 'b', false);
    next_turn();
    cr_assert_null(get(c, "a.txt"), "a file rewritten in place is not served from the cache");
    f = put(c, "a.txt");
    expect_bytes(f, 1000, 'b');
    zzz_http_static_cache_unpin(c, f);

    /* Replaced by another file (rename over it). */
    next_tick();
    write_file("a.txt", 1000, 'c', true);
    next_turn();
    cr_assert_null(get(c, "a.txt"), "a replaced file is not served from the cache");
    f = put(c, "a.txt");
    expect_bytes(f, 1000, 'c');
    zzz_http_static_cache_unpin(c, f);

    /* Only its times changed (touch, chmod). */
    next_tick();
    char path[512];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    cr_assert_eq(chmod(path, 0600), 0);
    next_turn();
    cr_assert_null(get(c, "a.txt"), "a file whose change time moved is read again");
    zzz_http_static_cache_unpin(c, put(c, "a.txt"));

    /* Removed; and a directory where the file was. */
    cr_assert_eq(unlink(path), 0);
    next_turn();
    cr_assert_null(get(c, "a.txt"), "a removed file is not served");
    zzz_http_static_cache_free(c);
}

Test(static_cache, keeps_and_checks)
{
    in_tardy(keeps_and_checks_body);
}

static void absent_body(void)
{
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not_null(c);
    zzz_http_static_cache_put_absent(c, dir_fd, "x.br", 4);
    const static_cached *f = get(c, "x.br");
    cr_assert_not_null(f);
    cr_assert(f->absent);
    cr_assert_null(f->data);
    zzz_http_static_cache_unpin(c, f);
    /* It appears: the absence is forgotten at once. */
    write_file("x.br", 10, 'z', false);
    next_turn();
    cr_assert_null(get(c, "x.br"), "a sibling that appeared is still taken as absent");
    cr_assert_null(get(c, "x.br"), "the stale absence was not dropped");
    /* A link that leads out: the server's open refuses it as if absent,
     * but a stat finds it, so recording it would only be undone. */
    char link_path[300];
    snprintf(link_path, sizeof link_path, "%s/y.br", dir);
    cr_assert_eq(symlink("/", link_path), 0);
    zzz_http_static_cache_put_absent(c, dir_fd, "y.br", 4);
    cr_assert_null(get(c, "y.br"), "a name a stat finds was recorded absent");
    zzz_http_static_cache_free(c);
}

Test(static_cache, absent_names)
{
    in_tardy(absent_body);
}

/* Entries cost their bytes plus a bookkeeping overhead; the budget here
 * holds three 4 KiB files and not four. */
static void eviction_body(void)
{
    static_cache *c = zzz_http_static_cache_new(3 * 4096 + 1024, 16384, 0, 0);
    cr_assert_not_null(c);
    const char *names[] = {"0", "1", "2", "3"};
    for (int i = 0; i < 4; i++)
        write_file(names[i], 4096, (char)('0' + i), false);
    for (int i = 0; i < 3; i++)
        zzz_http_static_cache_unpin(c, put(c, names[i]));
    /* "0" used again: "1" is now the least recently used. */
    const static_cached *f = get(c, "0");
    expect_bytes(f, 4096, '0');
    zzz_http_static_cache_unpin(c, f);
    zzz_http_static_cache_unpin(c, put(c, "3"));
    cr_assert_null(get(c, "1"), "the least recently used entry was kept past the budget");
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        f = get(c, names[i]);
        expect_bytes(f, 4096, (char)('0' + i));
        zzz_http_static_cache_unpin(c, f);
    }
    zzz_http_static_cache_free(c);
}

Test(static_cache, least_recently_used_goes)
{
    in_tardy(eviction_body);
}

/* An entry a handler still sends from stays whole after it is evicted
 * or replaced, and is freed by its last unpin (a sanitizer build checks
 * both). */
static void pinned_body(void)
{
    static_cache *c = zzz_http_static_cache_new(2 * 4096 + 1024, 16384, 0, 0);
    cr_assert_not_null(c);
    write_file("p", 4096, 'p', false);
    write_file("q", 4096, 'q', false);
    write_file("r", 4096, 'r', false);
    const static_cached *held = put(c, "p");
    zzz_http_static_cache_unpin(c, put(c, "q"));
    zzz_http_static_cache_unpin(c, put(c, "r")); /* evicts p, pinned */
    cr_assert_null(get(c, "p"));
    expect_bytes(held, 4096, 'p');
    /* The same name put again while the old entry is held. */
    const static_cached *again = put(c, "q");
    expect_bytes(again, 4096, 'q');
    const static_cached *older = get(c, "r");
    expect_bytes(older, 4096, 'r');
    zzz_http_static_cache_unpin(c, held);
    zzz_http_static_cache_unpin(c, again);
    zzz_http_static_cache_unpin(c, older);
    zzz_http_static_cache_free(c);
}

Test(static_cache, pinned_entry_outlives_eviction)
{
    in_tardy(pinned_body);
}

/* A file bigger than the whole budget is not kept. */
static void too_big_body(void)
{
    static_cache *c = zzz_http_static_cache_new(8192, 1 << 20, 0, 0);
    cr_assert_not_null(c);
    write_file("big", 8192, 'g', false);
    cr_assert_null(put(c, "big"), "a file bigger than the budget was kept");
    cr_assert_null(get(c, "big"));
    write_file("small", 100, 's', false);
    const static_cached *f = put(c, "small");
    expect_bytes(f, 100, 's');
    zzz_http_static_cache_unpin(c, f);
    zzz_http_static_cache_free(c);
}

Test(static_cache, bigger_than_budget_not_kept)
{
    in_tardy(too_big_body);
}

/* What the cache takes: regular files up to file_max (at the limit, not
 * one byte past it), left alone two seconds or more (modification and
 * change times both). */
Test(static_cache, wants_at_and_past_limits)
{
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not_null(c);
    time_t now = 1000000;
    struct stat st = {.st_mode = S_IFREG | 0644, .st_size = 16384};
    st.st_mtim.tv_sec = now - 2;
    st.st_ctim.tv_sec = now - 2;
    cr_assert(zzz_http_static_cache_wants(c, &st, now), "a file at file_max is kept");
    st.st_size = 16385;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "a byte past file_max is kept");
    st.st_size = 0;
    cr_assert(zzz_http_static_cache_wants(c, &st, now), "an empty file is kept");
    st.st_mtim.tv_sec = now - 1;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "modified a second ago");
    st.st_mtim.tv_sec = now - 2;
    st.st_ctim.tv_sec = now - 1;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "changed a second ago");
    st.st_ctim.tv_sec = now - 2;
    st.st_mtim.tv_sec = now + 60; /* a modification time set in the future */
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "a future time");
    st.st_mtim.tv_sec = now - 2;
    st.st_mode = S_IFDIR | 0755;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "a directory");
    st.st_mode = S_IFIFO | 0644;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "a FIFO");
    zzz_http_static_cache_free(c);
}

/* The check is made once per I/O epoch: a change after it is not seen
 * until the epoch moves on (no request can have arrived after the change
 * and before the check), and then it is. Outside a runtime every get
 * checks. */
static void epoch_body(void)
{
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not_null(c);
    write_file("e", 100, 'e', false);
    zzz_http_static_cache_unpin(c, put(c, "e"));
    const static_cached *f = get(c, "e"); /* checked in this epoch */
    expect_bytes(f, 100, 'e');
    zzz_http_static_cache_unpin(c, f);
    write_file("e", 200, 'f', true);
    f = get(c, "e");
    expect_bytes(f, 100, 'e'); /* not checked again: the same epoch */
    zzz_http_static_cache_unpin(c, f);
    next_turn();
    cr_assert_null(get(c, "e"), "a new epoch did not check the file");
    zzz_http_static_cache_free(c);
}

Test(static_cache, one_check_per_epoch)
{
    in_tardy(epoch_body);
}

/* Filled in a runtime (reads go through tardy), used after it. */
static static_cache *outside_cache;

static void outside_body(void)
{
    outside_cache = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not_null(outside_cache);
    write_file("o", 100, 'o', false);
    zzz_http_static_cache_unpin(outside_cache, put(outside_cache, "o"));
}

Test(static_cache, every_get_checks_outside_a_runtime)
{
    in_tardy(outside_body);
    static_cache *c = outside_cache;
    cr_assert_eq(tardy_io_epoch(), 0);
    const static_cached *f = get(c, "o");
    expect_bytes(f, 100, 'o');
    zzz_http_static_cache_unpin(c, f);
    write_file("o", 200, 'p', true);
    cr_assert_null(get(c, "o"), "a get outside a runtime skipped its check");
    zzz_http_static_cache_free(c);
}

/* The descriptors open in this process. */
static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void expect_fd_bytes(const static_cached *f, size_t len, char fill)
{
    cr_assert_not_null(f);
    cr_assert_not(f->absent);
    cr_assert_null(f->data);
    cr_assert_geq(f->fd, 0);
    cr_assert_eq(f->e.size, len);
    char buf[256];
    cr_assert_leq(len, sizeof buf);
    cr_assert_eq(pread(f->fd, buf, sizeof buf, 0), (ssize_t)len);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(buf[i], fill, "byte %zu", i);
}

/* Files past file_max are kept as descriptors, at most fd_max of them:
 * at the limit all are held, one past it the least recently used goes
 * and its descriptor is closed; a pinned one stays open until its unpin;
 * a file changed in place is dropped; freeing the cache closes the rest. */
static void descriptors_body(void)
{
    int before = open_fds();
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16, 2, 0);
    cr_assert_not_null(c);
    write_file("d0", 100, '0', false);
    write_file("d1", 100, '1', false);
    write_file("d2", 100, '2', false);
    write_file("small", 16, 's', false);
    const static_cached *held = put(c, "d0");
    expect_fd_bytes(held, 100, '0');
    const static_cached *f = put(c, "d1");
    expect_fd_bytes(f, 100, '1');
    zzz_http_static_cache_unpin(c, f);
    cr_assert_eq(open_fds(), before + 2, "two descriptors held at fd_max 2");
    f = put(c, "small"); /* at file_max: its bytes, no descriptor */
    expect_bytes(f, 16, 's');
    cr_assert_eq(f->fd, -1);
    zzz_http_static_cache_unpin(c, f);
    cr_assert_eq(open_fds(), before + 2);
    /* One past the limit: d0, the least recently used, goes, but it is
     * pinned and stays readable until its unpin closes it. */
    f = put(c, "d2");
    expect_fd_bytes(f, 100, '2');
    zzz_http_static_cache_unpin(c, f);
    next_turn();
    cr_assert_null(get(c, "d0"), "the least recently used descriptor was kept past fd_max");
    expect_fd_bytes(held, 100, '0');
    cr_assert_eq(open_fds(), before + 3);
    zzz_http_static_cache_unpin(c, held);
    cr_assert_eq(open_fds(), before + 2, "the evicted descriptor was not closed at its unpin");
    f = get(c, "d1");
    expect_fd_bytes(f, 100, '1');
    zzz_http_static_cache_unpin(c, f);
    /* Appended to: a new size, dropped and closed at the next epoch. */
    next_tick();
    char path[512];
    snprintf(path, sizeof path, "%s/d1", dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "x", 1), 1);
    close(fd);
    next_turn();
    cr_assert_null(get(c, "d1"), "a file appended to was served from its held descriptor");
    cr_assert_eq(open_fds(), before + 1);
    zzz_http_static_cache_free(c);
    cr_assert_eq(open_fds(), before, "freeing the cache left descriptors open");
}

Test(static_cache, descriptors_of_larger_files)
{
    in_tardy(descriptors_body);
}

/* An entry unused for idle_ns goes at the cache's next use, its
 * descriptor closed; one used within it stays. */
static void idle_body(void)
{
    int before = open_fds();
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16, 4, 1000 * 1000 * 1000);
    cr_assert_not_null(c);
    write_file("i0", 100, 'i', false);
    write_file("i1", 10, 'j', false);
    zzz_http_static_cache_unpin(c, put(c, "i0"));
    zzz_http_static_cache_unpin(c, put(c, "i1"));
    cr_assert_eq(open_fds(), before + 1);
    cr_assert_eq(tardy_sleep(600 * 1000 * 1000), 0);
    const static_cached *f = get(c, "i1"); /* used: stays */
    expect_bytes(f, 10, 'j');
    zzz_http_static_cache_unpin(c, f);
    cr_assert_eq(tardy_sleep(600 * 1000 * 1000), 0);
    /* i0 has been idle 1.2 s, i1 0.6 s (a limit of 1 s: room for a slow
     * machine's late wake-ups either way). */
    f = get(c, "i1");
    expect_bytes(f, 10, 'j');
    zzz_http_static_cache_unpin(c, f);
    cr_assert_eq(open_fds(), before, "an idle descriptor was not closed");
    cr_assert_null(get(c, "i0"), "an idle entry was kept");
    zzz_http_static_cache_free(c);
}

Test(static_cache, idle_entries_go)
{
    in_tardy(idle_body);
}

/* Without descriptors to keep, a file past file_max is not wanted; with
 * them, any size is. */
Test(static_cache, wants_larger_files_only_with_descriptors)
{
    time_t now = 1000000;
    struct stat st = {.st_mode = S_IFREG | 0644, .st_size = (off_t)1 << 40};
    st.st_mtim.tv_sec = now - 2;
    st.st_ctim.tv_sec = now - 2;
    static_cache *c = zzz_http_static_cache_new(1 << 20, 16384, 0, 0);
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now));
    zzz_http_static_cache_free(c);
    c = zzz_http_static_cache_new(1 << 20, 16384, 1, 0);
    cr_assert(zzz_http_static_cache_wants(c, &st, now));
    st.st_mtim.tv_sec = now - 1;
    cr_assert_not(zzz_http_static_cache_wants(c, &st, now), "modified a second ago");
    zzz_http_static_cache_free(c);
}
