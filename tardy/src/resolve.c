/* Names: getaddrinfo on the blocking pool (tardy_resolve), its EAI codes
 * read as -errno, and connecting to a host by name (tardy_connect_host). */
#include "blocking.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gai_errno(int gai, int sys_errno)
{
    switch (gai) {
    case 0:
        return 0;
    case EAI_NONAME:
        return -ENOENT;
#ifdef EAI_NODATA
    case EAI_NODATA:
        return -ENODATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
        return -ENODATA;
#endif
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_FAIL:
        return -EIO;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SOCKTYPE:
        return -ESOCKTNOSUPPORT;
    case EAI_SERVICE:
        return -EPROTONOSUPPORT;
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_OVERFLOW:
        return -EOVERFLOW;
    case EAI_SYSTEM:
        return sys_errno > 0 ? -sys_errno : -EIO;
    default:
        return -EIO;
    }
}

/* A lookup on the pool owns copies of its inputs, since the task may give
 * up on it and return while it runs. */
typedef struct resolve_req {
    char *host;
    char *service;
    struct addrinfo hints;
    bool has_hints;
    struct addrinfo *list;
} resolve_req;

static void req_free(resolve_req *req)
{
    free(req->host);
    free(req->service);
    free(req);
}

static int64_t resolve_job(void *arg)
{
    resolve_req *req = arg;
    errno = 0;
    int gai = getaddrinfo(req->host, req->service, req->has_hints ? &req->hints : NULL, &req->list);
    if (gai != 0)
        req->list = NULL;
    return gai_errno(gai, errno);
}

static void resolve_drop(void *arg, int64_t result)
{
    (void)result;
    resolve_req *req = arg;
    if (req->list)
        freeaddrinfo(req->list);
    req_free(req);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A numeric address and port need no lookup: getaddrinfo converts them
 * without touching a file or the network. */
static bool numeric_only(const char *host, const char *service)
{
    if (service && !all_digits(service))
        return false;
    if (!host)
        return service != NULL;
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

int tardy_resolve(const char *host, const char *service, const struct addrinfo *hints,
                  struct addrinfo **list)
{
    if (!list || (!host && !service))
        return -EINVAL;
    *list = NULL;
    if (!tardy_runtime_self() || tardy_self().id == 0)
        return -EPERM;
    if (numeric_only(host, service)) {
        struct addrinfo h = hints ? *hints : (struct addrinfo){.ai_family = AF_UNSPEC};
        if (!hints)
            h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG; /* getaddrinfo's own default */
        h.ai_flags |= (host ? AI_NUMERICHOST : 0) | (service ? AI_NUMERICSERV : 0);
        errno = 0;
        int gai = getaddrinfo(host, service, &h, list);
        if (gai != 0)
            *list = NULL;
        return gai_errno(gai, errno);
    }
    resolve_req *req = calloc(1, sizeof *req);
    if (!req)
        return -ENOMEM;
    req->host = host ? strdup(host) : NULL;
    req->service = service ? strdup(service) : NULL;
    if ((host && !req->host) || (service && !req->service)) {
        req_free(req);
        return -ENOMEM;
    }
    if (hints) {
        /* Only the fields getaddrinfo reads from hints. */
        req->hints.ai_flags = hints->ai_flags;
        req->hints.ai_family = hints->ai_family;
        req->hints.ai_socktype = hints->ai_socktype;
        req->hints.ai_protocol = hints->ai_protocol;
        req->has_hints = true;
    }
    int64_t result = 0;
    int err = tardy_blocking_call(resolve_job, req, resolve_drop, false, &result);
    if (err)
        return err; /* resolve_drop has freed req, or will when the lookup ends */
    *list = req->list;
    req->list = NULL;
    req_free(req);
    return (int)result;
}

void tardy_resolve_free(struct addrinfo *list)
{
    if (list)
        freeaddrinfo(list);
}

int tardy_connect_host(const char *host, uint16_t port, uint64_t timeout_ns)
{
    if (!tardy_runtime_self() || tardy_self().id == 0)
        return -EPERM;
    if (!host || !*host || port == 0)
        return -EINVAL;
    uint64_t saved = tardy_deadline();
    if (timeout_ns) {
        uint64_t now = tardy_now();
        uint64_t mine = now + timeout_ns < now ? UINT64_MAX : now + timeout_ns;
        if (!saved || mine < saved)
            tardy_deadline_set(mine);
    }
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int r = tardy_resolve(host, service, &hints, &list);
    if (r == 0) {
        r = -ENOENT; /* an empty answer */
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
            int fd = tardy_socket(ai->ai_family, SOCK_STREAM, ai->ai_protocol);
            if (fd < 0) {
                r = fd;
                continue;
            }
            r = tardy_connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (r == 0) {
                r = fd;
                break;
            }
            tardy_close(fd);
            if (r == -ETIMEDOUT || r == -ECANCELED)
                break;
        }
        tardy_resolve_free(list);
    }
    tardy_deadline_set(saved);
    return r;
}
