/* PEM text, from a file or from memory, into the DER objects it holds
 * (certificates and private keys), through BearSSL's PEM decoder. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TLS_MAX_PEM (1u << 20) /* a certificate or key file larger is refused */

int zzz_bytes_append(zzz_bytes *b, const void *data, size_t len)
{
    if (len == 0)
        return 0; /* an empty PEM object: b->data may still be NULL */
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return -ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void zzz_bytes_free(zzz_bytes *b)
{
    if (b->data)
        memset(b->data, 0, b->cap); /* it may have held a private key */
    free(b->data);
    *b = (zzz_bytes){0};
}

int zzz_pem_read(const char *path, const char *mem, size_t mem_len, const char *what,
                 zzz_bytes *out)
{
    *out = (zzz_bytes){0};
    if (!path) {
        if (!mem || mem_len == 0) {
            zzz_set_error("tls: no %s given (neither a file nor PEM text)", what);
            return -EINVAL;
        }
        return zzz_bytes_append(out, mem, mem_len);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        zzz_set_error("tls: %s: cannot open the %s: %s", path, what, strerror(errno));
        return err;
    }
    int err = 0;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            zzz_set_error("tls: %s: cannot read the %s: %s", path, what, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > TLS_MAX_PEM) {
            zzz_set_error("tls: %s: larger than %u bytes: not a %s", path, TLS_MAX_PEM, what);
            err = -EINVAL;
            break;
        }
        if ((err = zzz_bytes_append(out, chunk, (size_t)n)) != 0)
            break;
    }
    close(fd);
    if (err)
        zzz_bytes_free(out);
    return err;
}

/* Where the PEM decoder writes an object's bytes. */
typedef struct pem_dest {
    zzz_bytes der;
    int err;
} pem_dest;

static void pem_append(void *arg, const void *data, size_t len)
{
    pem_dest *d = arg;
    if (d->err == 0)
        d->err = zzz_bytes_append(&d->der, data, len);
}

int zzz_pem_each(const zzz_bytes *pem,
                 int (*fn)(const char *label, const zzz_bytes *der, void *arg), void *arg)
{
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    pem_dest dest = {0};
    char label[128] = "";
    bool inside = false;
    int err = 0;
    /* The text, then a newline in case the last line has none. */
    static const unsigned char nl = '\n';
    const unsigned char *parts[2] = {pem->data, &nl};
    size_t lens[2] = {pem->len, 1};
    for (int part = 0; part < 2 && err == 0; part++) {
        const unsigned char *src = parts[part];
        size_t left = lens[part];
        while (left > 0 && err == 0) {
            size_t used = br_pem_decoder_push(&pc, src, left);
            src += used;
            left -= used;
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                snprintf(label, sizeof label, "%s", br_pem_decoder_name(&pc));
                dest.der.len = 0;
                dest.err = 0;
                inside = true;
                br_pem_decoder_setdest(&pc, pem_append, &dest);
                break;
            case BR_PEM_END_OBJ:
                inside = false;
                err = dest.err ? dest.err : fn(label, &dest.der, arg);
                break;
            case BR_PEM_ERROR:
                err = -EINVAL;
                break;
            default:
                break;
            }
        }
    }
    if (err == 0 && inside)
        err = -EINVAL; /* cut off inside an object */
    zzz_bytes_free(&dest.der);
    return err;
}
