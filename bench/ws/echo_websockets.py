#!/usr/bin/env python3
"""The Python peer of bench/ws/echo.sh: the websockets package (Debian's
python3-websockets) serving on 127.0.0.1 with asyncio, echoing every
message back as it came (text as text, binary as binary).
permessage-deflate is off (compression=None), as in the other servers
measured; the rest is the package's defaults (keepalive pings every 20 s,
1 MiB messages at most). One process, one thread.

    echo_websockets.py PORT
"""
import asyncio
import os
import signal
import sys

import websockets


async def echo(ws, path=None):  # path: websockets before 10.1 passes it
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main(port):
    # echo.sh stops it with SIGTERM: leave at once, without the closing
    # handshakes (with 10,000 clients they would outlast its patience).
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, os._exit, 0)
    async with websockets.serve(echo, "127.0.0.1", port, compression=None, backlog=4096):
        print(f"echo_websockets: websockets {websockets.__version__} on 127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: echo_websockets.py PORT", file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
