/* libFuzzer target for static-file path resolution
 * (zzz/src/http/static_path.c, included here so that its fallback walk,
 * a static function, is fuzzed too). The input's first byte picks the
 * mount's depth (skip), dotfiles and symlinks_out; the rest is the raw
 * request path. The invariant, beyond no crash: nothing a path names
 * resolves outside the root.
 *  - A name zzz_http_static_rel gives is relative, NUL-terminated at the
 *    length returned, within its buffer, and made of segments that are
 *    neither empty, "." nor "..", with no '\', control byte or invalid
 *    UTF-8, and no leading '.' without dotfiles; percent-encoded again,
 *    it reads back to itself.
 *  - Opened beneath a real root (a tree made at start-up in $TMPDIR,
 *    with links that lead out of it, by relative and absolute names, and
 *    links that stay inside), by openat2 and by the component walk, the
 *    file it gives is the root or beneath it: checked on the path the
 *    kernel reports for the descriptor, unless links may lead out
 *    (symlinks_out), and a name that leads out is never opened. */
#include "static_path.c"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "static_path_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char top[4096];  /* the temporary tree */
static char root[4096]; /* its served root, as the kernel names it */
static size_t root_len;
static int root_fd = -1;

static void put(const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    CHECK(mkdir(path, 0755) == 0);
}

static void link_to(const char *target, const char *rel)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    CHECK(symlink(target, path) == 0);
}

/* rm -r of the tree (no links followed). */
static void remove_tree(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
                remove_tree(fd, e->d_name);
        }
        if (d)
            closedir(d);
        unlinkat(parent, name, AT_REMOVEDIR);
    } else {
        unlinkat(parent, name, 0);
    }
}

static void cleanup(void)
{
    if (root_fd >= 0)
        close(root_fd);
    if (top[0])
        remove_tree(AT_FDCWD, top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof top, "%s/static_path_fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(top));
    atexit(cleanup);
    /* top/secret is outside; top/root is served. */
    dir("secret");
    put("secret/s.txt", "secret\n");
    dir("root");
    put("root/index.html", "<p>index</p>\n");
    put("root/a.txt", "a\n");
    put("root/.env", "hidden\n");
    put("root/\xc3\xa9t\xc3\xa9.txt", "utf-8\n");
    put("root/a b.txt", "space\n");
    dir("root/sub");
    put("root/sub/b.txt", "b\n");
    dir("root/sub/deep");
    put("root/sub/deep/c.txt", "c\n");
    link_to("../secret/s.txt", "root/out");
    link_to("../secret", "root/outdir");
    link_to("../../secret/s.txt", "root/sub/out2");
    link_to("../../root/a.txt", "root/sub/loop");
    link_to("/etc/passwd", "root/abs");
    link_to("/", "root/slash");
    link_to("a.txt", "root/in");
    link_to("sub", "root/subdir");
    link_to("../a.txt", "root/sub/up-in");
    link_to("..", "root/sub/dotdot");
    link_to("self", "root/self");
    link_to("/proc/self/root", "root/magic");
    char path[8192];
    snprintf(path, sizeof path, "%s/root", top);
    root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(root_fd >= 0);
    CHECK(realpath(path, root));
    root_len = strlen(root);
    return 0;
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* The properties of a name zzz_http_static_rel gave. */
static void check_rel(const char *rel, ssize_t n, size_t cap, bool dotfiles)
{
    CHECK(n >= 0 && (size_t)n < cap && rel[n] == '\0' && strlen(rel) == (size_t)n);
    if (n == 0)
        return;
    CHECK(rel[0] != '/' && rel[n - 1] != '/');
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        CHECK(len > 0);
        CHECK(!(len == 1 && p[0] == '.') && !(len == 2 && p[0] == '.' && p[1] == '.'));
        CHECK(dotfiles || p[0] != '.');
        for (size_t i = 0; i < len; i++)
            CHECK(!is_ctl((unsigned char)p[i]) && p[i] != '\\');
        CHECK(utf8_valid((const unsigned char *)p, len));
        if (!slash)
            break;
        p = slash + 1;
    }
}

/* The descriptor names the root or a file beneath it. */
static void check_beneath(int fd)
{
    char link[64], where[8192];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, where, sizeof where - 1);
    CHECK(n > 0);
    where[n] = '\0';
    if (strncmp(where, root, root_len) != 0 || (where[root_len] != '\0' && where[root_len] != '/')) {
        fprintf(stderr, "static_path_fuzz: opened %s, outside %s\n", where, root);
        abort();
    }
}

static void check_open(const char *rel, bool symlinks_out)
{
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fds[2] = {
        zzz_http_static_open(root_fd, rel, symlinks_out),
        open_walk(root_fd, rel, flags, symlinks_out),
    };
    for (int i = 0; i < 2; i++) {
        CHECK(fds[i] >= 0 || fds[i] == -ENOENT || fds[i] == -ENOTDIR ||
              fds[i] == -ENAMETOOLONG || fds[i] == -EACCES || fds[i] == -ELOOP ||
              fds[i] == -ENXIO);
        if (fds[i] < 0)
            continue;
        if (!symlinks_out)
            check_beneath(fds[i]);
        close(fds[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    unsigned skip = data[0] & 3;
    bool dotfiles = data[0] & 4;
    bool symlinks_out = (data[0] & 0x18) == 0x18; /* a quarter of the inputs */
    size_t cap = data[0] & 0x20 ? 16 : STATIC_NAME_MAX;
    size_t n = size - 1;
    char *raw = malloc(n ? n : 1); /* exact size: ASan sees a read past it */
    CHECK(raw);
    memcpy(raw, data + 1, n);
    char *rel = malloc(cap);
    CHECK(rel);
    bool trailing = false;
    ssize_t len = zzz_http_static_rel((zzz_str){raw, n}, skip, dotfiles, rel, cap, &trailing);
    CHECK(len >= 0 || len == -ENOENT || len == -ENAMETOOLONG);
    if (len >= 0) {
        check_rel(rel, len, cap, dotfiles);
        CHECK(trailing == (raw[n - 1] == '/'));
        /* Encoded again, every byte but '/' an escape: read back the
         * same. */
        char *enc = malloc(1 + 3 * (size_t)len);
        char *again = malloc(STATIC_NAME_MAX);
        CHECK(enc && again);
        size_t w = 0;
        enc[w++] = '/';
        for (ssize_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)rel[i];
            if (c == '/') {
                enc[w++] = '/';
            } else {
                enc[w++] = '%';
                enc[w++] = "0123456789ABCDEF"[c >> 4];
                enc[w++] = "0123456789abcdef"[c & 15];
            }
        }
        bool again_slash;
        ssize_t len2 = zzz_http_static_rel((zzz_str){enc, w}, 0, dotfiles, again,
                                           STATIC_NAME_MAX, &again_slash);
        /* (Refused as too long only when the encoded form itself does
         * not fit: the check is on raw lengths.) */
        if (len2 == -ENAMETOOLONG)
            CHECK(w >= STATIC_NAME_MAX);
        else
            CHECK(len2 == len && memcmp(again, rel, (size_t)len + 1) == 0);
        free(enc);
        free(again);
        check_open(rel, symlinks_out);
    }
    free(rel);
    free(raw);
    return 0;
}
