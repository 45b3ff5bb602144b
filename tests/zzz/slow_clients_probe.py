#!/usr/bin/env python3
"""The probe of slow_clients.sh: while slow clients attack the server, opens
a fresh connection every --interval-ms for GET / (Connection: close; over
TLS with --tls, the handshake included) and times the whole answer. Stops
starting probes on SIGTERM (or after --max-s), waits for those in flight,
prints what they got and their latency, and exits 1 when a probe got no
proper answer (200 "Hello, World!", or 503 with Retry-After while every
task is busy; with --served, only 200) or when the 95th percentile is past
--p95-limit-ms (a sanity bound for a starved server, not a target)."""

import argparse
import signal
import socket
import ssl
import sys
import threading
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def probe(port, timeout_s, tls):
    """One request on a fresh connection: (outcome, seconds, detail), outcome
    one of "200", "503", "fail"."""
    start = time.monotonic()
    deadline = start + timeout_s

    def left():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        return remaining

    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=left()) as plain:
            sock = plain
            if tls:
                sock = tls.wrap_socket(plain)
            sock.settimeout(left())
            sock.sendall(REQUEST)
            head_end = -1
            body_len = None
            while True:
                sock.settimeout(left())
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if head_end < 0:
                    head_end = data.find(b"\r\n\r\n")
                    if head_end >= 0:
                        for line in data[:head_end].split(b"\r\n")[1:]:
                            name, _, value = line.partition(b":")
                            if name.strip().lower() == b"content-length":
                                body_len = int(value.strip())
                if head_end >= 0 and body_len is not None and len(data) >= head_end + 4 + body_len:
                    break
    except ssl.SSLError as err:
        return "fail", time.monotonic() - start, f"TLS: {err.reason or err}"
    except socket.timeout:
        return "fail", time.monotonic() - start, f"no whole answer within {timeout_s:g} s"
    except OSError as err:
        return "fail", time.monotonic() - start, f"{type(err).__name__}: {err.strerror or err}"
    except ValueError:
        return "fail", time.monotonic() - start, "bad Content-Length"
    took = time.monotonic() - start
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        if not data:
            return "fail", took, "closed without an answer"
        return "fail", took, f"no whole response head ({len(data)} bytes)"
    lines = data[:head_end].split(b"\r\n")
    status = lines[0].split(b" ")
    code = status[1].decode(errors="replace") if len(status) > 1 else "?"
    names = {line.partition(b":")[0].strip().lower() for line in lines[1:]}
    body = data[head_end + 4:]
    if code == "200":
        if body != b"Hello, World!":
            return "fail", took, f"200 with body {body[:40]!r}"
        return "200", took, ""
    if code == "503":
        if b"retry-after" not in names:
            return "fail", took, "503 without Retry-After"
        return "503", took, ""
    return "fail", took, f"status {code}"


def percentile(sorted_values, share):
    """Nearest rank."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * share // 100))
    return sorted_values[int(rank) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--label", default="probes")
    parser.add_argument("--interval-ms", type=float, default=50)
    parser.add_argument("--timeout-s", type=float, default=5)
    parser.add_argument("--max-s", type=float, default=20)
    parser.add_argument("--p95-limit-ms", type=float, default=2000)
    parser.add_argument("--served", action="store_true",
                        help="a 503 fails the probe too (the server has a task for every connection)")
    parser.add_argument("--tls", action="store_true",
                        help="speak TLS (the certificate is not verified: the test's own)")
    args = parser.parse_args()
    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    results = []  # (start offset, outcome, seconds, detail)
    lock = threading.Lock()
    # The caller starts its attack on this line, so that probing covers
    # the whole of it however long the interpreter took to start.
    print(f"{args.label}: probing every {args.interval_ms:g} ms", flush=True)
    began = time.monotonic()

    def run_one(offset):
        outcome, took, detail = probe(args.port, args.timeout_s, tls)
        with lock:
            results.append((offset, outcome, took, detail))

    threads = []
    n = 0
    while not stop.is_set():
        offset = time.monotonic() - began
        if offset >= args.max_s:
            break
        thread = threading.Thread(target=run_one, args=(offset,), daemon=True)
        thread.start()
        threads.append(thread)
        n += 1
        stop.wait(max(0.0, began + n * args.interval_ms / 1000 - time.monotonic()))
    probing_s = time.monotonic() - began
    for thread in threads:
        thread.join(args.timeout_s + 5)

    with lock:
        done = sorted(results)
    ok = [r for r in done if r[1] == "200"]
    busy = [r for r in done if r[1] == "503"]
    failed = [r for r in done if r[1] == "fail"]
    lost = len(threads) - len(done)
    latencies = sorted(r[2] * 1000 for r in done)
    answered = [r for r in done if r[1] != "fail"]

    def share(rows):
        return 100.0 * sum(1 for r in rows if r[2] < 0.1) / len(threads) if threads else 0.0

    p50 = percentile(latencies, 50)
    p95 = percentile(latencies, 95)
    top = latencies[-1] if latencies else 0.0
    print(f"{args.label}: {len(threads)} probes over {probing_s:.1f} s: {len(ok)} answered 200, "
          f"{len(busy)} answered 503 with Retry-After, {len(failed) + lost} failed")
    print(f"{args.label}: latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {top:.1f} ms "
          f"(a failed probe counts with the time it took)")
    print(f"{args.label}: within 100 ms: {share(ok):.1f}% answered 200, "
          f"{share(answered):.1f}% answered 200 or 503")
    kinds = {}
    for offset, _, _, detail in failed:
        kinds.setdefault(detail, []).append(offset)
    for detail, offsets in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        print(f"{args.label}: {len(offsets)} failed: {detail} "
              f"(started {offsets[0]:.1f} s to {offsets[-1]:.1f} s into probing)")

    problems = []
    if not threads:
        problems.append("no probe was sent")
    if failed or lost:
        problems.append(f"{len(failed) + lost} of {len(threads)} probes got no proper answer")
    if args.served and busy:
        problems.append(f"{len(busy)} of {len(threads)} probes were refused 503: the slow "
                        f"connections held every task")
    if p95 >= args.p95_limit_ms:
        problems.append(f"p95 latency {p95:.0f} ms is past the sanity bound of "
                        f"{args.p95_limit_ms:.0f} ms (the server is starved)")
    for problem in problems:
        print(f"{args.label}: FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
