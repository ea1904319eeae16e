#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""tests/bench/delayproxy.py -- a TCP proxy on loopback that adds latency.

    delayproxy.py --listen 127.0.0.1:0 --target 127.0.0.1:10587 [--delay 0.05]

Every chunk read from either side is written to the other side DELAY seconds
after it was read (50 ms by default), in order.  The delay is applied in each
direction, so one request/response round trip through the proxy costs
2 x DELAY (100 ms by default) on top of the real work.

The delay does not accumulate: each chunk carries the time it was read and is
forwarded at read_time + DELAY, so a burst of chunks arrives as a burst 50 ms
later (a fixed-latency link of unlimited bandwidth), not one chunk per 50 ms.

Connection set-up itself is not delayed: the client's connect() completes at
once against the proxy, which connects upstream immediately.  The first bytes
the server sends (the SMTP greeting, or the TLS ServerHello on 465) are
delayed like any other chunk.  So a client that does nothing but wait for the
greeting sees half a round trip.

A half-close (EOF) is forwarded after the same delay.  When both directions
have finished, both sockets are closed.

On start-up, once listening, it prints "listening on HOST:PORT" on stdout
(flushed) so that a caller using port 0 learns the port.  Stdlib only.
"""
import argparse
import asyncio
import signal
import socket
import sys

CHUNK = 65536


def parse_hostport(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def pump(reader, writer, delay):
    """Copy reader -> writer, forwarding each chunk `delay` s after it was read.

    A reader task timestamps chunks into a queue; this coroutine's writer
    part sleeps until each chunk's due time.  Reading continues while earlier
    chunks wait, so the delay is a latency, not a per-chunk cost.
    """
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read_side():
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((loop.time() + delay, data))  # b"" = EOF
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time() + delay, b""))

    read_task = asyncio.ensure_future(read_side())
    try:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        return
    finally:
        read_task.cancel()


async def handle(client_reader, client_writer, target, delay):
    try:
        server_reader, server_writer = await asyncio.open_connection(*target)
    except OSError as exc:
        print(f"delayproxy: connect {target}: {exc}", file=sys.stderr, flush=True)
        client_writer.close()
        return
    # asyncio sets TCP_NODELAY on its TCP transports already; be explicit,
    # since Nagle's algorithm would add its own, unrelated delays.
    for w in (client_writer, server_writer):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(
        pump(client_reader, server_writer, delay),
        pump(server_reader, client_writer, delay),
        return_exceptions=True,
    )
    for w in (client_writer, server_writer):
        try:
            w.close()
        except OSError:
            pass


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    ap.add_argument("--target", required=True, help="HOST:PORT to forward to")
    ap.add_argument("--delay", type=float, default=0.05, help="seconds per direction (default 0.05)")
    args = ap.parse_args()
    target = parse_hostport(args.target)
    host, port = parse_hostport(args.listen)

    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target, args.delay), host, port, backlog=100
    )
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
