"""Interop: the Python `websockets` client against our websocket:// server.

Run by tests/websocket_interop.rs with the server's port:
    python3 python_websockets.py PORT
or, against the same server over TLS (wss://), with its certificate:
    python3 python_websockets.py PORT --wss CERT.pem
The server echoes text and binary, answers "close CODE REASON" by closing
with that code, rejects /reject with 403, speaks subprotocol "chat",
negotiates permessage-deflate (which this client offers by default), and
limits messages to 2 MiB. Prints one line per check; exits non-zero on the
first failure.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PORT = int(sys.argv[1])
WSS_CERT = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--wss" else None
BASE = f"{'wss' if WSS_CERT else 'ws'}://127.0.0.1:{PORT}"


def check(name, ok, detail=""):
    if not ok:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


async def main():
    async with connect(BASE + "/echo", max_size=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        check("permessage-deflate negotiated", "permessage-deflate" in extensions, extensions)
        await ws.send("héllo")
        check("text", await ws.recv() == "héllo")

        await ws.send(b"\x00\x01\xff")
        check("binary", await ws.recv() == b"\x00\x01\xff")

        big = bytes(range(256)) * 4096  # 1 MiB
        await ws.send(big)
        check("binary 1 MiB", await ws.recv() == big)
        await ws.send("x" * (1 << 20))
        check("text 1 MiB", await ws.recv() == "x" * (1 << 20))

        await ws.send(["frag", "ment", "ed"])
        check("fragmented text", await ws.recv() == "fragmented")
        await ws.send([b"\x01", b"\x02", b"\x03"])
        check("fragmented binary", await ws.recv() == b"\x01\x02\x03")

        latency = await (await ws.ping(b"hb"))
        check("ping answered", latency >= 0)

        await ws.close(code=4001, reason="client done")
        check("client close code echoed", ws.close_code == 4001, ws.close_code)

    async with connect(BASE + "/echo") as ws:
        await ws.send("close 4000 kicked")
        try:
            await ws.recv()
            check("server close", False, "expected a close")
        except ConnectionClosed as e:
            check(
                "server close code and reason",
                e.rcvd is not None and e.rcvd.code == 4000 and e.rcvd.reason == "kicked",
                e,
            )

    async with connect(BASE + "/echo", max_size=None) as ws:
        await ws.send(b"\x00" * (3 << 20))
        try:
            await ws.recv()
            check("oversize", False, "expected a close")
        except ConnectionClosed as e:
            check("oversize message closes 1009", e.rcvd is not None and e.rcvd.code == 1009, e)

    async with connect(BASE + "/echo", subprotocols=["other", "chat"]) as ws:
        check("subprotocol chosen", ws.subprotocol == "chat", ws.subprotocol)

    try:
        async with connect(BASE + "/reject"):
            check("rejected handshake", False, "connected")
    except InvalidStatus as e:
        check("rejected handshake gets 403", e.response.status_code == 403, e)

    print("all ok", flush=True)


async def main_wss():
    context = ssl.create_default_context(cafile=WSS_CERT)
    async with connect(BASE + "/echo", ssl=context, max_size=None) as ws:
        await ws.send("over tls")
        check("wss text", await ws.recv() == "over tls")
        big = bytes(range(256)) * 4096
        await ws.send(big)
        check("wss binary 1 MiB", await ws.recv() == big)
        await ws.send(["frag", "ment"])
        check("wss fragmented", await ws.recv() == "fragment")
        await ws.close(code=1000)
        check("wss close", ws.close_code == 1000, ws.close_code)
    print("all ok", flush=True)


asyncio.run(asyncio.wait_for(main_wss() if WSS_CERT else main(), 60))
