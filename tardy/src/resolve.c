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

/* ---- connecting: Happy Eyeballs (RFC 8305) ------------------------------ */

/* The addresses tried, at most; a resolver answer rarely has more. */
#define HE_MAX_ADDRS 32
/* How long an attempt has alone before the next one starts beside it
 * (RFC 8305's Connection Attempt Delay, its recommended value). */
#define HE_ATTEMPT_DELAY_NS (250ull * 1000000u)

typedef struct he_result {
    int index;
    int fd_or_err;
} he_result;

typedef struct he_attempt {
    const struct addrinfo *ai;
    tardy_chan *results;
    uint64_t deadline;
    int index;
    tardy_task task;
    bool reported;
} he_attempt;

/* One attempt: a socket and a connect, reported on the race's channel
 * (room for every attempt, so the send never waits). */
static void he_attempt_run(void *arg)
{
    he_attempt *a = arg;
    tardy_deadline_set(a->deadline);
    int fd = tardy_socket(a->ai->ai_family, SOCK_STREAM, a->ai->ai_protocol);
    int r = fd;
    if (fd >= 0) {
        r = tardy_connect(fd, a->ai->ai_addr, a->ai->ai_addrlen);
        if (r == 0)
            r = fd;
        else
            tardy_close(fd);
    }
    he_result res = {.index = a->index, .fd_or_err = r};
    tardy_chan_try_send(a->results, &res);
}

/* RFC 8305 section 4: alternate the address families, starting with the
 * resolver's first. */
static int he_order(const struct addrinfo *list, const struct addrinfo **out)
{
    const struct addrinfo *first[HE_MAX_ADDRS], *other[HE_MAX_ADDRS];
    int nf = 0, no = 0;
    int family = list ? list->ai_family : AF_UNSPEC;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family == family && nf < HE_MAX_ADDRS)
            first[nf++] = ai;
        else if (ai->ai_family != family && no < HE_MAX_ADDRS)
            other[no++] = ai;
    }
    int n = 0;
    for (int i = 0; (i < nf || i < no) && n < HE_MAX_ADDRS; i++) {
        if (i < nf)
            out[n++] = first[i];
        if (i < no && n < HE_MAX_ADDRS)
            out[n++] = other[i];
    }
    return n;
}

/* Races connections to list's addresses: a new attempt starts when the
 * previous ones have had HE_ATTEMPT_DELAY_NS, or at once when one fails;
 * the first to connect wins and the others are cancelled. Returns the
 * winner's descriptor or the last error. The caller's deadline is
 * `deadline` (0: none) meanwhile. */
static int he_race(const struct addrinfo *list, uint64_t deadline)
{
    const struct addrinfo *order[HE_MAX_ADDRS];
    int n = he_order(list, order);
    if (n == 0)
        return -ENOENT;
    tardy_chan *results;
    int r = tardy_chan_create(&results, sizeof(he_result), (size_t)n);
    if (r)
        return r;
    he_attempt attempts[HE_MAX_ADDRS];
    int started = 0, pending = 0, winner = -1, last_err = -ENOENT;
    bool start_next = true;
    while (winner < 0) {
        if (start_next && started < n) {
            he_attempt *a = &attempts[started];
            *a = (he_attempt){.ai = order[started], .results = results, .deadline = deadline,
                              .index = started};
            started++;
            pending++;
            /* Without a free task slot, the attempt runs here, alone. */
            if (tardy_spawn(he_attempt_run, a, &a->task) != 0) {
                a->task = (tardy_task){0};
                he_attempt_run(a);
                tardy_deadline_set(deadline);
            }
        }
        start_next = false;
        if (pending == 0)
            break; /* every address has failed */
        uint64_t wait_until = deadline;
        if (started < n) {
            uint64_t next = tardy_now() + HE_ATTEMPT_DELAY_NS;
            if (!wait_until || next < wait_until)
                wait_until = next;
        }
        tardy_deadline_set(wait_until);
        he_result res;
        r = tardy_chan_recv(results, &res);
        tardy_deadline_set(deadline);
        if (r == -ETIMEDOUT && wait_until != deadline) {
            start_next = true; /* the attempt delay passed */
            continue;
        }
        if (r < 0) {
            last_err = r;
            break;
        }
        attempts[res.index].reported = true;
        pending--;
        if (res.fd_or_err >= 0)
            winner = res.fd_or_err;
        else
            last_err = res.fd_or_err, start_next = true;
    }
    /* The losers: cancelled and waited for (they use this frame), and a
     * late success closed. Neither a deadline nor a cancel may cut this
     * short, so they are set aside. */
    tardy_deadline_set(0);
    for (int i = 0; i < started; i++)
        if (!attempts[i].reported && attempts[i].task.id)
            tardy_cancel(attempts[i].task);
    bool cancelled = false;
    for (int i = 0; i < started; i++) {
        if (!attempts[i].task.id)
            continue;
        int j;
        while ((j = tardy_join(attempts[i].task)) != 0)
            cancelled = cancelled || j == -ECANCELED;
    }
    he_result res;
    while (tardy_chan_try_recv(results, &res) == 0)
        if (res.fd_or_err >= 0 && res.fd_or_err != winner)
            tardy_close(res.fd_or_err);
    tardy_chan_destroy(results);
    tardy_deadline_set(deadline);
    if (cancelled && winner < 0)
        last_err = -ECANCELED;
    return winner >= 0 ? winner : last_err;
}

int tardy_connect_host(const char *host, uint16_t port, uint64_t timeout_ns)
{
    if (!tardy_runtime_self() || tardy_self().id == 0)
        return -EPERM;
    if (!host || !*host || port == 0)
        return -EINVAL;
    uint64_t saved = tardy_deadline();
    uint64_t deadline = saved;
    if (timeout_ns) {
        uint64_t now = tardy_now();
        uint64_t mine = now + timeout_ns < now ? UINT64_MAX : now + timeout_ns;
        if (!deadline || mine < deadline)
            deadline = mine;
    }
    tardy_deadline_set(deadline);
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int r = tardy_resolve(host, service, &hints, &list);
    if (r == 0) {
        r = he_race(list, deadline);
        tardy_resolve_free(list);
    }
    tardy_deadline_set(saved);
    return r;
}
