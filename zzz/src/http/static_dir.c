/* Directories of the static file server: the 301 to a directory's
 * slashed path, and the HTML listing (static_impl.h). */
#include "http.h"
#include "static_impl.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Entries a directory listing shows, at most. */
#define STATIC_LIST_MAX 10000

void zzz_http_static_redirect_slash(zzz_req *req, zzz_res *res)
{
    zzz_str path = zzz_req_path_raw(req), query = zzz_req_query(req);
    char location[STATIC_NAME_MAX + 16];
    if (path.len + query.len + 3 > sizeof location) {
        zzz_res_error(res, 404, "no such file");
        return;
    }
    size_t n = 0;
    memcpy(location, path.ptr, path.len);
    n += path.len;
    location[n++] = '/';
    if (query.len) {
        location[n++] = '?';
        memcpy(location + n, query.ptr, query.len);
        n += query.len;
    }
    location[n] = '\0';
    zzz_res_header(res, "Location", location);
    zzz_res_text(res, 301, "Moved Permanently\n");
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes s escaped for HTML text and attribute values, or (href)
 * percent-encoded as a path segment. */
static int write_escaped(zzz_res *res, const char *s, bool href)
{
    char out[512];
    size_t n = 0;
    int err = 0;
    for (; *s && err == 0; s++) {
        unsigned char c = (unsigned char)*s;
        char piece[8];
        size_t len;
        if (href && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || strchr("-._~", c))) {
            len = (size_t)snprintf(piece, sizeof piece, "%%%02X", c);
        } else if (!href && strchr("&<>\"'", c)) {
            len = (size_t)snprintf(piece, sizeof piece, "&#%d;", c);
        } else {
            piece[0] = (char)c;
            len = 1;
        }
        if (n + len > sizeof out) {
            err = zzz_res_write(res, out, n);
            n = 0;
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    return err ? err : zzz_res_write(res, out, n);
}

void zzz_http_static_list(bool dotfiles, zzz_req *req, zzz_res *res, int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        zzz_res_error(res, 500, "cannot list the directory");
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    for (struct dirent *ent; (ent = readdir(d)) && count < STATIC_LIST_MAX;) {
        if (ent->d_name[0] == '.' && (!dotfiles || !strcmp(ent->d_name, ".") ||
                                      !strcmp(ent->d_name, "..")))
            continue;
        bool dir = ent->d_type == DT_DIR;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(names, ncap * sizeof *names);
            if (!grown)
                break;
            names = grown;
            cap = ncap;
        }
        size_t len = strlen(ent->d_name);
        char *copy = malloc(len + 2);
        if (!copy)
            break;
        memcpy(copy, ent->d_name, len);
        copy[len] = dir ? '/' : '\0';
        copy[len + 1] = '\0';
        names[count++] = copy;
    }
    closedir(d);
    qsort(names, count, sizeof *names, name_order);
    zzz_res_header(res, "Content-Type", "text/html; charset=utf-8");
    zzz_res_header(res, "X-Content-Type-Options", "nosniff");
    zzz_res_header(res, "Cache-Control", "no-cache");
    zzz_str path = zzz_req_path(req);
    char path_text[STATIC_NAME_MAX + 1];
    size_t plen = path.len < STATIC_NAME_MAX ? path.len : STATIC_NAME_MAX;
    memcpy(path_text, path.ptr, plen);
    path_text[plen] = '\0';
    static const char open[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ";
    int err = zzz_res_write(res, open, sizeof open - 1);
    if (!err)
        err = write_escaped(res, path_text, false);
    static const char mid[] = "</title></head>\n<body><h1>Index of ";
    if (!err)
        err = zzz_res_write(res, mid, sizeof mid - 1);
    if (!err)
        err = write_escaped(res, path_text, false);
    static const char list[] = "</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n";
    if (!err)
        err = zzz_res_write(res, list, sizeof list - 1);
    for (size_t i = 0; i < count && !err; i++) {
        size_t len = strlen(names[i]);
        bool dir = len > 0 && names[i][len - 1] == '/';
        if (dir)
            names[i][len - 1] = '\0';
        err = zzz_res_write(res, "<li><a href=\"", 13);
        if (!err)
            err = write_escaped(res, names[i], true);
        if (!err)
            err = zzz_res_write(res, dir ? "/\">" : "\">", dir ? 3 : 2);
        if (!err)
            err = write_escaped(res, names[i], false);
        if (!err)
            err = zzz_res_write(res, dir ? "/</a></li>\n" : "</a></li>\n", dir ? 11 : 10);
    }
    static const char close_list[] = "</ul>\n</body></html>\n";
    if (!err)
        err = zzz_res_write(res, close_list, sizeof close_list - 1);
    if (!err)
        zzz_res_end(res);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
