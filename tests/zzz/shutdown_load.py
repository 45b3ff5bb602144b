#!/usr/bin/env python3
"""Shutdown under load: SIGTERM to the test server in the middle of a
loaded run, then a check of what every client got.

Clients of four kinds keep the server busy: keep-alive requests one at a
time, pipelined batches, uploads sent in slow pieces (so that some are
half sent at the signal), and slow and chunked answers. After about a
second the server gets SIGTERM; the clients go on until their connection
closes. Then every byte each client received is parsed: each response
must be whole (per Content-Length or chunked framing) and the right one
for its request, in order; after the last whole response comes only the
end of the stream, never part of a response. The server must exit 0
within its drain timeout (plus a margin for a loaded machine).

usage: shutdown_load.py TESTSERVER [--tls CERT_DIR]
Prints its figures; exit status 0 when every check holds. Bounded: about
five seconds, and it gives up (failing) after thirty.
"""
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

DRAIN_MS = 2000
LOAD_S = 1.0
CLIENTS = 40
GIVE_UP_S = 30


def parse_response(buf, pos):
    """One response at buf[pos:]: (status, body, next_pos), or None when
    it is not all there."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        return None
    head = buf[pos:end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    fields = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    at = end + 4
    if fields.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            eol = buf.find(b"\r\n", at)
            if eol < 0:
                return None
            size = int(buf[at:eol].split(b";")[0], 16)
            at = eol + 2
            if size == 0:
                # no trailers from this server: just the final CRLF
                if len(buf) < at + 2:
                    return None
                if buf[at:at + 2] != b"\r\n":
                    raise ValueError("bad chunked ending")
                return status, bytes(body), at + 2
            if len(buf) < at + size + 2:
                return None
            body += buf[at:at + size]
            at += size + 2
    length = int(fields.get("content-length", "0"))
    if len(buf) < at + length:
        return None
    return status, bytes(buf[at:at + length]), at + length


BIG = 20000
BIG_BODY = bytes((ord("a") + i % 26) for i in range(BIG))


class Client(threading.Thread):
    def __init__(self, index, port, ctx):
        super().__init__(daemon=True)
        self.index, self.port, self.ctx = index, port, ctx
        self.kind = ("keepalive", "pipelined", "upload", "slow")[index % 4]
        self.sent = []  # (request bytes, expected body)
        self.received = bytearray()
        self.ended = None  # "fin" or "reset" or an error text
        self.rng = random.Random(index)
        self.stop_sending = threading.Event()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=GIVE_UP_S)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx:
            s = self.ctx.wrap_socket(s, server_hostname="localhost")
        return s

    def request(self):
        r = self.rng.random()
        if self.kind == "upload":
            body = bytes(self.rng.getrandbits(8) for _ in range(8000))
            head = ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)).encode()
            return head, body, body
        if self.kind == "slow":
            if r < 0.5:
                return b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", b"", b"slow done\n"
            return (b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", b"",
                    b"".join(b"part %d\n" % i for i in range(1, 6)))
        if r < 0.3:
            return b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n", b"", BIG_BODY
        if r < 0.6:
            return b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"", b"Hello, World!"
        n = self.rng.randrange(1000)
        return b"GET /users/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n, b"", b"user %d\n" % n

    def read_some(self, s):
        data = s.recv(65536)
        if not data:
            raise EOFError
        self.received += data

    def answered(self):
        pos, count = 0, 0
        while True:
            r = parse_response(self.received, pos)
            if r is None:
                return count
            pos, count = r[2], count + 1

    def run(self):
        try:
            s = self.connect()
        except OSError as e:
            self.ended = "connect: %s" % e
            return
        try:
            while True:
                batch = 8 if self.kind == "pipelined" else 1
                if self.stop_sending.is_set():
                    # after SIGTERM: read what is owed, until the close
                    while True:
                        self.read_some(s)
                reqs = [self.request() for _ in range(batch)]
                if self.kind == "upload":
                    head, body, want = reqs[0]
                    self.sent.append(want)
                    s.sendall(head)
                    for off in range(0, len(body), 1000):
                        s.sendall(body[off:off + 1000])
                        time.sleep(0.01)
                else:
                    for head, _, want in reqs:
                        self.sent.append(want)
                    s.sendall(b"".join(r[0] for r in reqs))
                while self.answered() < len(self.sent):
                    self.read_some(s)
        except EOFError:
            self.ended = "fin"
        except (ConnectionResetError, BrokenPipeError):
            self.ended = "reset"
        except ssl.SSLError as e:
            # a TLS close without close_notify reads as an EOF error
            self.ended = "fin" if "EOF" in str(e) or "eof" in str(e) else "tls: %s" % e
        except OSError as e:
            self.ended = "error: %s" % e
        finally:
            try:
                s.close()
            except OSError:
                pass

    def check(self):
        """Problems with what this client received (empty when none)."""
        problems = []
        pos, k = 0, 0
        while True:
            try:
                r = parse_response(self.received, pos)
            except (ValueError, IndexError) as e:
                problems.append("unparsable response %d: %s" % (k, e))
                break
            if r is None:
                break
            status, body, pos = r
            if k >= len(self.sent):
                problems.append("a response to no request")
                break
            if status != 200 or body != self.sent[k]:
                problems.append("response %d: status %d, %d bytes, not the expected %d" %
                                (k, status, len(body), len(self.sent[k])))
            k += 1
        rest = len(self.received) - pos
        if rest:
            problems.append("%d bytes of a response cut short after %d whole ones" % (rest, k))
        if self.ended not in ("fin", "reset"):
            problems.append("ended: %s" % self.ended)
        self.answered_count = k
        return problems


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    server_bin = args[0]
    tls_dir = args[2] if len(args) >= 3 and args[1] == "--tls" else None
    cmd = [server_bin, "--port", "0", "--threads", "2", "--drain-timeout-ms", str(DRAIN_MS),
           "--big-size", str(BIG), "--conn-limit", "256"]
    ctx = None
    if tls_dir:
        cmd += ["--tls-cert", os.path.join(tls_dir, "ec-chain.pem"),
                "--tls-key", os.path.join(tls_dir, "ec-key.pem")]
        ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    timer = threading.Timer(GIVE_UP_S, proc.kill)
    timer.start()
    try:
        line = proc.stdout.readline().decode()
        port = int(line.split("127.0.0.1:")[1].split(" ")[0])
        driver = line.split("driver ")[1].split(",")[0]
        clients = [Client(i, port, ctx) for i in range(CLIENTS)]
        for c in clients:
            c.start()
        time.sleep(LOAD_S)
        sent_before = sum(len(c.sent) for c in clients)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for c in clients:
            c.stop_sending.set()
        status = proc.wait()
        took_ms = (time.monotonic() - t0) * 1000
        for c in clients:
            c.join(GIVE_UP_S)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    failed = False
    problems = {}
    for c in clients:
        if c.is_alive():
            problems[c.index] = ["the client never saw its connection close"]
            continue
        p = c.check()
        if p:
            problems[c.index] = p
    answered = sum(getattr(c, "answered_count", 0) for c in clients)
    sent = sum(len(c.sent) for c in clients)
    ends = {}
    for c in clients:
        ends[c.ended] = ends.get(c.ended, 0) + 1
    print("shutdown-load (%s, %s): %d clients, %d requests sent (%d before SIGTERM), "
          "%d answered whole, %d unanswered and closed; connections ended %s" %
          ("TLS" if tls_dir else "plain", driver, CLIENTS, sent, sent_before, answered,
           sent - answered, ends))
    kinds = {}
    for c in clients:
        k = kinds.setdefault(c.kind, [0, 0])
        k[0] += len(c.sent)
        k[1] += getattr(c, "answered_count", 0)
    print("shutdown-load: by kind (sent/answered): %s" %
          ", ".join("%s %d/%d" % (name, v[0], v[1]) for name, v in sorted(kinds.items())))
    print("shutdown-load: exit status %d, %.0f ms after SIGTERM (drain timeout %d ms)" %
          (status, took_ms, DRAIN_MS))
    for i, p in sorted(problems.items()):
        print("client %d (%s): %s" % (i, clients[i].kind, "; ".join(p)))
        failed = True
    if status != 0:
        print("FAIL: the server exited with %d" % status)
        failed = True
    # loose: the drain timeout plus a margin for a loaded machine
    if took_ms > DRAIN_MS + 3000:
        print("FAIL: exit took %.0f ms" % took_ms)
        failed = True
    if answered == 0:
        print("FAIL: no request was answered at all")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
