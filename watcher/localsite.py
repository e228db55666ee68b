"""A real HTTP server on 127.0.0.1, for the offline demo and the tests: routes whose content can change.

Answers conditional GETs with 304 (strong ETag over the body, Last-Modified), can hang, fail, redirect
in a loop or drip bytes, and counts what it served.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a host that hangs)
    conditional: bool = True  # answer If-None-Match / If-Modified-Since with 304
    declared: int | None = None  # a Content-Length other than the body's (a server that stops short)
    modified: float = 1_700_000_000.0
    cookie: str | None = None  # "name=value" a request must carry, else `challenge` is answered with 412
    challenge: bytes = b""

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class Site:
    """What the server serves; tests change it between rounds."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.log: list[tuple[float, str]] = []
        self.request_headers: dict[str, dict[str, str]] = {}  # the last request's headers, by path
        self.connections = 0  # accepted TCP connections (a failed TLS handshake counts too)
        self.lock = threading.Lock()

    def put(self, path: str, body: bytes | str, **kw: object) -> Route:
        data = body.encode("utf-8") if isinstance(body, str) else body
        old = self.routes.get(path)
        route = Route(data, **kw)  # type: ignore[arg-type]
        if old is not None and old.body != data and "modified" not in kw:
            route.modified = old.modified + 86400
        elif old is not None and "modified" not in kw:
            route.modified = old.modified
        self.routes[path] = route
        return route


class Handler(BaseHTTPRequestHandler):
    site: Site

    def log_message(self, *args: object) -> None:  # keep demo and test output quiet
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        site = self.site
        with site.lock:
            site.hits[unquote(path)] += 1
            site.log.append((time.monotonic(), path))
            site.request_headers[path] = {k.lower(): v for k, v in self.headers.items()}
        route = site.routes.get(self.path) or site.routes.get(path) or site.routes.get(unquote(path))
        if route is None:
            return self._send(404, b"not found", "text/plain")
        if route.delay:
            time.sleep(route.delay)
        if route.cookie and route.cookie not in (self.headers.get("Cookie") or "").split("; "):
            return self._send(412, route.challenge, "text/html")
        fresh = self.headers.get("If-None-Match") == route.etag
        if route.status == 200 and route.conditional and fresh:
            return self._send(304, b"", None, route)
        ctype = route.content_type
        self._send(route.status, route.body, ctype, route)

    def _send(self, status: int, body: bytes, ctype: str | None, route: Route | None = None) -> None:
        with self.site.lock:
            self.site.statuses[status] += 1
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if route is not None:
            if route.conditional and status in (200, 304):
                self.send_header("ETag", route.etag)
                self.send_header("Last-Modified", formatdate(route.modified, usegmt=True))
            for key, value in route.headers.items():
                self.send_header(key, value)
        if status != 304:
            declared = route.declared if route is not None and route.declared is not None else len(body)
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        if status != 304:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)


class LocalServer:
    """`tls`: serve HTTPS with this server-side context (tests give it a certificate nobody trusts)."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.site = Site()
        handler = type("BoundHandler", (Handler,), {"site": self.site})
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        accept = self.httpd.get_request

        def counted_accept() -> tuple[Any, Any]:
            with self.site.lock:
                self.site.connections += 1
            return accept()

        self.httpd.get_request = counted_accept  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
