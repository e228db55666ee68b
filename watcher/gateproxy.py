"""The address gate as an HTTP proxy that Chromium must use for every connection it opens.

The browser's own request interception (see browser/wiring.py) names what it refuses, but it cannot pause a
websocket, nor the connection Chromium opens ahead of a request it expects (a preconnect), and Chromium
resolves names itself, after the gate did. Every connection therefore goes through this proxy on
127.0.0.1 (`--proxy-server`, with loopback no longer bypassed): a CONNECT tunnel (https, wss, ws) or a
plain http request is let through only if `Gate.admit` allows its address, and it goes to the addresses
the gate checked and pinned, never to a second lookup's.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from .errors import FetchError
from .gate import Gate, _literal

IDLE_SECONDS = 60.0  # a tunnel with nothing said either way for this long is closed
_HOP_BY_HOP = (b"proxy-connection:", b"proxy-authorization:", b"connection:", b"keep-alive:")


class GateProxy:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.refused = 0  # connections refused, all pages
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; returns the proxy's address for `--proxy-server`."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
        line, _, headers = head.partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ", 2)
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port = int(port_text)
            url = f"{'http' if port == 80 else 'https'}://{target}/"
        else:
            url = target
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or 80
        try:
            address = await self._admit(url, host.strip("[]"), port)
            upstream_reader, upstream = await asyncio.wait_for(asyncio.open_connection(address, port), 30)
        except (FetchError, OSError, TimeoutError):
            self.refused += 1
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:  # origin-form, one request per connection: a kept-alive one could name another host next
                parts = urlsplit(url)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [h for h in headers.split(b"\r\n") if h and not h.lower().startswith(_HOP_BY_HOP)]
                upstream.write(
                    f"{method} {path} {version}\r\n".encode("latin-1")
                    + b"".join(h + b"\r\n" for h in kept)
                    + b"Connection: close\r\n\r\n"
                )
            await asyncio.gather(_pipe(reader, upstream), _pipe(upstream_reader, writer))
        finally:
            upstream.close()

    async def _admit(self, url: str, host: str, port: int) -> str:
        """The address to connect to: the gate's checked, pinned one."""
        await self.gate.admit(url)
        if _literal(host) is not None:
            return host
        found = await self.gate.resolve(host, port)
        return str(found[0]["host"])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await asyncio.wait_for(reader.read(65536), IDLE_SECONDS):
            writer.write(data)
            await writer.drain()
    except (OSError, TimeoutError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.write_eof()
