#!/usr/bin/env python3
"""examples/proxy for real, on the driver TARDY_DRIVER names: in front of
examples/hello with curl and wrk; half-close both ways with raw sockets
(in front of examples/echo and of an upstream of the test's own); the
connection limit at and past it; an upstream that refuses; SIGTERM drain.

usage: proxy_test.py EXAMPLES_DIR"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

bin_dir = sys.argv[1]
procs = []


def fail(msg):
    print("proxy test: FAIL:", msg, file=sys.stderr)
    for p in procs:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def start(args, pattern=r"127\.0\.0\.1:(\d+)"):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    line = p.stdout.readline()
    m = re.search(pattern, line)
    if not m:
        fail(f"{args[0]} did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}")
    return p, int(m.group(1))


def proxy(to, *extra):
    return start([os.path.join(bin_dir, "proxy"), "--listen", "127.0.0.1:0", "--to", to, *extra])


def stop(p, what, expect_rc=0):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        fail(f"{what} did not stop on SIGTERM")
    if rc != expect_rc:
        fail(f"{what} exited with {rc}: {p.stderr.read()}")


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def recv_all(s):
    got = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk


hello, hello_port = start([os.path.join(bin_dir, "hello"), "--port", "0"])
echo, echo_port = start([os.path.join(bin_dir, "echo"), "--port", "0"])

# ---- curl and wrk in front of hello, the upstream named, not numbered ----
px, port = proxy(f"localhost:{hello_port}", "--threads", "2")
out = subprocess.run(["curl", "-sS", "-i", f"http://127.0.0.1:{port}/"], capture_output=True,
                     text=True, timeout=30)
if out.returncode != 0 or not out.stdout.startswith("HTTP/1.1 200") or "Hello" not in out.stdout:
    fail(f"curl through the proxy: rc {out.returncode} {out.stdout!r} {out.stderr!r}")
wrk = subprocess.run(["wrk", "-t1", "-c16", "-d1s", f"http://127.0.0.1:{port}/"],
                     capture_output=True, text=True, timeout=60)
m = re.search(r"(\d+) requests in", wrk.stdout)
if wrk.returncode != 0 or not m or int(m.group(1)) == 0 or "Non-2xx" in wrk.stdout or \
        "Socket errors" in wrk.stdout:
    fail(f"wrk through the proxy: {wrk.stdout} {wrk.stderr}")
print(f"proxy test: wrk through the proxy: {m.group(1)} requests in 1 s, no errors")
stop(px, "proxy")

# ---- half-close: the client ends first (echo answers after our FIN) ----
px, port = proxy(f"127.0.0.1:{echo_port}")
data = os.urandom(300000)
with connect(port) as s:
    def send():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send)
    t.start()
    got = recv_all(s)
    t.join()
if got != data:
    fail(f"echo through the proxy after a half-close: {len(got)} of {len(data)} bytes")

# ---- half-close: the upstream ends first, the client keeps sending ----
up = socket.socket()
up.bind(("127.0.0.1", 0))
up.listen(4)
result = {}


def upstream():
    c, _ = up.accept()
    c.settimeout(10)
    c.sendall(b"first")
    c.shutdown(socket.SHUT_WR)
    result["rest"] = recv_all(c)
    c.close()


t = threading.Thread(target=upstream)
t.start()
px2, port2 = proxy(f"127.0.0.1:{up.getsockname()[1]}")
with connect(port2) as s:
    if recv_all(s) != b"first":
        fail("the upstream's data and FIN did not come through")
    s.sendall(b"after the upstream's FIN")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    if s.recv(10) != b"":
        fail("the connection was not closed once both sides ended")
t.join(timeout=10)
if result.get("rest") != b"after the upstream's FIN":
    fail(f"client data after the upstream's half-close: {result.get('rest')!r}")
stop(px2, "proxy")
up.close()

# ---- the connection limit: at it, and one past it ----
stop(px, "proxy")
px, port = proxy(f"127.0.0.1:{echo_port}", "--max-conns", "2")
held = [connect(port) for _ in range(2)]
for s in held:
    s.sendall(b"ping")
    if s.recv(4) != b"ping":
        fail("a connection within the limit was not served")
extra = connect(port)
extra.settimeout(10)
try:
    if extra.recv(10) != b"":
        fail("a connection past the limit was served")
except ConnectionResetError:
    pass
extra.close()
held[0].close()
time.sleep(0.2)
again = connect(port)
again.sendall(b"pong")
if again.recv(4) != b"pong":
    fail("a connection was refused after one under the limit closed")
again.close()
held[1].close()
stop(px, "proxy")

# ---- an upstream that refuses: the client's connection is closed ----
free = socket.socket()
free.bind(("127.0.0.1", 0))
closed_port = free.getsockname()[1]
free.close()
px, port = proxy(f"localhost:{closed_port}", "--connect-timeout", "2000")
with connect(port) as s:
    try:
        if s.recv(10) != b"":
            fail("data from an upstream that refused")
    except ConnectionResetError:
        pass
stop(px, "proxy")
if "Connection refused" not in px.stderr.read():
    fail("the refused upstream was not reported")

# ---- SIGTERM drains: no new connections, the open one finishes ----
px, port = proxy(f"127.0.0.1:{echo_port}")
s = connect(port)
s.sendall(b"before")
if s.recv(6) != b"before":
    fail("echo through the proxy")
px.send_signal(signal.SIGTERM)
time.sleep(0.3)
if px.poll() is not None:
    fail("the proxy quit with a connection open")
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    fail("a new connection was accepted while draining")
except (ConnectionRefusedError, socket.timeout):
    pass
s.sendall(b"during")
if s.recv(6) != b"during":
    fail("the open connection stopped working during the drain")
s.close()
try:
    rc = px.wait(timeout=10)
except subprocess.TimeoutExpired:
    fail("the proxy did not exit once its last connection closed")
if rc != 0:
    fail(f"the proxy exited with {rc} after draining")

for p in (hello, echo):
    stop(p, "upstream")
print("proxy test: all checks passed (driver %s)" % os.environ.get("TARDY_DRIVER", "auto"))
