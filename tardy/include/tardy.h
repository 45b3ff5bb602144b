/* tardy: an asynchronous runtime of stackful coroutines, one scheduler per
 * thread over an io_uring, epoll or busy-loop driver. This is the whole
 * public API of libtardy. */
#ifndef TARDY_H
#define TARDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The shared library is built with hidden visibility: what is declared
 * here, and only that, is exported. */
#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

/* The opaque records below are aligned for what they hold, in C and C++. */
#ifdef __cplusplus
#define TARDY_ALIGNAS_(n) alignas(n)
#else
#define TARDY_ALIGNAS_(n) _Alignas(n)
#endif

/* ------------------------------------------------------------------------
 * Conventions
 *
 * Every call that wraps a syscall returns >= 0 on success or -errno on
 * failure, never -1 with errno. Calls marked "task only" park the calling
 * task until they complete and must be made from inside a task; made
 * anywhere else they return -EPERM. Every task-only call returns
 * -ETIMEDOUT once the task's deadline has passed and -ECANCELED when
 * another task cancelled it (see tardy_deadline_set and tardy_cancel).
 *
 * The tasks of a runtime share the thread's floating-point environment
 * (rounding mode, exception masks): a task that changes it must restore it
 * before it parks or yields.
 *
 * File descriptors used with tardy should be non-blocking: tardy_socket
 * and tardy_accept make them so. Under the epoll and busy drivers a
 * blocking descriptor blocks the whole runtime thread while it waits.
 * ---------------------------------------------------------------------- */

/* Which I/O driver a runtime uses. */
typedef enum tardy_driver_kind {
    TARDY_DRIVER_AUTO = 0, /* io_uring if the kernel allows it, else epoll, else busy */
    TARDY_DRIVER_IO_URING,
    TARDY_DRIVER_EPOLL,
    TARDY_DRIVER_BUSY,
} tardy_driver_kind;

/* A driver of your own: see <tardy_driver.h>. */
struct tardy_driver_ops;

/* Configuration of tardy_run. A zero field means "the default". */
typedef struct tardy_config {
    /* Number of runtimes (threads). 0: one per online CPU. At most 4096. */
    unsigned threads;
    /* Tasks alive at once per runtime, including the entry task.
     * 0: 1024. At most 16777215. */
    unsigned max_tasks;
    /* Usable stack bytes per task, rounded up to whole pages. 0: 64 KiB.
     * Each stack also gets a PROT_NONE guard below it, so an overflow
     * dies of SIGSEGV instead of corrupting memory. When SIGSEGV has its
     * default action as tardy_run starts, tardy installs a handler (on an
     * alternate signal stack it gives each runtime thread that has none)
     * that writes "tardy: task stack overflow (stack size N bytes); raise
     * tardy_config.stack_size" to stderr for a fault in a task's guard,
     * then restores the default action so that the process still dies of
     * SIGSEGV; other faults pass through unchanged. A SIGSEGV handler the
     * application installed before tardy_run is kept, and one installed
     * later replaces tardy's: it then sees the overflows itself. */
    size_t stack_size;
    /* The driver. The environment variable TARDY_DRIVER
     * (io_uring | epoll | busy) overrides this field. */
    tardy_driver_kind driver;
    /* io_uring submission queue entries per runtime. 0: 256. */
    unsigned queue_depth;
    /* Watches with a deadline expected at once per runtime (a server: its
     * connection limit). The timer heap is sized for max_tasks +
     * max_watches at start-up, so arming one never allocates; past that it
     * still grows. 0: 64. At most 67108864. */
    unsigned max_watches;
    /* Receive-ahead buffers per runtime, shared by its receive streams
     * (tardy_stream) on a driver that can fill them as data arrives
     * (io_uring on Linux 5.19+, epoll). 0: 64; UINT_MAX: none; at most
     * 32768.
     * Each costs recv_buffer_size bytes of address space, touched as it
     * is used. When all are taken, a stream waits for readiness instead. */
    unsigned recv_buffers;
    /* Bytes per receive-ahead buffer, at most 65536. 0: 2048. */
    unsigned recv_buffer_size;
    /* A driver of your own, written against <tardy_driver.h> (installed
     * next to this header); when set it overrides `driver` and
     * TARDY_DRIVER. tardy_run checks it before starting (see there). */
    const struct tardy_driver_ops *custom_driver;
    /* Threads of the blocking-work pool (tardy_blocking, tardy_resolve,
     * and file calls on the epoll and busy drivers), shared by all the
     * runtimes of the run. 0: 16. At most 1024. They start one at a time
     * as jobs arrive and none is idle. */
    unsigned blocking_threads;
    /* A pool thread with no job for this many milliseconds exits (the
     * next job starts a new one). 0: 10000. */
    unsigned blocking_idle_ms;
} tardy_config;

/* A task's body. It finishes by returning. */
typedef void (*tardy_fn)(void *arg);

/* A handle that names one task. It stays safe to use after the task ends:
 * calls given a finished task's handle see it as finished (no reuse
 * confusion). The zero handle names no task. */
typedef struct tardy_task {
    uint64_t id;
} tardy_task;

/* One scheduler thread. Valid until tardy_run returns. */
typedef struct tardy_runtime tardy_runtime;

/* ------------------------------------------------------------------------
 * Running
 * ---------------------------------------------------------------------- */

/* Starts config->threads runtimes (the calling thread runs the first one)
 * and runs entry(arg) as the first task of every runtime. Returns when
 * every task of every runtime has finished, or after tardy_stop.
 * config may be NULL (all defaults).
 * Returns 0, -EINVAL for a bad configuration (a field past its maximum,
 * an unknown driver kind), a NULL entry or an unknown TARDY_DRIVER value,
 * -ENOMEM when the task pool cannot be allocated, -ENOSYS when the
 * requested driver is not built in or the kernel refuses it (io_uring
 * disabled, epoll missing), -EBUSY when called from inside a runtime, or
 * another -errno from thread or driver start-up. A custom_driver built
 * against another version of tardy_driver.h (its api_version is not this
 * library's TARDY_DRIVER_API_VERSION) is refused with -EPROTO, and an
 * incomplete or inconsistent one (no name, a required function missing,
 * an unknown flag) with -EINVAL, before any thread starts. */
int tardy_run(const tardy_config *config, tardy_fn entry, void *arg);

/* Asks runtimes to stop. From inside a runtime: stops every runtime of
 * that tardy_run. From any other thread, or a signal handler: stops every
 * tardy_run in progress. Runtimes stop at their next scheduler turn;
 * tasks still alive are not resumed again (their stacks are released).
 * Async-signal-safe. */
void tardy_stop(void);

/* True once tardy_stop has been called for the current run. A long task
 * can poll this to finish cleanly. False outside a runtime. */
int tardy_stopping(void);

/* The runtime of the calling thread, or NULL outside any runtime. */
tardy_runtime *tardy_runtime_self(void);

/* Runtime number `index` (0-based) of the calling thread's run, or NULL
 * when out of range or outside a runtime. */
tardy_runtime *tardy_runtime_at(unsigned index);

/* The index of `rt` within its run; 0 when rt is NULL. */
unsigned tardy_runtime_index(const tardy_runtime *rt);

/* The number of runtimes of the calling thread's run; 0 outside. */
unsigned tardy_runtime_count(void);

/* The name of the driver the calling thread's runtime uses ("io_uring",
 * "epoll", "busy" or the custom driver's), or NULL outside a runtime. */
const char *tardy_driver_name(void);

/* Monotonic time in nanoseconds, cached once per scheduler turn (so it is
 * cheap and may lag real time by one turn). Outside a runtime it reads
 * the clock. */
uint64_t tardy_now(void);

/* The I/O epoch of the calling thread's runtime: a count that advances
 * whenever tasks may be about to see bytes that arrived after it was last
 * read. It advances once per scheduler turn, before the turn's ready tasks
 * run (their I/O was collected from the driver before that), and each time
 * a receive brings bytes in without the task parking (tardy_recv,
 * tardy_recvmsg, tardy_recv_now, a stream's read or take that receives,
 * tardy_read and tardy_readv without an offset; bytes a stream had
 * already queued arrived before the turn). Within a run it never goes
 * back; each run starts from a value no earlier run on the process
 * reached; it is never 0 inside a runtime.
 *
 * The promise: if two calls in the same thread return the same value, the
 * bytes that any task of this runtime received through tardy between the
 * two had reached the kernel by the first call. So a check made while the
 * epoch reads E (a file's stat, say) is at least as recent as the arrival
 * of every request a task serves while it still reads E, and need not be
 * repeated for each of them: zzz's static-file cache checks a file once
 * per epoch instead of once per request. Bytes read past tardy (a plain
 * recv(2) on the socket) are not counted; a program that mixes those in
 * cannot lean on the promise. Outside a runtime: 0, which no check made
 * inside one ever matches. */
uint64_t tardy_io_epoch(void);

/* ------------------------------------------------------------------------
 * Tasks
 * ---------------------------------------------------------------------- */

/* Spawns fn(arg) as a new task on the calling thread's runtime; it runs
 * after the caller next parks or yields. If `out` is non-NULL it receives
 * the handle. Returns 0, -EAGAIN when max_tasks tasks are alive (nothing
 * is spawned and the runtime carries on), -ENOMEM when a stack cannot be
 * mapped, -EINVAL when fn is NULL, -EPERM outside a task. It never parks,
 * so a deadline or a pending cancel does not affect it. */
int tardy_spawn(tardy_fn fn, void *arg, tardy_task *out);

/* Spawns fn(arg) on runtime `rt`, from any thread (inside a runtime or
 * not). The task slot is reserved at once, so the call fails instead of
 * queueing without bound: returns 0, -EAGAIN when `rt` has max_tasks
 * tasks alive or reserved, -ESRCH when `rt`'s run has ended or is
 * stopping, -ENOMEM when out of memory, -EINVAL when rt or fn is NULL.
 * From a task of `rt` itself it is tardy_spawn (same returns). On another
 * runtime the stack is mapped when the request arrives there; if that
 * fails, the task is dropped without a word, 0 having been returned. */
int tardy_spawn_on(tardy_runtime *rt, tardy_fn fn, void *arg);

/* Moves the calling task to the back of the ready queue. Returns 0,
 * -ECANCELED if a cancel was pending, -EPERM outside a task. */
int tardy_yield(void);

/* Waits until task `t` of the calling thread's runtime has finished.
 * Returns 0 (also when it had already finished), -EDEADLK when t is the
 * caller, -EXDEV when t lives on another runtime, -EINVAL for the zero
 * handle, -EPERM outside a task, and -ETIMEDOUT / -ECANCELED as every
 * task-only call (the target carries on). Task only. */
int tardy_join(tardy_task t);

/* The calling task's handle; the zero handle outside a task. */
tardy_task tardy_self(void);

/* The calling task's user pointer (NULL until set; NULL outside a task). */
void *tardy_task_data(void);
/* Sets the calling task's user pointer. No effect outside a task. */
void tardy_task_set_data(void *data);

/* ------------------------------------------------------------------------
 * Deadlines and cancellation
 * ---------------------------------------------------------------------- */

/* Sets the calling task's deadline to `when_ns` on the tardy_now clock.
 * Every task-only call that is pending at the deadline, or started after
 * it, returns -ETIMEDOUT (an operation that completed first keeps its
 * result). The deadline stays until cleared or replaced. 0 clears it. */
void tardy_deadline_set(uint64_t when_ns);

/* Sets the deadline `ns` nanoseconds from now. */
void tardy_deadline_after(uint64_t ns);

/* Clears the calling task's deadline. */
void tardy_deadline_clear(void);

/* The calling task's deadline, 0 when it has none (or outside a task). */
uint64_t tardy_deadline(void);

/* Cancels task t's pending operation: it returns -ECANCELED (or its real
 * result if it completed first). If t is not parked in an operation, its
 * next task-only call returns -ECANCELED instead. Works across runtimes
 * and from outside any runtime. Returns 0 when the request was made,
 * -ESRCH when t has finished (or never existed), -EINVAL for the zero
 * handle, -ENOMEM when a cross-runtime request cannot be allocated. A
 * request to another runtime that crosses the task's end is dropped. */
int tardy_cancel(tardy_task t);

/* ------------------------------------------------------------------------
 * I/O (task only, except tardy_socket). Offsets of -1 mean "the file's
 * current position" for descriptors that have one.
 *
 * Each call returns what its syscall would (a count, a descriptor, 0) or
 * that syscall's -errno (-EBADF, -ECONNRESET, -EPIPE, -ENOENT ...), and,
 * as every task-only call, -EPERM outside a task, -ETIMEDOUT and
 * -ECANCELED; -EAGAIN only for a socket call given MSG_DONTWAIT, which
 * tries once and never parks.
 * ---------------------------------------------------------------------- */

/* socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC added. Usable anywhere. */
int tardy_socket(int domain, int type, int protocol);

/* Waits for and accepts a connection; the new descriptor is non-blocking
 * and close-on-exec. addr/addrlen may be NULL. */
int tardy_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/* Connects a (non-blocking) socket; returns 0 once connected. */
int tardy_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/* recv(2) / send(2). Return the byte count; 0 from recv means end of
 * stream. send may send less than len. send and sendmsg add MSG_NOSIGNAL:
 * a peer that went away is -EPIPE, never SIGPIPE. */
ssize_t tardy_recv(int fd, void *buf, size_t len, int flags);
ssize_t tardy_send(int fd, const void *buf, size_t len, int flags);

/* recv(fd, buf, len, flags | MSG_DONTWAIT) at once: what is there (> 0),
 * 0 at end of stream, -EAGAIN when nothing has arrived. Unlike tardy_recv
 * with MSG_DONTWAIT it neither reports nor consumes the task's passed
 * deadline or a pending cancel (they stay for the next call that waits),
 * and it works outside a task (outside a runtime it is the plain
 * syscall). Inside one, the driver hears of the result, as of any call it
 * did not make itself, and bytes advance tardy_io_epoch. */
ssize_t tardy_recv_now(int fd, void *buf, size_t len, int flags);

/* recvmsg(2) / sendmsg(2). The msghdr and what it points to must stay
 * valid until the call returns (they do: the task is parked). */
ssize_t tardy_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t tardy_sendmsg(int fd, const struct msghdr *msg, int flags);

/* read/write at `offset` (-1: current position). io_uring does these in
 * the ring. On regular files (and block devices) epoll and busy cannot
 * wait for readiness (a file is always "ready" to them), so: a read first
 * tries to take the bytes from the page cache without waiting
 * (RWF_NOWAIT), and when they are not all there, the call goes to the
 * blocking pool (see tardy_blocking); a write goes to the pool. Either
 * way other tasks of the runtime keep running while the disk works. On
 * sockets and pipes they wait for readiness as every driver does. A
 * deadline or cancel ends such a call only while it is queued for the
 * pool; once a pool thread has started it, the call returns its real
 * result (the buffer stays in use until then). */
ssize_t tardy_read(int fd, void *buf, size_t len, int64_t offset);
ssize_t tardy_write(int fd, const void *buf, size_t len, int64_t offset);
ssize_t tardy_readv(int fd, const struct iovec *iov, int iovcnt, int64_t offset);
ssize_t tardy_writev(int fd, const struct iovec *iov, int iovcnt, int64_t offset);

/* Reads up to len bytes of file fd at offset (>= 0) from what the page
 * cache holds: never waits for the disk and never parks the task (one
 * preadv2(2) with RWF_NOWAIT, under every driver, in a task or not). A
 * read in the io_uring ring parks its task until the next turn even when
 * every byte is cached; this does not. Returns the bytes read (> 0; fewer
 * than len when only the first part is cached or the file ends first);
 * -EAGAIN when nothing can be had this way: not cached, offset at or past
 * the end, or a descriptor, file system or kernel that cannot read
 * without the chance of waiting (the kernel's EOPNOTSUPP, EINVAL and
 * ENOSYS are folded in: a directory gives -EAGAIN too), and always where
 * the C library lacks preadv2's RWF_NOWAIT (musl). tardy_read then gives
 * the real outcome, waiting if it must. -EINVAL for a negative offset;
 * else the kernel's -errno (-EBADF, -ESPIPE for a socket or pipe). len 0
 * returns 0. */
ssize_t tardy_read_cached(int fd, void *buf, size_t len, int64_t offset);

/* open(2) relative to the working directory; O_CLOEXEC is added. On epoll
 * and busy, tardy_open, tardy_stat, tardy_unlink and tardy_mkdir run on
 * the blocking pool (a path lookup can wait on the disk), with the same
 * deadline rule as a file read above. */
int tardy_open(const char *path, int flags, mode_t mode);

/* Closes fd. Always use this (not close(2)) for a descriptor that tardy
 * has waited on, so the driver forgets it before the number is reused.
 * Returns 0, close(2)'s -errno, or -EPERM outside a task. It runs even
 * after the task's deadline has passed or a cancel arrived (cleanup must
 * not leak the descriptor): it never returns -ETIMEDOUT or -ECANCELED,
 * and a pending cancel stays pending for the next call. */
int tardy_close(int fd);

/* Closes fd as tardy_close does, without the calling task waiting for
 * the kernel: on io_uring the close joins the turn's submissions (fd
 * stays open until then, so its number cannot be reused before) and its
 * result is not reported; epoll and busy close at once. For descriptors
 * whose close has nothing to say (sockets): a task that closes does not
 * park, so many connections closing at once do not hold a stack each.
 * Returns 0 (also when the close was only queued), close(2)'s -errno
 * when it was made at once, -EPERM outside a task. */
int tardy_close_nowait(int fd);

/* stat(2), unlink(2) and mkdir(2) of a path. */
int tardy_stat(const char *path, struct stat *st);
int tardy_unlink(const char *path);
int tardy_mkdir(const char *path, mode_t mode);

/* Waits until fd has one of `events` (POLLIN, POLLOUT, ...) and returns
 * the events that are set (> 0, POLLERR / POLLHUP included when they
 * are). Needed to watch a connection without holding a buffer. */
int tardy_poll(int fd, short events);

/* ------------------------------------------------------------------------
 * Watches: wait for a descriptor without holding a task. A server keeps
 * one per idle connection: it costs this record and the driver's
 * registration, no task, no stack.
 * ---------------------------------------------------------------------- */

typedef struct tardy_watch {
    TARDY_ALIGNAS_(16) unsigned char opaque[320];
} tardy_watch;

/* Starts watching fd for `events` (POLLIN, ...). When one is ready, when
 * the deadline (absolute, on the tardy_now clock; 0 = none) passes, or when
 * the watch is cancelled, fn(arg) starts as a new task on the calling
 * thread's runtime; inside it tardy_watch_result(w) tells why. fn starts
 * exactly once per successful start; a pending watch keeps its run alive.
 * If max_tasks tasks are alive at that moment, fn starts as soon as a slot
 * frees. `w` must be zeroed before its first use and must stay in place,
 * untouched, until fn has started. Returns 0, -EPERM outside a task,
 * -EINVAL when w or fn is NULL, -EBUSY when w is already pending (or
 * still waiting for a task slot), -ENOMEM when the deadline cannot be
 * added to the timer heap. An fd the driver refuses is no error here: fn
 * starts with the error as its result. */
int tardy_watch_start(tardy_watch *w, int fd, short events, uint64_t deadline_ns, tardy_fn fn,
                      void *arg);

/* Ends a pending watch early: fn starts with result -ECANCELED (or with the
 * real result if the event won the race). Call it on the watch's own
 * runtime. Returns 0 (also when a cancel was already sent), -EALREADY
 * when w is not pending or belongs to another runtime (or none). */
int tardy_watch_cancel(tardy_watch *w);

/* Why the watch's fn started: the ready events (> 0), -ETIMEDOUT,
 * -ECANCELED, or another -errno from the driver (-EBADF ...). */
int tardy_watch_result(const tardy_watch *w);

/* ------------------------------------------------------------------------
 * Receive streams: the bytes of a socket, received ahead where the driver
 * can. On io_uring (with receive-ahead buffers, tardy_config.recv_buffers)
 * one multishot receive stays armed for the stream's whole life and the
 * kernel puts what arrives into the runtime's buffers, where it waits to
 * be read; no receive call, no poll to re-arm. On epoll the driver does
 * the same in its poll, before the turn's tasks run: each edge's bytes go
 * into the runtime's buffers (at most 4 held per socket at once), so a
 * task finds them without a receive call, and they do not move
 * tardy_io_epoch. On busy (or when every buffer is taken) the stream
 * waits for readiness and its reads receive from the socket. Either way
 * the calls below behave the same.
 *
 * On a message socket (datagram, SEQPACKET) the messages' bytes join the
 * stream in order; their boundaries are not kept.
 *
 * While a stream is open every read of its socket must go through it: the
 * kernel may already have taken the next bytes into the stream's queue.
 * Writes to the socket are not affected.
 * ---------------------------------------------------------------------- */

typedef struct tardy_stream {
    TARDY_ALIGNAS_(16) unsigned char opaque[320];
} tardy_stream;

/* Opens a receive stream on socket fd, on the calling thread's runtime.
 * `s` must be zeroed (or closed) and must stay in place until
 * tardy_stream_close. Nothing is received until the first wait or read.
 * Returns 0, -EPERM outside a runtime, -EINVAL when s is NULL or fd < 0,
 * -EBUSY when s is open already. */
int tardy_stream_open(tardy_stream *s, int fd);

/* Copies up to len bytes that have arrived into buf, without waiting:
 * bytes the stream holds, else one non-blocking receive. Returns the
 * bytes copied (> 0), 0 at the end of the stream (or when len is 0),
 * -EAGAIN when nothing has arrived, another -errno of the socket's;
 * -EPERM outside the stream's runtime, -EBADF when s is not open. */
ssize_t tardy_stream_take(tardy_stream *s, void *buf, size_t len);

/* Reads up to len bytes into buf, waiting (under the task's deadline) when
 * none has arrived. Returns the bytes copied (> 0), 0 at the end of the
 * stream (or when len is 0), -ETIMEDOUT, -ECANCELED, another -errno of
 * the socket's; -EBUSY when another task is reading the stream, -EBADF
 * when s is not open. Task only, on the stream's runtime (-EPERM). */
ssize_t tardy_stream_read(tardy_stream *s, void *buf, size_t len);

/* Waits without holding a task. When there is something to take (bytes,
 * the end of the stream, an error of the socket's; or the end of the
 * stream's send, when one is in flight), when deadline_ns
 * (absolute, tardy_now clock; 0 = none) passes, or when the wait is
 * cancelled, fn(arg) starts as a new task on the stream's runtime, as a
 * watch's does (see tardy_watch_start: once per successful call, as soon
 * as a task slot is free); tardy_stream_result tells why. Bytes that have
 * arrived already make fn start at once. Returns 0, -EPERM outside a
 * task or on another runtime, -EINVAL when fn is NULL, -EBADF when s is
 * not open, -EBUSY when a wait is pending, -ENOMEM. */
int tardy_stream_wait(tardy_stream *s, uint64_t deadline_ns, tardy_fn fn, void *arg);

/* Ends a pending wait early: its fn starts with result -ECANCELED (or with
 * the real result if bytes won the race). Call it on the stream's runtime.
 * Returns 0, -EALREADY when no wait is pending. */
int tardy_stream_cancel(tardy_stream *s);

/* Why the last wait's fn started: > 0 when there is something to take
 * (bytes, the end of the stream, or an error a take will return:
 * POLLIN) or when the stream's send ended (POLLOUT; bytes may have come
 * too, a take tells), -ETIMEDOUT, -ECANCELED, or -EBADF / -ENOTSOCK when
 * fd is not a socket. */
int tardy_stream_result(const tardy_stream *s);

/* Sends len bytes of buf on the stream's socket, every one of them,
 * without the caller waiting for the kernel: the send is handed to the
 * driver (on io_uring it joins the turn's submissions; epoll and busy
 * try it at once and finish it when the socket has room), and a short
 * send goes on with the rest, until all is sent or the socket fails. So
 * a task can hand over its last bytes and end, holding no stack while
 * the kernel sends them. buf must stay in place, untouched, until the
 * send is over (tardy_stream_sent returns anything but -EINPROGRESS).
 * While it is in flight a wait (tardy_stream_wait) ends when it ends too
 * (POLLOUT in tardy_stream_result); bytes the socket gets by other means
 * meanwhile may go first, so send nothing else until it is over. A
 * send in flight keeps the run going, as a task does.
 * Returns 0 when every byte went at once (buf is the caller's again; len
 * 0 sends nothing), 1 when the send is in flight, a -errno of the
 * socket's (-EPIPE, -ECONNRESET ...); -EBUSY while an earlier send has
 * not been collected (tardy_stream_sent), -ENOBUFS when the runtime's
 * send records are all taken (max_tasks of them: send another way),
 * -EPERM outside the stream's runtime, -EBADF when s is not open. */
int tardy_stream_send(tardy_stream *s, const void *buf, size_t len);

/* Collects the end of the stream's send (tardy_stream_send). Returns 0
 * when every byte went (or no send was made since the last collection),
 * the -errno that ended it (how many bytes went before is not told), or
 * -EINPROGRESS while it is in flight. With `wait` the calling task waits
 * for the end instead, under its deadline (task only, -EPERM): then
 * -ETIMEDOUT or -ECANCELED leave the send in flight. After any other
 * return, the send's buffer is the caller's again. */
int tardy_stream_sent(tardy_stream *s, bool wait);

/* How the stream's send in flight is going: the bytes it has still to
 * send (0 when none is in flight), and in *last_ns (unless NULL) when it
 * last moved, on the tardy_now clock: the kernel taking some of it, or
 * the send's start. For a timeout that counts from progress, as a slow
 * but steady reader deserves. */
size_t tardy_stream_unsent(const tardy_stream *s, uint64_t *last_ns);

/* Closes the stream (not its socket): unread bytes are dropped and their
 * buffers go back to the runtime. On io_uring the multishot receive is
 * cancelled and the calling task waits, briefly and not interruptibly,
 * until the kernel has let go of it; so close the stream before its
 * socket. A send in flight is cancelled the same way (what it had not
 * sent is not sent), and its buffer is the caller's again on return. `s` is then as if zeroed.
 * Returns 0 (also when s is not open), -EBUSY while a wait is pending (cancel it, and let its fn
 * start, first) or another task is in tardy_stream_read (cancel that task first), -EPERM when the
 * kernel still holds the stream and the caller is not a task of its runtime. */
int tardy_stream_close(tardy_stream *s);

/* Sleeps for `ns` nanoseconds. Returns 0; -ETIMEDOUT at the task's
 * deadline when that comes first, -ECANCELED when cancelled, -EPERM
 * outside a task. Sleeps that end at the same instant wake in the order
 * they were started. */
int tardy_sleep(uint64_t ns);

/* ------------------------------------------------------------------------
 * Blocking work: calls that would block the thread (a library that does
 * its own I/O, a long computation, getaddrinfo) run on a pool of threads
 * shared by the runtimes of the run, while the calling task parks and its
 * runtime serves other tasks. The pool has at most
 * tardy_config.blocking_threads threads; jobs beyond that wait in a FIFO
 * queue, which cannot outgrow the parked tasks (one job each). A job
 * that finishes wakes its task through the runtime's wake-up path (the
 * same one tardy_spawn_on uses), so nothing polls for it.
 * ---------------------------------------------------------------------- */

/* A job for the pool. It runs on a pool thread, outside any runtime:
 * task-only calls made from it return -EPERM. */
typedef int64_t (*tardy_blocking_fn)(void *arg);

/* Runs fn(arg) on a pool thread and parks the calling task until it has
 * returned. Returns 0 and stores fn's return value in *result (when
 * result is non-NULL); -EINVAL when fn is NULL; -EPERM outside a task;
 * -EAGAIN when the pool has no thread and cannot start one (the error of
 * pthread_create); -ESRCH when the run is stopping. As every task-only
 * call it returns -ETIMEDOUT at the task's deadline and -ECANCELED when
 * cancelled (tardy_cancel), and then:
 *   - a job that had not started is taken off the queue and never runs;
 *   - a job that had started runs to its end on the pool thread, and
 *     its result is dropped: *result is not written, and arg must stay
 *     valid until fn returns (see tardy_blocking_drop for a way to free
 *     it then).
 * If tardy_stop ends the run while a job runs, tardy_run returns once
 * the job has returned; jobs still queued never run. */
int tardy_blocking(tardy_blocking_fn fn, void *arg, int64_t *result);

/* tardy_blocking for an arg that the job owns. Unless it returns 0
 * (fn's result delivered to the caller), drop(arg, r) is called exactly
 * once: before it returns, with r its error, when fn never ran (a
 * refused call, a job taken off the queue); or, when the caller stopped
 * waiting after fn had started (-ETIMEDOUT, -ECANCELED, the run
 * stopping), as soon as fn returns, with r fn's result: on the pool
 * thread, or, when the run is ending, on the runtime's thread while it
 * stops. So drop is the place to free arg and whatever fn made, and
 * after a non-zero return the caller must not touch arg. drop may be
 * NULL. One case escapes it: a job that had finished, and whose task
 * was ready to take the result but never ran again because the run
 * stopped, is neither delivered nor dropped (what it made is lost with
 * the run, as a task's own memory is). Returns as tardy_blocking. */
int tardy_blocking_drop(tardy_blocking_fn fn, void *arg, void (*drop)(void *arg, int64_t result),
                        int64_t *result);

/* ------------------------------------------------------------------------
 * Names: getaddrinfo on the blocking pool, and connecting to a host name.
 *
 * getaddrinfo's EAI_* codes read as -errno values:
 *   EAI_NONAME     -ENOENT        the name (or service) is not known
 *   EAI_NODATA     -ENODATA       the name is known but has no address
 *   EAI_ADDRFAMILY -ENODATA       (no address of the requested family)
 *   EAI_AGAIN      -EAGAIN        temporary failure, such as no resolver
 *                                 reachable; trying later may succeed
 *   EAI_FAIL       -EIO           the resolver failed for good
 *   EAI_FAMILY     -EAFNOSUPPORT  hints->ai_family is not supported
 *   EAI_SOCKTYPE   -ESOCKTNOSUPPORT hints->ai_socktype is not supported
 *   EAI_SERVICE    -EPROTONOSUPPORT the service is not available for the
 *                                 socket type
 *   EAI_BADFLAGS   -EINVAL        bad hints->ai_flags
 *   EAI_MEMORY     -ENOMEM
 *   EAI_OVERFLOW   -EOVERFLOW
 *   EAI_SYSTEM     -errno         the errno getaddrinfo left
 *   anything else  -EIO
 * ---------------------------------------------------------------------- */

/* Resolves host and/or service as getaddrinfo(3) does (either may be
 * NULL, not both; hints may be NULL), on the blocking pool, so that the
 * runtime keeps serving other tasks. Numeric addresses are converted on
 * the spot. Returns 0 and sets *list to a list the caller frees with
 * tardy_resolve_free; a mapped EAI error (table above); -EINVAL when list
 * is NULL or both host and service are; -ENOMEM; and as tardy_blocking
 * (-ETIMEDOUT, -ECANCELED, -EPERM...). A lookup given up on (deadline,
 * cancel) still finishes on the pool, and its result is freed there. */
struct addrinfo; /* <netdb.h> */

int tardy_resolve(const char *host, const char *service, const struct addrinfo *hints,
                  struct addrinfo **list);

/* Frees a list from tardy_resolve. NULL is allowed. Usable anywhere. */
void tardy_resolve_free(struct addrinfo *list);

/* Resolves host (a name or a numeric IPv4/IPv6 address) for a TCP
 * connection to `port` and connects as RFC 8305 (Happy Eyeballs) says:
 * the addresses in the resolver's order with the address families
 * alternating; each attempt has 250 ms alone before the next starts beside
 * it, a failed one starts the next at once, the first to connect wins and
 * the others are cancelled and closed. Each racing attempt is a task of
 * the caller's runtime (when max_tasks leaves none free, that attempt
 * runs alone, in order). timeout_ns bounds the whole call, lookup
 * included (0: no bound of its own; the task's deadline applies in any
 * case, the sooner wins). Returns a connected, non-blocking,
 * close-on-exec socket, which the caller closes with tardy_close; or a
 * resolver error (table above), the last attempt's -errno
 * (-ECONNREFUSED, -ENETUNREACH...) when every address failed, -ETIMEDOUT
 * when timeout_ns (or the deadline) passed first, -ECANCELED, -ENOMEM,
 * -EINVAL when host is NULL or empty or port is 0, -EPERM outside a
 * task. At most the first 32 addresses are tried. Task only. */
int tardy_connect_host(const char *host, uint16_t port, uint64_t timeout_ns);

/* ------------------------------------------------------------------------
 * Channels: bounded FIFO queues of fixed-size messages between tasks on
 * the same or different runtimes. Messages are copied in and out.
 * ---------------------------------------------------------------------- */

typedef struct tardy_chan tardy_chan;

/* Creates a channel of `capacity` messages of `elem_size` bytes each.
 * capacity 0 makes an unbuffered channel: a send completes only when a
 * receiver takes the message. Usable anywhere. Returns 0 and sets *out,
 * -EINVAL when out is NULL or elem_size is 0, -ENOMEM (also when
 * elem_size * capacity overflows). */
int tardy_chan_create(tardy_chan **out, size_t elem_size, size_t capacity);

/* Frees a channel. No task may be waiting on it. */
void tardy_chan_destroy(tardy_chan *ch);

/* Sends one message, parking while the channel is full. Returns 0,
 * -EPIPE when the channel is (or becomes) closed, -ETIMEDOUT, -ECANCELED,
 * -EPERM outside a task. Task only. */
int tardy_chan_send(tardy_chan *ch, const void *msg);

/* Receives one message into msg, parking while the channel is empty.
 * Messages sent before close are still delivered. Returns 0, -EPIPE when
 * the channel is closed and empty, -ETIMEDOUT, -ECANCELED, -EPERM outside
 * a task. Task only. */
int tardy_chan_recv(tardy_chan *ch, void *msg);

/* Non-parking variants, usable anywhere (a task's deadline and cancel do
 * not apply). Return 0, -EAGAIN where the parking call would wait (full,
 * or for an unbuffered channel no receiver waiting; empty), -EPIPE as the
 * parking call. */
int tardy_chan_try_send(tardy_chan *ch, const void *msg);
int tardy_chan_try_recv(tardy_chan *ch, void *msg);

/* Closes the channel and wakes every waiter (senders get -EPIPE,
 * receivers drain what is left, then get -EPIPE). Usable anywhere;
 * idempotent. */
void tardy_chan_close(tardy_chan *ch);

/* ========================================================================
 * Task-aware locks (mutex.c). A section of its own.
 * ====================================================================== */

/* ------------------------------------------------------------------------
 * Mutexes and condition variables that park the task, not the thread.
 *
 * The tasks of one tardy_run run at once on several threads; state they
 * share needs a lock. A pthread mutex held across a call that parks
 * (tardy_send to a slow client, tardy_sleep ...) blocks every other task
 * of each thread that then waits for it, so the whole run can freeze
 * behind one slow peer. A tardy_mutex instead parks only the tasks that
 * wait for it; their threads run other tasks meanwhile, and the holder may
 * park as long as it likes.
 *
 * Both work between the tasks of every runtime (thread) of a run, and a
 * task that waits for one wakes through its runtime's usual wake-up path
 * (no polling). Neither holds any resource: an all-zero one is ready to
 * use, so one can be embedded in any struct (`user` state) or be static,
 * and there is nothing to destroy.
 *
 * A run that stops (tardy_stop) while a task holds a mutex leaves it held:
 * tasks are not resumed at a stop. Zero it before another run uses it.
 * ---------------------------------------------------------------------- */

typedef struct tardy_mutex {
    TARDY_ALIGNAS_(8) unsigned char opaque[32];
} tardy_mutex;

typedef struct tardy_cond {
    TARDY_ALIGNAS_(8) unsigned char opaque[32];
} tardy_cond;

/* Static initialisers: an unlocked mutex, a condition nobody waits on. */
#define TARDY_MUTEX_INIT {{0}}
#define TARDY_COND_INIT {{0}}

/* Makes m an unlocked mutex (the same as zeroing it). No task may be
 * waiting on it or holding it. */
void tardy_mutex_init(tardy_mutex *m);

/* Locks m, parking the calling task while another task holds it. Waiters
 * get the mutex in the order they asked for it: an unlock hands it to the
 * first waiter directly, so no task can take it ahead of one that waits.
 * Returns 0 with m held; -EDEADLK when the caller holds m already (it is
 * not recursive); -ETIMEDOUT at the task's deadline and -ECANCELED when
 * cancelled (m is not held then, and the waiter's place is given up; if
 * the mutex was handed over first, the call returns 0 and the cancel stays
 * pending for the next call); -EINVAL when m is NULL; -EPERM outside a
 * task. Task only. */
int tardy_mutex_lock(tardy_mutex *m);

/* Locks m if it is free and nobody waits for it, without parking.
 * Returns 0 with m held, -EBUSY when it is held or has waiters, -EDEADLK
 * when the caller holds it, -EINVAL when m is NULL, -EPERM outside a task.
 * It never parks, so a deadline or a pending cancel does not affect it. */
int tardy_mutex_trylock(tardy_mutex *m);

/* Unlocks m, handing it to its first waiter if there is one (on whatever
 * runtime that waiter lives). Returns 0, -EPERM when the calling task does
 * not hold m (or outside a task), -EINVAL when m is NULL. Never parks. */
int tardy_mutex_unlock(tardy_mutex *m);

/* Makes c a condition nobody waits on (the same as zeroing it). */
void tardy_cond_init(tardy_cond *c);

/* Unlocks m and waits on c, in one step (a signal sent after the unlock
 * is not lost), then locks m again (in the mutex's FIFO order) before it
 * returns. It returns with m held whatever the result: 0 when signalled;
 * -ETIMEDOUT at the task's deadline and -ECANCELED when cancelled (a
 * signal that came first wins, and a cancel then stays pending); the
 * wait for m after a signal or an interruption does not end early. It
 * may also return 0 for a broadcast the caller's state does not warrant,
 * so wait in a loop that checks the state. Returns -EPERM, with nothing
 * done, when the caller does not hold m (or outside a task), -EINVAL when
 * c or m is NULL. Task only. */
int tardy_cond_wait(tardy_cond *c, tardy_mutex *m);

/* Wakes the first task waiting on c (signal) or all of them (broadcast),
 * in the order they started waiting; each then locks its mutex again.
 * Usable anywhere: from any task, any thread, holding the mutex or not.
 * Returns the number of tasks woken (0 when none waited), -EINVAL when c
 * is NULL. */
int tardy_cond_signal(tardy_cond *c);
int tardy_cond_broadcast(tardy_cond *c);

/* ======================================================================== */

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif /* TARDY_H */
