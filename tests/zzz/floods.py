#!/usr/bin/env python3
"""Floods against the HTTP test server, each bounded in time, printing its
figures (the server's CPU time from /proc/PID/stat, its descriptors from
/proc/PID/fd, its RSS from /proc/PID/status):

  conn-limit  2,000 connections at once against --conn-limit 64: the server
              holds at most 64, refuses the rest with 503 or a close, and
              its CPU stays near nothing while it sits at the limit.
  fds         the server under a descriptor limit of 96 (RLIMIT_NOFILE)
              and a connection limit far above it, exhausted by idle
              connections: a connection it already holds is still served,
              the server does not busy loop while accept fails with
              EMFILE, and it accepts again once descriptors free up.
  memory      waves of concurrent uploads against 4 body buffers, 16 tasks
              and a 64 KiB body limit: every answer is 200, 413 or 503
              (never a crash, never a cut without one), and RSS does not
              grow from wave to wave.

Assertions are on behaviour (counts, statuses, the server alive) and on
loose CPU bounds that only a busy loop breaks; the timings are printed.

  floods.py SERVER [PART...]   (tests/zzz/zzz-testserver; inherits
                                TARDY_DRIVER; parts default to all three)
"""

import errno
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

HELLO = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class Failed(Exception):
    pass


def say(part, text):
    print(f"floods {part}: {text}", flush=True)


class Server:
    """The test server on an ephemeral port, optionally under a descriptor
    limit, with readers for its CPU time, descriptors and RSS."""

    def __init__(self, exe, flags, nofile=None):
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([exe, "--port", "0", "--threads", "1"] + flags,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=limit)
        self.pid = self.proc.pid
        self.banner = self.proc.stdout.readline().decode(errors="replace").strip()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.banner)
        if not found:
            rest = self.proc.stdout.read().decode(errors="replace") if self.proc.poll() is not None else ""
            raise Failed(f"the server did not start: {self.banner} {rest}")
        self.port = int(found.group(1))

    def cpu_s(self):
        """utime + stime, in seconds."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def sockets(self):
        n = 0
        for name in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.pid}/fd/{name}").startswith("socket:"):
                    n += 1
            except OSError:
                pass
        return n

    def rss_kib(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE // 1024

    def alive(self):
        return self.proc.poll() is None

    def stop(self, part):
        if not self.alive():
            raise Failed(f"the server died (status {self.proc.returncode})")
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failed("the server did not stop within 10 s of SIGTERM")
        if status != 0:
            raise Failed(f"the server exited with status {status} on SIGTERM")
        say(part, "the server stopped cleanly on SIGTERM")

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()


def read_response(sock, timeout_s):
    """One whole response on a blocking socket: (status, head, body), status
    0 when the peer closed or reset before a whole one, -1 on timeout."""
    sock.settimeout(timeout_s)
    data = b""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                head = data[:head_end].decode(errors="replace")
                length = re.search(r"(?im)^content-length:\s*(\d+)", head)
                want = int(length.group(1)) if length else 0
                if len(data) >= head_end + 4 + want:
                    status = int(head.split(" ", 2)[1])
                    return status, head, data[head_end + 4:head_end + 4 + want]
            left = deadline - time.monotonic()
            if left <= 0:
                return -1, "", b""
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                return 0, "", b""
            data += chunk
    except socket.timeout:
        return -1, "", b""
    except OSError:
        return 0, "", b""


def fresh_get(port, timeout_s=5.0):
    """GET / on a new connection: (status, seconds)."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(HELLO)
            status, _, _ = read_response(sock, timeout_s)
    except OSError:
        status = 0
    return status, time.monotonic() - start


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
        soft = top
    if soft != resource.RLIM_INFINITY and soft < want:
        raise Failed(f"this process may open only {soft} files, the flood needs {want}")


def open_many(port, n, send, deadline_s):
    """Opens n non-blocking connections as fast as the kernel takes them and
    sends `send` on each once connected. Returns the sockets (connected or
    still connecting)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    if send:
        pending = set(socks)
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_WRITE)
        end = time.monotonic() + deadline_s
        while pending and time.monotonic() < end:
            for key, _ in sel.select(0.1):
                s = key.fileobj
                sel.unregister(s)
                pending.discard(s)
                try:
                    s.send(send)
                except OSError:
                    pass
        sel.close()
    return socks


def collect(socks, deadline_s):
    """Reads every socket until it closes, has a whole response, or the
    deadline: per socket "200", "503", other status text, "closed" (closed
    or reset without an answer) or "open" (nothing yet)."""
    out = {}
    bufs = {s: b"" for s in socks}
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + deadline_s
    while len(out) < len(socks) and time.monotonic() < end:
        for key, _ in sel.select(0.1):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                bufs[s] += chunk
                head_end = bufs[s].find(b"\r\n\r\n")
                if head_end < 0:
                    continue
                out[s] = bufs[s].split(b" ", 2)[1].decode(errors="replace")
            else:
                out[s] = "closed" if not bufs[s] else f"cut after {len(bufs[s])} bytes"
            sel.unregister(s)
    sel.close()
    for s in socks:
        out.setdefault(s, "open")
    return out


def tally(outcomes):
    counts = {}
    for o in outcomes.values():
        counts[o] = counts.get(o, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def idle_cpu(server, seconds):
    before = server.cpu_s()
    time.sleep(seconds)
    return server.cpu_s() - before


def part_conn_limit(exe):
    part = "conn-limit"
    limit, flood = 64, 2000
    raise_nofile(flood + 200)
    server = Server(exe, ["--conn-limit", str(limit), "--header-timeout-ms", "30000",
                          "--idle-timeout-ms", "30000"])
    problems = []
    try:
        say(part, f"{server.banner}; --conn-limit {limit}, {flood} connections at once")
        base_sockets = server.sockets()
        cpu0 = server.cpu_s()
        t0 = time.monotonic()
        socks = open_many(server.port, flood, HELLO, 10)
        outcomes = collect(socks, 10)
        took = time.monotonic() - t0
        cpu_flood = server.cpu_s() - cpu0
        held = server.sockets() - base_sockets
        say(part, f"{flood} connections: {tally(outcomes)} (in {took:.2f} s)")
        say(part, f"server CPU for the whole flood {cpu_flood * 1000:.0f} ms, "
                  f"{cpu_flood * 1e6 / flood:.0f} us a connection; it holds {held} client sockets")
        ok = sum(1 for o in outcomes.values() if o == "200")
        odd = {k: v for k, v in outcomes.items() if v not in ("200", "503", "closed")}
        if ok > limit:
            problems.append(f"{ok} connections were answered 200 at once with a limit of {limit}")
        if ok < limit // 2:
            problems.append(f"only {ok} connections were served (limit {limit})")
        if odd:
            problems.append(f"{len(odd)} connections neither served nor refused: "
                            f"{tally(odd)}")
        if held > limit:
            problems.append(f"the server holds {held} client sockets, past the limit {limit}")

        # At the limit, with refused connections still coming, the accept
        # path must not spin: a second of nothing but a refusal every 10 ms.
        cpu0 = server.cpu_s()
        refused = {}
        t_end = time.monotonic() + 2
        n = 0
        while time.monotonic() < t_end:
            status, _ = fresh_get(server.port, 2)
            refused[status] = refused.get(status, 0) + 1
            n += 1
            time.sleep(0.01)
        cpu_full = server.cpu_s() - cpu0
        say(part, f"at the limit: {n} new connections in 2 s got "
                  f"{', '.join(f'{v} x {k}' for k, v in refused.items())} (0: closed); "
                  f"server CPU {cpu_full * 1000:.0f} ms over those 2 s")
        if set(refused) - {503, 0}:
            problems.append(f"a connection past the limit was answered {sorted(refused)}")
        if cpu_full > 1.0:
            problems.append(f"the server used {cpu_full:.2f} s of CPU in 2 s at the limit: it spins")
        cpu_idle = idle_cpu(server, 2)
        say(part, f"at the limit and quiet: server CPU {cpu_idle * 1000:.0f} ms over 2 s")
        if cpu_idle > 0.5:
            problems.append(f"the server used {cpu_idle:.2f} s of CPU in 2 quiet s at the limit")

        for s in socks:
            s.close()
        t0 = time.monotonic()
        status = 0
        while time.monotonic() - t0 < 5:
            status, took = fresh_get(server.port, 2)
            if status == 200:
                break
            time.sleep(0.05)
        say(part, f"after the flood closed: a new connection got {status} "
                  f"{(time.monotonic() - t0) * 1000:.0f} ms later")
        if status != 200:
            problems.append(f"after the flood a new connection got {status}, not 200")
        server.stop(part)
    finally:
        server.kill()
    return problems


def part_fds(exe):
    part = "fds"
    nofile, idle = 96, 200
    server = Server(exe, ["--conn-limit", "1024", "--header-timeout-ms", "30000",
                          "--idle-timeout-ms", "30000"], nofile=nofile)
    problems = []
    try:
        say(part, f"{server.banner}; RLIMIT_NOFILE {nofile}, {idle} idle connections")
        keeper = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        keeper.sendall(HELLO)
        status, _, _ = read_response(keeper, 5)
        if status != 200:
            raise Failed(f"the first request got {status}")
        socks = open_many(server.port, idle, b"", 5)
        # The server takes descriptors until it has none left.
        last, t_end = -1, time.monotonic() + 5
        while time.monotonic() < t_end:
            n = server.fds()
            if n == last and n >= nofile - 2:
                break
            last = n
            time.sleep(0.2)
        fds = server.fds()
        say(part, f"the server holds {fds} descriptors of {nofile}")
        if fds < nofile - 2:
            problems.append(f"the server never ran out of descriptors ({fds} of {nofile})")

        cpu_s = idle_cpu(server, 3)
        say(part, f"exhausted: server CPU {cpu_s * 1000:.0f} ms over 3 s")
        if cpu_s > 1.0:
            problems.append(f"the server used {cpu_s:.2f} s of CPU in 3 s while out of "
                            f"descriptors: it busy loops")

        worst, statuses = 0.0, []
        for _ in range(5):
            t0 = time.monotonic()
            keeper.sendall(HELLO)
            status, _, _ = read_response(keeper, 5)
            worst = max(worst, time.monotonic() - t0)
            statuses.append(status)
        say(part, f"exhausted: the connection it held got {statuses}, slowest "
                  f"{worst * 1000:.1f} ms")
        if statuses != [200] * 5:
            problems.append(f"a held connection got {statuses} while descriptors ran out")

        status, _ = fresh_get(server.port, 1)
        say(part, f"exhausted: a new connection got {status if status > 0 else 'no answer'} "
                  f"within 1 s (it waits in the backlog)")

        for s in socks:
            s.close()
        t0 = time.monotonic()
        status = 0
        while time.monotonic() - t0 < 5:
            status, _ = fresh_get(server.port, 2)
            if status == 200:
                break
            time.sleep(0.05)
        say(part, f"descriptors freed: a new connection got {status} "
                  f"{(time.monotonic() - t0) * 1000:.0f} ms later; the server holds "
                  f"{server.fds()} descriptors")
        if status != 200:
            problems.append(f"after descriptors freed up a new connection got {status}")
        keeper.sendall(HELLO)
        status, _, _ = read_response(keeper, 5)
        if status != 200:
            problems.append(f"the held connection got {status} after the recovery")
        keeper.close()
        server.stop(part)
    finally:
        server.kill()
    return problems


def upload(port, size, chunked, over):
    """An upload to POST /echo: its connected socket, made non-blocking,
    and the bytes to send on it (the head, and the body unless `over`: a
    Content-Length past the limit is refused before its bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if chunked:
        head = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        body = b"%x\r\n" % size + b"x" * size + b"\r\n0\r\n\r\n"
    else:
        head = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size
        body = b"" if over else b"x" * size
    s.setblocking(False)
    return s, head + body


def part_memory(exe):
    part = "memory"
    max_body, buffers, active = 65536, 4, 16
    waves, per_wave = 6, 150
    raise_nofile(per_wave + 200)
    server = Server(exe, ["--conn-limit", "1024", "--max-body", str(max_body),
                          "--body-buffers", str(buffers), "--active-limit", str(active),
                          "--busy-tasks", "4", "--body-timeout-ms", "5000"])
    problems = []
    try:
        say(part, f"{server.banner}; --max-body {max_body} --body-buffers {buffers} "
                  f"--active-limit {active}; {waves} waves of {per_wave} uploads at once")
        rss = [server.rss_kib()]
        peak = rss[0]
        for wave in range(waves):
            conns = []
            for i in range(per_wave):
                kind = i % 4
                if kind == 0:     # fits, sent whole
                    conns.append(upload(server.port, 60000, False, False))
                elif kind == 1:   # fits, chunked
                    conns.append(upload(server.port, 50000, True, False))
                elif kind == 2:   # declared past max_body: refused before its bytes
                    conns.append(upload(server.port, 10 * max_body, False, True))
                else:             # a chunk that says it is past max_body
                    conns.append(upload(server.port, max_body + 1000, True, False))
            # Everything is written at once, as far as the kernel takes it,
            # so the uploads compete for the buffers and tasks together.
            left = {s: data for s, data in conns}
            sel = selectors.DefaultSelector()
            for s in left:
                sel.register(s, selectors.EVENT_WRITE)
            end = time.monotonic() + 10
            while left and time.monotonic() < end:
                for key, _ in sel.select(0.1):
                    s = key.fileobj
                    try:
                        sent = s.send(left[s])
                    except BlockingIOError:
                        continue
                    except OSError:
                        sent = len(left[s])  # refused mid-body: the answer says why
                    left[s] = left[s][sent:]
                    if not left[s]:
                        sel.unregister(s)
                        del left[s]
                peak = max(peak, server.rss_kib())
            sel.close()
            outcomes = collect([s for s, _ in conns], 10)
            peak = max(peak, server.rss_kib())
            for s, _ in conns:
                s.close()
            rss.append(server.rss_kib())
            say(part, f"wave {wave + 1}: {tally(outcomes)}; RSS {rss[-1]} KiB")
            by_kind = {}
            for i, (s, _) in enumerate(conns):
                by_kind.setdefault(i % 4, []).append(outcomes[s])
            for kind, allowed in ((0, {"200", "503"}), (1, {"200", "503"}),
                                  (2, {"413", "503"}), (3, {"413", "503"})):
                bad = [o for o in by_kind[kind] if o not in allowed]
                if bad:
                    problems.append(f"wave {wave + 1}: upload kind {kind} got {sorted(set(bad))}"
                                    f" ({len(bad)} of {len(by_kind[kind])})")
            if not server.alive():
                raise Failed(f"the server died in wave {wave + 1}")
        say(part, f"RSS KiB: start {rss[0]}, after each wave {rss[1:]}, peak {peak}")
        growth = rss[-1] - rss[1]
        if growth > 2048:
            problems.append(f"RSS grew {growth} KiB from the first wave to the last: unbounded")
        status, _ = fresh_get(server.port)
        if status != 200:
            problems.append(f"after the uploads GET / got {status}")
        server.stop(part)
    finally:
        server.kill()
    return problems


PARTS = {"conn-limit": part_conn_limit, "fds": part_fds, "memory": part_memory}


def main():
    if len(sys.argv) < 2 or any(p not in PARTS for p in sys.argv[2:]):
        print(f"usage: {sys.argv[0]} SERVER [{' | '.join(PARTS)}]...", file=sys.stderr)
        return 2
    exe = sys.argv[1]
    started = time.monotonic()
    failures = []
    for name in sys.argv[2:] or list(PARTS):
        t0 = time.monotonic()
        try:
            problems = PARTS[name](exe)
        except Failed as err:
            problems = [str(err)]
        for problem in problems:
            say(name, f"FAIL: {problem}")
        say(name, f"{'FAILED' if problems else 'passed'} ({time.monotonic() - t0:.1f} s)")
        failures += [f"{name}: {p}" for p in problems]
    print(f"floods: {'FAILED' if failures else 'passed'} ({time.monotonic() - started:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
