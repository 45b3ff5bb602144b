/* Files in a fresh temporary directory: mkdir, open, positioned and
 * current-position read/write, readv/writev, stat, unlink, close. */
#include "common.h"

#include <sys/stat.h>

TestSuite(files, .timeout = 60);

struct fstate {
    char dir[64];
    char sub[96];
    char file[128];
    char seq[128];
    char big[128];
    int done;
};

static void files_entry(void *arg)
{
    struct fstate *f = arg;
    struct stat st;
    char buf[64];

    TT_CHECK_EQ(tardy_mkdir(f->sub, 0755), 0);
    TT_CHECK_EQ(tardy_mkdir(f->sub, 0755), -EEXIST);
    TT_CHECK_EQ(tardy_stat(f->sub, &st), 0);
    TT_CHECK(S_ISDIR(st.st_mode));

    /* Positioned writes, leaving a hole. */
    int fd = tardy_open(f->file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    TT_CHECK(fd >= 0);
    TT_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    TT_CHECK_EQ(tardy_write(fd, "world", 5, 100), 5);
    TT_CHECK_EQ(tardy_write(fd, "hello", 5, 0), 5);
    TT_CHECK_EQ(tardy_close(fd), 0);
    TT_CHECK_EQ(tardy_stat(f->file, &st), 0);
    TT_CHECK_EQ(st.st_size, 105);
    TT_CHECK(S_ISREG(st.st_mode));

    fd = tardy_open(f->file, O_RDONLY, 0);
    TT_CHECK(fd >= 0);
    memset(buf, 'x', sizeof buf);
    TT_CHECK_EQ(tardy_read(fd, buf, 5, 100), 5);
    TT_CHECK(memcmp(buf, "world", 5) == 0);
    TT_CHECK_EQ(tardy_read(fd, buf, 5, 0), 5);
    TT_CHECK(memcmp(buf, "hello", 5) == 0);
    memset(buf, 'x', sizeof buf);
    TT_CHECK_EQ(tardy_read(fd, buf, 10, 5), 10);
    for (int i = 0; i < 10; i++)
        TT_CHECK_EQ(buf[i], 0);
    /* Short read at the end, then end of file. */
    TT_CHECK_EQ(tardy_read(fd, buf, 64, 100), 5);
    TT_CHECK_EQ(tardy_read(fd, buf, 64, 105), 0);
    TT_CHECK_EQ(tardy_close(fd), 0);

    /* readv / writev at an offset. */
    fd = tardy_open(f->file, O_RDWR, 0);
    TT_CHECK(fd >= 0);
    char a[] = "abc", b[] = "defgh", c[] = "ij";
    struct iovec wv[3] = {{a, 3}, {b, 5}, {c, 2}};
    TT_CHECK_EQ(tardy_writev(fd, wv, 3, 200), 10);
    char r1[4] = {0}, r2[6] = {0};
    struct iovec rv[2] = {{r1, 4}, {r2, 6}};
    TT_CHECK_EQ(tardy_readv(fd, rv, 2, 200), 10);
    TT_CHECK(memcmp(r1, "abcd", 4) == 0);
    TT_CHECK(memcmp(r2, "efghij", 6) == 0);
    TT_CHECK_EQ(tardy_close(fd), 0);
    TT_CHECK_EQ(tardy_stat(f->file, &st), 0);
    TT_CHECK_EQ(st.st_size, 210);

    /* Offset -1: the file's current position moves with each call. */
    fd = tardy_open(f->seq, O_CREAT | O_RDWR | O_TRUNC, 0600);
    TT_CHECK(fd >= 0);
    TT_CHECK_EQ(tardy_write(fd, "abc", 3, -1), 3);
    TT_CHECK_EQ(tardy_write(fd, "def", 3, -1), 3);
    struct iovec sv2[2] = {{a, 2}, {c, 2}};
    TT_CHECK_EQ(tardy_writev(fd, sv2, 2, -1), 4);
    TT_CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    memset(buf, 0, sizeof buf);
    TT_CHECK_EQ(tardy_read(fd, buf, 4, -1), 4);
    TT_CHECK_EQ(tardy_read(fd, buf + 4, 60, -1), 6);
    TT_CHECK(memcmp(buf, "abcdefabij", 10) == 0);
    TT_CHECK_EQ(tardy_read(fd, buf, 4, -1), 0);
    TT_CHECK_EQ(tardy_close(fd), 0);

    /* A larger file, written and read back in chunks. */
    enum { CHUNK = 64 * 1024, CHUNKS = 32 };
    unsigned char *w = malloc(CHUNK), *r = malloc(CHUNK);
    TT_CHECK(w && r);
    if (w && r) {
        fd = tardy_open(f->big, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        TT_CHECK(fd >= 0);
        for (int k = 0; k < CHUNKS; k++) {
            for (int i = 0; i < CHUNK; i++)
                w[i] = (unsigned char)(k * 131 + i * 7);
            TT_CHECK_EQ(tardy_write(fd, w, CHUNK, (int64_t)k * CHUNK), CHUNK);
        }
        TT_CHECK_EQ(tardy_close(fd), 0);
        TT_CHECK_EQ(tardy_stat(f->big, &st), 0);
        TT_CHECK_EQ(st.st_size, (long long)CHUNK * CHUNKS);
        fd = tardy_open(f->big, O_RDONLY, 0);
        TT_CHECK(fd >= 0);
        for (int k = CHUNKS - 1; k >= 0; k--) {
            TT_CHECK_EQ(tardy_read(fd, r, CHUNK, (int64_t)k * CHUNK), CHUNK);
            int bad = 0;
            for (int i = 0; i < CHUNK; i++)
                bad += r[i] != (unsigned char)(k * 131 + i * 7);
            TT_CHECK_EQ(bad, 0);
        }
        TT_CHECK_EQ(tardy_close(fd), 0);
    }
    free(w);
    free(r);

    /* Unlink, and what is gone stays gone. */
    TT_CHECK_EQ(tardy_unlink(f->file), 0);
    TT_CHECK_EQ(tardy_stat(f->file, &st), -ENOENT);
    TT_CHECK_EQ(tardy_open(f->file, O_RDONLY, 0), -ENOENT);
    TT_CHECK_EQ(tardy_unlink(f->file), -ENOENT);
    TT_CHECK_EQ(tardy_unlink(f->seq), 0);
    TT_CHECK_EQ(tardy_unlink(f->big), 0);
    TT_CHECK_EQ(tardy_open(f->sub, O_WRONLY, 0), -EISDIR);
    TT_CHECK_EQ(tardy_close(-1), -EBADF);
    f->done = 1;
}

Test(files, file_operations_in_a_temporary_directory)
{
    struct fstate f = {0};
    snprintf(f.dir, sizeof f.dir, "/tmp/tardy-files-XXXXXX");
    cr_assert_not_null(mkdtemp(f.dir), "mkdtemp: %s", strerror(errno));
    snprintf(f.sub, sizeof f.sub, "%s/sub", f.dir);
    snprintf(f.file, sizeof f.file, "%s/sub/data", f.dir);
    snprintf(f.seq, sizeof f.seq, "%s/sub/seq", f.dir);
    snprintf(f.big, sizeof f.big, "%s/sub/big", f.dir);
    tardy_config cfg = {.threads = 1};
    int rc = tardy_run(&cfg, files_entry, &f);
    /* Clean up before asserting, whatever happened. */
    unlink(f.file);
    unlink(f.seq);
    unlink(f.big);
    rmdir(f.sub);
    rmdir(f.dir);
    cr_assert_eq(rc, 0, "tardy_run returned %d", rc);
    TT_ASSERT_CLEAN();
    TT_EXPECT_EQ(f.done, 1);
}

/* Relative paths resolve against the working directory. */
static void relative_entry(void *arg)
{
    int *ok = arg;
    struct stat st;
    int fd = tardy_open("rel.txt", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    TT_CHECK(fd >= 0);
    TT_CHECK_EQ(tardy_write(fd, "12345", 5, 0), 5);
    TT_CHECK_EQ(tardy_close(fd), 0);
    TT_CHECK_EQ(tardy_stat("rel.txt", &st), 0);
    TT_CHECK_EQ(st.st_size, 5);
    TT_CHECK_EQ(tardy_unlink("rel.txt"), 0);
    *ok = 1;
}

Test(files, relative_paths_use_the_working_directory)
{
    char dir[] = "/tmp/tardy-rel-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char old[4096];
    cr_assert_not_null(getcwd(old, sizeof old));
    cr_assert_eq(chdir(dir), 0);
    int ok = 0;
    tardy_config cfg = {.threads = 1};
    int rc = tardy_run(&cfg, relative_entry, &ok);
    struct stat st;
    int gone = stat("rel.txt", &st) != 0;
    unlink("rel.txt");
    cr_assert_eq(chdir(old), 0);
    rmdir(dir);
    cr_assert_eq(rc, 0);
    TT_ASSERT_CLEAN();
    TT_EXPECT_EQ(ok, 1);
    cr_expect(gone);
}

/* Pipes are not regular files: reads and writes park until ready. */
struct pipes {
    int p[2];
    char got[8];
    ssize_t rc, eof_rc;
};

static void pipe_writer(void *arg)
{
    struct pipes *s = arg;
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_write(s->p[1], "xyz", 3, -1), 3);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_close(s->p[1]), 0);
}

static void pipe_entry(void *arg)
{
    struct pipes *s = arg;
    TT_CHECK_EQ(tardy_spawn(pipe_writer, s, NULL), 0);
    s->rc = tardy_read(s->p[0], s->got, sizeof s->got, -1);
    /* Parked again until the write end closes: end of file. */
    s->eof_rc = tardy_read(s->p[0], s->got + 3, sizeof s->got - 3, -1);
    TT_CHECK_EQ(tardy_close(s->p[0]), 0);
}

Test(files, pipe_read_parks_until_data_and_sees_end_of_file, .timeout = 20)
{
    struct pipes s = {.rc = -1, .eof_rc = -1};
    cr_assert_eq(pipe2(s.p, O_NONBLOCK | O_CLOEXEC), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, pipe_entry, &s);
    TT_EXPECT_EQ(s.rc, 3);
    cr_expect(memcmp(s.got, "xyz", 3) == 0);
    TT_EXPECT_EQ(s.eof_rc, 0);
}

/* A write to a full pipe parks until a reader makes room. */
#define PIPE_BYTES (1u << 20)

struct pipe_flow {
    int p[2];
    size_t written, read;
    unsigned long bad;
};

static void pipe_drain(void *arg)
{
    struct pipe_flow *s = arg;
    static unsigned char buf[8192];
    while (s->read < PIPE_BYTES) {
        ssize_t n = tardy_read(s->p[0], buf, sizeof buf, -1);
        if (n <= 0) {
            TT_CHECK(n > 0);
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            s->bad += buf[i] != (unsigned char)((s->read + (size_t)i) * 13);
        s->read += (size_t)n;
    }
}

static void pipe_flow_entry(void *arg)
{
    struct pipe_flow *s = arg;
    static unsigned char out[PIPE_BYTES];
    for (size_t i = 0; i < PIPE_BYTES; i++)
        out[i] = (unsigned char)(i * 13);
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(pipe_drain, s, &t), 0);
    while (s->written < PIPE_BYTES) {
        ssize_t n = tardy_write(s->p[1], out + s->written, PIPE_BYTES - s->written, -1);
        if (n <= 0) {
            TT_CHECK(n > 0);
            break;
        }
        s->written += (size_t)n;
    }
    TT_CHECK_EQ(tardy_join(t), 0);
    TT_CHECK_EQ(tardy_close(s->p[0]), 0);
    TT_CHECK_EQ(tardy_close(s->p[1]), 0);
}

Test(files, pipe_write_parks_while_full)
{
    struct pipe_flow s = {0};
    cr_assert_eq(pipe2(s.p, O_NONBLOCK | O_CLOEXEC), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, pipe_flow_entry, &s);
    TT_EXPECT_EQ(s.written, PIPE_BYTES);
    TT_EXPECT_EQ(s.read, PIPE_BYTES);
    TT_EXPECT_EQ(s.bad, 0);
}

/* tardy_read_cached: the bytes the page cache holds, without parking. */
struct cached {
    const char *path;
    int fd;
    bool sibling_ran;
    int done;
};

static void cached_sibling(void *arg)
{
    ((struct cached *)arg)->sibling_ran = true;
}

static void cached_entry(void *arg)
{
    struct cached *k = arg;
    char buf[64];
    /* A task spawned first runs only when this one parks or yields. */
    TT_CHECK_EQ(tardy_spawn(cached_sibling, k, NULL), 0);
    memset(buf, 'x', sizeof buf);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 5, 0), 5);
    TT_CHECK(memcmp(buf, "hello", 5) == 0);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 64, 100), 5);
    TT_CHECK(memcmp(buf, "world", 5) == 0);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 64, 105), -EAGAIN);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 64, 1 << 20), -EAGAIN);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 0, 0), 0);
    TT_CHECK_EQ(tardy_read_cached(k->fd, buf, 5, -1), -EINVAL);
    TT_CHECK_EQ(tardy_read_cached(-1, buf, 5, 0), -EBADF);
    int pp[2];
    TT_CHECK_EQ(pipe(pp), 0);
    TT_CHECK_EQ(tardy_read_cached(pp[0], buf, 5, 0), -ESPIPE);
    close(pp[0]);
    close(pp[1]);
    TT_CHECK(!k->sibling_ran);
    /* At the end of the file the plain read tells the truth. */
    TT_CHECK_EQ(tardy_read(k->fd, buf, 64, 105), 0);
    k->done = 1;
}

Test(files, read_cached_takes_cached_bytes_without_parking)
{
    /* In the build directory: a tmpfs /tmp may not read with RWF_NOWAIT. */
    struct cached k = {.path = "tardy-read-cached.tmp"};
    k.fd = open(k.path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(k.fd >= 0, "open: %s", strerror(errno));
    unlink(k.path);
    cr_assert_eq(pwrite(k.fd, "hello", 5, 0), 5);
    cr_assert_eq(pwrite(k.fd, "world", 5, 100), 5);
#ifdef RWF_NOWAIT
    char probe[5];
    struct iovec iov = {.iov_base = probe, .iov_len = sizeof probe};
    if (preadv2(k.fd, &iov, 1, 0, RWF_NOWAIT) < 0) {
        int err = errno;
        close(k.fd);
        cr_skip_test("preadv2(RWF_NOWAIT) on this file system: %s", strerror(err));
    }
#else
    close(k.fd);
    cr_skip_test("no RWF_NOWAIT in this C library");
#endif
    tardy_config cfg = {.threads = 1};
    int rc = tardy_run(&cfg, cached_entry, &k);
    close(k.fd);
    cr_assert_eq(rc, 0, "tardy_run returned %d", rc);
    TT_ASSERT_CLEAN();
    TT_EXPECT_EQ(k.done, 1);
    cr_expect(k.sibling_ran, "the sibling task never ran");
}
