/* cat: copies files to standard output through tardy_open, tardy_read and
 * tardy_write, the way a task does file I/O without blocking its runtime. */
#include "tardy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct cat_job {
    int argc;
    char **argv;
    int status; /* the process's exit status */
};

/* Writes all of buf to standard output; tardy_write may write less than asked
 * (a pipe that is nearly full), so loop until everything is out. */
static ssize_t write_all(int fd, const char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = tardy_write(fd, buf + done, len - done, -1);
        if (n < 0)
            return n;
        if (n == 0)
            return -EIO; /* a zero-byte write would loop forever */
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Copies one file ("-": standard input) to standard output. Returns 0, or 1
 * after printing why not. */
static int copy_file(const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : tardy_open(path, O_RDONLY, 0);
    if (fd < 0) {
        fprintf(stderr, "cat: %s: %s\n", path, strerror(-fd));
        return 1;
    }

    /* Read at an explicit offset, which io_uring can run in parallel with
     * anything else; a pipe or a terminal has no offset (-ESPIPE), and then
     * the file's own position (-1) is used instead. */
    int64_t offset = 0;
    char buf[16 * 1024]; /* a quarter of the default 64 KiB stack */
    int status = 0;
    for (;;) {
        ssize_t n = tardy_read(fd, buf, sizeof buf, offset);
        if ((n == -ESPIPE || n == -EINVAL) && offset == 0) {
            offset = -1;
            continue;
        }
        if (n < 0) {
            fprintf(stderr, "cat: %s: read: %s\n", path, strerror((int)-n));
            status = 1;
            break;
        }
        if (n == 0)
            break; /* end of file */
        if (offset >= 0)
            offset += n;
        ssize_t w = write_all(STDOUT_FILENO, buf, (size_t)n);
        if (w < 0) {
            fprintf(stderr, "cat: write to standard output: %s\n", strerror((int)-w));
            status = 1;
            break;
        }
    }

    int ret = is_stdin ? 0 : tardy_close(fd);
    if (ret < 0 && status == 0) {
        fprintf(stderr, "cat: %s: close: %s\n", path, strerror(-ret));
        status = 1;
    }
    return status;
}

static void cat_main(void *arg)
{
    struct cat_job *job = arg;
    for (int i = 1; i < job->argc; i++) {
        if (copy_file(job->argv[i]) != 0) {
            job->status = 1;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: cat FILE... (- for standard input)\n");
        return argc < 2 ? 2 : 0;
    }
    /* A reader that goes away (cat FILE | head) gives -EPIPE, reported like
     * any other error, rather than killing the process silently. */
    signal(SIGPIPE, SIG_IGN);

    struct cat_job job = {.argc = argc, .argv = argv, .status = 0};
    tardy_config config = {.threads = 1};
    int ret = tardy_run(&config, cat_main, &job);
    if (ret < 0) {
        fprintf(stderr, "cat: tardy_run: %s\n", strerror(-ret));
        return 1;
    }
    return job.status;
}
