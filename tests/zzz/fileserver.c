/* A small file protocol on the zzz server, run by sendfile_test.c as a
 * child process: it answers with the bytes of files through
 * zzz_conn_sendfile, each after a line of text queued with zzz_conn_out,
 * so that a client sees whether the queued text left first, whether the
 * file's bytes are exact, and what happens when a send fails half-way.
 * Prints "listening on 127.0.0.1:PORT (driver D, N threads)" once up, and
 * "sendfile NAME OFFSET LEN: ERRNO-NAME" for each zzz_conn_sendfile that
 * failed (the tests read the exact error there).
 *
 * Files are named relative to --dir; a name with '/' or starting with '.'
 * is refused. Lines end with LF (a CR before it is dropped).
 *
 *   GET name offset len   ->  "OK len\n" and the len bytes of the file from
 *                             offset; a len of "-" is the rest of the file
 *                             (its size, from fstat, less offset)
 *   HOLD name             ->  "OK size\n" (sent at once), then waits for a
 *                             line "GO" before sending the file's size
 *                             bytes: the client may change the file in
 *                             between (truncate it)
 *   MIX name parts        ->  the file in `parts` pieces, each one after a
 *                             line "part I OFFSET LEN\n", then "END\n"
 *   SENT                  ->  "SENT n": zzz_conn_sent so far, not counting
 *                             this answer
 *   QUIT                  ->  "BYE\n", then the server closes
 *
 * A request refused before anything is sent (a bad name, a file that does
 * not open) answers "ERR ERRNO-NAME\n" and the connection goes on. When
 * zzz_conn_sendfile fails, the connection closes: with "ERR ERRNO-NAME\n"
 * first when nothing of the answer had left yet (its "OK" line is then
 * taken back from the write buffer), else with nothing more. A line that
 * is not a command answers "ERR EBADMSG\n" and closes.
 */
#include <zzz.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest command line taken (the rest of a longer one is an error). */
#define FILE_LINE_MAX 512

typedef struct file_server {
    int dir_fd; /* --dir, where names are looked up */
} file_server;

/* The errno's symbolic name for the few the tests expect, else its number,
 * in a static buffer. */
static const char *errno_name(int err)
{
    static const struct {
        int err;
        const char *name;
    } names[] = {
        {EINVAL, "EINVAL"},         {ENODATA, "ENODATA"},     {EPIPE, "EPIPE"},
        {ECONNRESET, "ECONNRESET"}, {ETIMEDOUT, "ETIMEDOUT"}, {EIO, "EIO"},
        {EBADF, "EBADF"},           {EISDIR, "EISDIR"},       {ENOENT, "ENOENT"},
        {EACCES, "EACCES"},         {ECANCELED, "ECANCELED"}, {EPROTO, "EPROTO"},
        {EBADMSG, "EBADMSG"},       {ENOBUFS, "ENOBUFS"},     {ESPIPE, "ESPIPE"},
        {EOVERFLOW, "EOVERFLOW"},   {EFBIG, "EFBIG"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].err == err)
            return names[i].name;
    static char number[24];
    snprintf(number, sizeof number, "%d", err);
    return number;
}

/* Queues "ERR NAME\n"; returns zzz_conn_out's result. */
static int answer_err(zzz_conn *conn, int err)
{
    char line[64];
    int n = snprintf(line, sizeof line, "ERR %s\n", errno_name(err));
    return zzz_conn_out(conn, line, (size_t)n);
}

/* Opens name in the served directory: -EACCES for a name that would leave
 * it or is hidden, else open's -errno. */
static int open_name(const file_server *fs, const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
        return -EACCES;
    int fd = openat(fs->dir_fd, name, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* open_name, and the file's size into *size: the descriptor or -errno. */
static int open_sized(const file_server *fs, const char *name, size_t *size)
{
    int fd = open_name(fs, name);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    *size = (size_t)st.st_size;
    return fd;
}

/* Parses a signed offset or an unsigned length, the whole token. */
static bool parse_offset(const char *text, off_t *value)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return false;
    *value = (off_t)v;
    return true;
}

static bool parse_length(const char *text, size_t *value)
{
    char *end;
    if (text[0] == '-' || text[0] == '+')
        return false;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v > SIZE_MAX)
        return false;
    *value = (size_t)v;
    return true;
}

/* One zzz_conn_sendfile; a failure is logged on stdout for the tests. */
static int send_part(zzz_conn *conn, const char *name, int fd, off_t offset, size_t len)
{
    int err = zzz_conn_sendfile(conn, fd, offset, len);
    if (err) {
        printf("sendfile %s %lld %zu: %s\n", name, (long long)offset, len, errno_name(-err));
        fflush(stdout);
    }
    return err;
}

/* After a failed send of an answer that began when zzz_conn_sent read
 * sent_before and the write buffer held nothing: when none of it has
 * left, the queued text is taken back and "ERR NAME" said instead. The
 * connection closes either way. */
static zzz_conn_next send_failed(zzz_conn *conn, uint64_t sent_before, int err)
{
    zzz_buf *out = zzz_conn_outbuf(conn);
    if (zzz_conn_sent(conn) == sent_before) {
        if (out->data)
            out->len = 0;
        answer_err(conn, -err);
    } else if (out->data) {
        out->len = 0; /* nothing may follow the bytes cut short */
    }
    return ZZZ_CLOSE;
}

/* Waits (under the read timeout) for a whole line in the receive buffer;
 * returns its length without the LF, or -1 when the connection ended. */
static long wait_line(zzz_conn *conn)
{
    zzz_buf *in = zzz_conn_buf(conn);
    for (;;) {
        char *nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
        if (nl)
            return (long)(nl - in->data);
        if (in->len == in->cap || zzz_conn_fill(conn) <= 0)
            return -1;
    }
}

/* GET name offset len. Returns 1 to go on, 0 to close. */
static int cmd_get(zzz_conn *conn, const file_server *fs, char **args, int argc)
{
    off_t offset;
    size_t len = 0;
    bool rest = argc == 4 && strcmp(args[3], "-") == 0;
    if (argc != 4 || !parse_offset(args[2], &offset) || (!rest && !parse_length(args[3], &len))) {
        answer_err(conn, EBADMSG);
        return 0;
    }
    size_t size;
    int fd = open_sized(fs, args[1], &size);
    if (fd < 0)
        return answer_err(conn, -fd) == 0;
    if (rest)
        len = offset >= 0 && size > (size_t)offset ? size - (size_t)offset : 0;
    /* Earlier answers leave first, so that nothing but this one's line is
     * pending when the send starts: then the line can be taken back. */
    int err = zzz_conn_flush(conn);
    uint64_t sent_before = zzz_conn_sent(conn);
    char line[64];
    int n = snprintf(line, sizeof line, "OK %zu\n", len);
    if (!err)
        err = zzz_conn_out(conn, line, (size_t)n);
    if (err) {
        close(fd);
        return 0;
    }
    err = send_part(conn, args[1], fd, offset, len);
    close(fd);
    if (err) {
        send_failed(conn, sent_before, err);
        return 0;
    }
    return 1;
}

/* HOLD name: the size is read and announced before the client's GO. */
static int cmd_hold(zzz_conn *conn, const file_server *fs, char **args, int argc)
{
    if (argc != 2) {
        answer_err(conn, EBADMSG);
        return 0;
    }
    size_t len;
    int fd = open_sized(fs, args[1], &len);
    if (fd < 0)
        return answer_err(conn, -fd) == 0;
    /* The answer begins with its line, which leaves before the GO. */
    uint64_t sent_before = zzz_conn_sent(conn);
    char line[64];
    int n = snprintf(line, sizeof line, "OK %zu\n", len);
    int err = zzz_conn_out(conn, line, (size_t)n);
    if (!err)
        err = zzz_conn_flush(conn);
    long go = err ? -1 : wait_line(conn);
    zzz_buf *in = zzz_conn_buf(conn);
    if (go < 0 || !((go == 2 && memcmp(in->data, "GO", 2) == 0) ||
                    (go == 3 && memcmp(in->data, "GO\r", 3) == 0))) {
        close(fd);
        return 0;
    }
    zzz_conn_consume(conn, (size_t)go + 1);
    err = send_part(conn, args[1], fd, 0, len);
    close(fd);
    if (err) {
        send_failed(conn, sent_before, err);
        return 0;
    }
    return 1;
}

/* MIX name parts: text and file pieces alternate on the wire. */
static int cmd_mix(zzz_conn *conn, const file_server *fs, char **args, int argc)
{
    size_t parts;
    if (argc != 3 || !parse_length(args[2], &parts) || parts == 0 || parts > 64) {
        answer_err(conn, EBADMSG);
        return 0;
    }
    size_t size;
    int fd = open_sized(fs, args[1], &size);
    if (fd < 0)
        return answer_err(conn, -fd) == 0;
    int err = zzz_conn_flush(conn);
    uint64_t sent_before = zzz_conn_sent(conn);
    for (size_t i = 0; i < parts && !err; i++) {
        size_t from = size / parts * i, to = i + 1 == parts ? size : size / parts * (i + 1);
        char line[96];
        int n = snprintf(line, sizeof line, "part %zu %zu %zu\n", i, from, to - from);
        err = zzz_conn_out(conn, line, (size_t)n);
        if (!err)
            err = send_part(conn, args[1], fd, (off_t)from, to - from);
    }
    close(fd);
    if (err) {
        send_failed(conn, sent_before, err);
        return 0;
    }
    return zzz_conn_out(conn, "END\n", 4) == 0;
}

/* Answers one command line (NUL-terminated, without its LF). Returns 1 to
 * go on, 0 to close. */
static int file_command(zzz_conn *conn, const file_server *fs, char *line)
{
    enum { MAX_ARGS = 6 };
    char *args[MAX_ARGS];
    int argc = 0;
    for (char *save = NULL, *word = strtok_r(line, " ", &save); word;
         word = strtok_r(NULL, " ", &save)) {
        if (argc == MAX_ARGS) {
            answer_err(conn, EBADMSG);
            return 0;
        }
        args[argc++] = word;
    }
    if (argc == 0) {
        answer_err(conn, EBADMSG);
        return 0;
    }
    if (strcmp(args[0], "GET") == 0)
        return cmd_get(conn, fs, args, argc);
    if (strcmp(args[0], "HOLD") == 0)
        return cmd_hold(conn, fs, args, argc);
    if (strcmp(args[0], "MIX") == 0)
        return cmd_mix(conn, fs, args, argc);
    if (strcmp(args[0], "SENT") == 0 && argc == 1) {
        char reply[48];
        int n = snprintf(reply, sizeof reply, "SENT %" PRIu64 "\n", zzz_conn_sent(conn));
        return zzz_conn_out(conn, reply, (size_t)n) == 0;
    }
    if (strcmp(args[0], "QUIT") == 0 && argc == 1) {
        zzz_conn_out(conn, "BYE\n", 4);
        return 0;
    }
    answer_err(conn, EBADMSG);
    return 0;
}

/* Answers every whole line there is, then waits for more without a task
 * (the server sends what is queued first). */
static zzz_conn_next file_on_conn(zzz_conn *conn, void *user)
{
    const file_server *fs = user;
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data)
        return ZZZ_CLOSE;
    for (;;) {
        char *nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - in->data);
            if (len >= FILE_LINE_MAX) {
                answer_err(conn, EBADMSG);
                return ZZZ_CLOSE;
            }
            /* A copy: the commands read and consume past the line. */
            char line[FILE_LINE_MAX];
            memcpy(line, in->data, len);
            if (len > 0 && line[len - 1] == '\r')
                len--;
            line[len] = '\0';
            zzz_conn_consume(conn, (size_t)(nl - in->data) + 1);
            if (!file_command(conn, fs, line))
                return ZZZ_CLOSE;
            continue;
        }
        if (in->len == in->cap) {
            answer_err(conn, EBADMSG);
            return ZZZ_CLOSE;
        }
        ssize_t got = zzz_conn_fill_now(conn);
        if (got == -EAGAIN)
            return ZZZ_WAIT;
        if (got <= 0)
            return ZZZ_CLOSE;
    }
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --dir DIR [--port N] [--threads N] [--write-timeout-ms N]\n"
            "  [--drain-timeout-ms N] [--tls-cert FILE --tls-key FILE]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    static file_server fs = {.dir_fd = -1};
    zzz_server_config cfg = {.host = "127.0.0.1", .threads = 1};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *arg = argv[++i];
        if (strcmp(flag, "--dir") == 0)
            dir = arg;
        else if (strcmp(flag, "--port") == 0)
            cfg.port = (uint16_t)atoi(arg);
        else if (strcmp(flag, "--threads") == 0)
            cfg.threads = (unsigned)atoi(arg);
        else if (strcmp(flag, "--write-timeout-ms") == 0)
            cfg.write_timeout_ms = (uint32_t)atoi(arg);
        else if (strcmp(flag, "--drain-timeout-ms") == 0)
            cfg.drain_timeout_ms = (uint32_t)atoi(arg);
        else if (strcmp(flag, "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(flag, "--tls-key") == 0)
            cert.key_file = arg;
        else
            return usage(argv[0]);
    }
    if (!dir)
        return usage(argv[0]);
    fs.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs.dir_fd < 0) {
        fprintf(stderr, "fileserver: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (cert.cert_file)
        cfg.tls = &tls;
    cfg.on_conn = file_on_conn;
    cfg.user = &fs;
    cfg.on_start = on_start;
    zzz_server *server;
    int err = zzz_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "fileserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        close(fs.dir_fd);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    close(fs.dir_fd);
    if (err) {
        fprintf(stderr, "fileserver: %s\n", strerror(-err));
        return 1;
    }
    /* The server held SIGPIPE blocked on this thread while it ran (clients
     * left mid-file): the mask must be as it was, nothing left pending. */
    sigset_t mask, pending;
    if (pthread_sigmask(SIG_SETMASK, NULL, &mask) != 0 || sigismember(&mask, SIGPIPE) ||
        sigpending(&pending) != 0 || sigismember(&pending, SIGPIPE)) {
        fprintf(stderr, "fileserver: SIGPIPE left blocked or pending after the run\n");
        return 3;
    }
    return 0;
}
