#!/usr/bin/env python3
"""Idle keep-alive connections for bench/http/run.sh's idle-memory scenario.

    idle.py PORT N1 [N2 ...]

Opens connections to 127.0.0.1:PORT until N1 are open, sends one GET / on
each and reads its whole answer (it must be a 200 with a Content-Length
body), and keeps them open. Then it prints "open N1" on stdout and waits
for a line on stdin (the caller reads the server's memory meanwhile);
then it opens more, up to N2, and so on. Before each "open" line it checks
that none of the earlier connections was closed by the server. After the
last count's line has been acknowledged it closes every connection and
exits. Errors go to stderr with exit status 1.

Connections are opened in batches (connect a batch, send on each, read
each answer), so the server's listen backlog never holds more than one
batch and no SYN is dropped.
"""
import os
import resource
import select
import socket
import sys

BATCH = 200
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def fail(msg):
    print(f"idle.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def read_answer(s):
    """Reads one HTTP/1.1 response with a Content-Length body."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            fail(f"connection closed before the answer's headers ({buf[:80]!r})")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"):
        fail(f"answer is {lines[0]!r}, not HTTP/1.1 200")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        fail("answer without Content-Length")
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            fail("connection closed in the answer's body")
        body += chunk
    if len(body) != length:
        fail(f"{len(body) - length} bytes more than the answer's Content-Length")


def open_more(port, conns, target):
    while len(conns) < target:
        batch = []
        for _ in range(min(BATCH, target - len(conns))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            try:
                s.connect(("127.0.0.1", port))
            except OSError as e:
                fail(f"connect #{len(conns) + len(batch) + 1}: {e}")
            batch.append(s)
        for s in batch:
            s.sendall(REQUEST)
        for s in batch:
            try:
                read_answer(s)
            except OSError as e:
                fail(f"reading an answer: {e}")
        conns.extend(batch)


def closed_by_server(conns):
    """How many connections the server closed (readable with EOF or reset)."""
    closed = 0
    for i in range(0, len(conns), 1000):
        part = conns[i:i + 1000]
        poller = select.poll()
        fdmap = {}
        for s in part:
            poller.register(s, select.POLLIN)
            fdmap[s.fileno()] = s
        for fd, _ in poller.poll(0):
            s = fdmap[fd]
            try:
                s.setblocking(False)
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
            finally:
                s.settimeout(10)
    return closed


def main():
    if len(sys.argv) < 3:
        fail("usage: idle.py PORT N1 [N2 ...]")
    port = int(sys.argv[1])
    counts = [int(a) for a in sys.argv[2:]]
    if counts != sorted(counts):
        fail("the counts must grow")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = counts[-1] + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            fail(f"RLIMIT_NOFILE is {hard}, {need} needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    conns = []
    for n in counts:
        open_more(port, conns, n)
        closed = closed_by_server(conns)
        if closed:
            fail(f"the server closed {closed} of {len(conns)} idle connections")
        print(f"open {n}", flush=True)
        if not sys.stdin.readline():
            break
    for s in conns:
        s.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        os._exit(130)
