#!/usr/bin/env python3
"""WebSocket interoperability: Debian's python3-websockets as the client
of the WebSocket test server (wsserver.c), plain or over TLS.

    ws_client.py WSSERVER [TLS_DIR]

Starts the server on a free port, then checks echo in both modes with and
without permessage-deflate (large messages too), fragmented sends, pings,
the close handshake, subprotocols, the message limit against a
compression bomb, and publish/subscribe; exits 1 on the first failure.
Every wait is bounded."""
import asyncio
import os
import re
import signal
import ssl
import subprocess
import sys

import websockets

GUARD = 10  # seconds: a hang fails the check instead of the suite


def start(binary, tls_dir, extra=()):
    args = [binary, "--port", "0", *extra]
    if tls_dir:
        args += ["--tls-cert", os.path.join(tls_dir, "ec-chain.pem"),
                 "--tls-key", os.path.join(tls_dir, "ec-key.pem")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, int(m.group(1))


class Checks:
    def __init__(self, port, tls_dir):
        self.port = port
        self.ctx = None
        if tls_dir:
            self.ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def connect(self, path, **kw):
        scheme = "wss" if self.ctx else "ws"
        kw.setdefault("max_size", None)
        kw.setdefault("open_timeout", GUARD)
        kw.setdefault("close_timeout", GUARD)
        if self.ctx:
            kw["ssl"] = self.ctx
            kw["server_hostname"] = "localhost"
        return websockets.connect(f"{scheme}://127.0.0.1:{self.port}{path}", **kw)

    async def echo(self, path, compression):
        async with self.connect(path, compression=compression) as ws:
            deflated = any(e.name == "permessage-deflate" for e in ws.extensions)
            assert deflated == (compression == "deflate"), (path, compression, ws.extensions)
            samples = ["hello", "", "ünïcödé ✓ 😀", "x" * 200000, bytes(range(256)) * 50,
                       os.urandom(300000), "y" * (1024 * 1024)]
            for msg in samples:
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), GUARD)
                assert got == msg, (path, compression, type(msg), len(msg), len(got))
            # A message sent in fragments comes back whole.
            text = "fragments: é ✓ " * 1000
            await ws.send(iter([text[i:i + 7] for i in range(0, len(text), 7)]))
            assert await asyncio.wait_for(ws.recv(), GUARD) == text, "fragments"
            await ws.send(iter([b"ab", b"", b"cd" * 40000]))
            assert await asyncio.wait_for(ws.recv(), GUARD) == b"ab" + b"cd" * 40000
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, GUARD)
            await ws.close(1000, "done")
            assert ws.close_code == 1000, ws.close_code

    async def small_windows(self):
        # Windows the client sets for us, 8 (zlib has none so small: our
        # side then sends uncompressed) to 15, with the client's own
        # window limited too.
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        for bits in (8, 9, 12, 15):
            factory = ClientPerMessageDeflateFactory(server_max_window_bits=bits,
                                                     client_max_window_bits=max(bits, 9))
            async with self.connect("/cb", compression=None, extensions=[factory]) as ws:
                assert any(e.name == "permessage-deflate" for e in ws.extensions), bits
                msg = ("window %d " % bits) * 5000
                await ws.send(msg)
                assert await asyncio.wait_for(ws.recv(), GUARD) == msg, bits

    async def subprotocol(self):
        async with self.connect("/echo", subprotocols=["superchat", "chat"]) as ws:
            assert ws.subprotocol == "chat", ws.subprotocol
        try:
            async with self.connect("/strict", subprotocols=["v2"]) as ws:
                raise AssertionError("no common subprotocol was accepted")
        except websockets.exceptions.InvalidStatusCode as e:
            assert e.status_code == 400, e.status_code

    async def too_big(self, compression):
        async with self.connect("/cb", compression=compression) as ws:
            # Past the server's 1 MiB: a bomb of zeros when deflated.
            await ws.send(b"\0" * (1024 * 1024 + 1))
            try:
                await asyncio.wait_for(ws.recv(), GUARD)
                raise AssertionError("an oversized message was echoed")
            except websockets.exceptions.ConnectionClosed as e:
                assert e.rcvd is not None and e.rcvd.code == 1009, e

    async def server_close(self):
        async with self.connect("/cb") as ws:
            await ws.send("close-me")
            try:
                await asyncio.wait_for(ws.recv(), GUARD)
                raise AssertionError("no close")
            except websockets.exceptions.ConnectionClosed as e:
                assert e.rcvd.code == 4000 and e.rcvd.reason == "bye", e

    async def room(self):
        members = [await self.connect("/room").__aenter__() for _ in range(3)]
        try:
            for m in members:
                assert await asyncio.wait_for(m.recv(), GUARD) == "joined"
            await members[0].send("to all")
            for m in members:
                assert await asyncio.wait_for(m.recv(), GUARD) == "to all"
        finally:
            for m in members:
                await m.close()

    async def run(self):
        for path in ("/echo", "/cb"):
            for compression in (None, "deflate"):
                await self.echo(path, compression)
        await self.small_windows()
        await self.subprotocol()
        await self.too_big(None)
        await self.too_big("deflate")
        await self.server_close()
        await self.room()


async def threads_room(checks, threads):
    """Members spread over the server's threads (one listener each) all
    hear what any of them says: publish crosses threads."""
    members = [await checks.connect("/room").__aenter__() for _ in range(4 * threads)]
    try:
        for m in members:
            assert await asyncio.wait_for(m.recv(), GUARD) == "joined"
        for i, sender in enumerate(members):
            await sender.send(f"from {i}")
            for m in members:
                got = await asyncio.wait_for(m.recv(), GUARD)
                assert got == f"from {i}", (i, got)
    finally:
        for m in members:
            await m.close()


def main():
    binary = sys.argv[1]
    tls_dir = sys.argv[2] if len(sys.argv) > 2 else None
    proc, port = start(binary, tls_dir)
    try:
        asyncio.run(asyncio.wait_for(Checks(port, tls_dir).run(), 120))
        proc2, port2 = start(binary, tls_dir, ["--threads", "3"])
        try:
            asyncio.run(asyncio.wait_for(threads_room(Checks(port2, tls_dir), 3), 60))
        finally:
            proc2.send_signal(signal.SIGTERM)
            if proc2.wait(GUARD) != 0:
                raise SystemExit("the three-thread server did not exit cleanly")
        print(f"ws_client: all checks passed ({'wss' if tls_dir else 'ws'}, websockets {websockets.__version__})")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(GUARD)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SystemExit("the server did not stop")
    if code != 0:
        raise SystemExit(f"the server exited with {code}")


if __name__ == "__main__":
    main()
