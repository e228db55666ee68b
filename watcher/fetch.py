"""The only HTTP code: aiohttp sessions, conditional GET, size cap, politeness, robots.txt, redirects.

aiohttp directly, one library: it drives the connections (its resolver is the gate, see gate.py), keeps
the cookies and decompresses; we follow redirects ourselves, a hop at a time, so that the gate admits
every hop. httpx's client over its own transport served 260–340 local pages/s against 1,340–1,580 for
aiohttp, and httpx types over an aiohttp transport (httpx-aiohttp, as before) cost a layer of objects
per request for nothing we used (see the commit that made this change for figures on check_bench).
Charset decoding is charset.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import random
import re
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from protego import Protego

from .charset import decode, header_charset
from .errors import (
    Blocked,
    CertificateError,
    ConnectError,
    FetchError,
    HTTPStatusError,
    RobotsDisallowed,
    Timeout,
    TooLarge,
)
from .gate import Gate
from .models import NotModified, Page, Validators
from .politeness import HostSlot, HostSlots

DEFAULT_UA = "watcher/0.1 (+notice monitor; polite: 1 request/s per host)"


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = DEFAULT_UA
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 1.0  # first retry waits about this long, doubling, jittered
    max_retry_after: float = 60.0
    per_host_concurrency: int = 1
    per_host_delay: float = 1.0
    robots: bool = True
    allow_private: tuple[str, ...] = ()  # hosts, addresses, networks that may be internal (see gate.py)


@dataclass(frozen=True)
class _Body:
    """What a response body is: a page to decode under the page cap, or a file's bytes under its own."""

    binary: bool = False
    max_bytes: int | None = None


class Fetcher:
    """Fetches pages for the whole process; share one instance.

    One aiohttp session per TLS setting (verifying, and not, for the government sites whose certificates
    are broken: a source opts in with `verify_tls: false`) and proxy. HTTP_PROXY, HTTPS_PROXY and NO_PROXY
    are honoured as curl honours them, read once here rather than by aiohttp's `trust_env` on every
    request, since the gate must know whether a hop goes through a proxy (it then resolves nothing).
    """

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = s = settings or FetchSettings()
        self._sessions: dict[tuple[bool, str | None], aiohttp.ClientSession] = {}
        self._proxies = urllib.request.getproxies_environment()  # HTTP(S)_PROXY, NO_PROXY, as curl reads them
        self._headers = {"User-Agent": s.user_agent, "Accept-Language": "zh-CN,zh;q=0.9"}
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=s.connect_timeout, sock_read=s.read_timeout, connect=s.read_timeout
        )
        self._slots = HostSlots(s.per_host_concurrency, s.per_host_delay)
        self._robots: dict[str, Protego | None] = {}
        self.gate = Gate(s.allow_private)
        self.requests = 0  # answered requests, for logs and benchmarks

    def _session(self, verify: bool, proxy: str | None) -> aiohttp.ClientSession:
        key = (verify, proxy)
        if key not in self._sessions:
            self._sessions[key] = _session(verify, self.gate)
        return self._sessions[key]

    def _proxy(self, url: str) -> str | None:
        if not self._proxies:  # the usual case: no address to parse
            return None
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme)
        if proxy and urllib.request.proxy_bypass(parts.hostname or ""):  # NO_PROXY
            return None
        return proxy

    async def aclose(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
        await self.gate.close()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
        encoding: str | None = None,
        robots: bool | None = None,
        binary: bool = False,
        max_bytes: int | None = None,
    ) -> Page | NotModified:
        """GET with retries on connection errors, 5xx and 429; raise a FetchError subclass on failure.

        `binary`: a file, not a page (an attachment): its bytes are not decoded, and `max_bytes` caps it
        instead of the page cap.

        The attempts and the waits between them share one budget, `total_timeout`: a server that trickles
        a byte a second holds its source that long, not that long for each retry. Time spent queueing
        for the host's politeness slot is not counted."""
        if robots if robots is not None else self.settings.robots:
            await self.check_robots(url, verify)
        attempt, left = 0, self.settings.total_timeout
        while True:
            try:
                async with self.polite(url):
                    started = time.monotonic()
                    try:
                        return await self._get_once(
                            url, validators, headers, verify, encoding, left, _Body(binary, max_bytes)
                        )
                    finally:
                        left -= time.monotonic() - started
            except FetchError as exc:
                wait = self._backoff(attempt + 1, exc.retry_after)
                if attempt >= self.settings.retries or not exc.retryable or wait >= left:
                    raise
                attempt += 1
                left -= wait
                await asyncio.sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.settings.max_retry_after)
        base = self.settings.backoff * 2.0 ** (attempt - 1)
        return base * random.uniform(0.5, 1.5)

    async def _get_once(
        self,
        url: str,
        validators: Validators | None,
        headers: Mapping[str, str] | None,
        verify: bool,
        encoding: str | None,
        budget: float | None = None,
        body: _Body | None = None,
    ) -> Page | NotModified:
        request_headers = dict(headers or {})
        if validators and validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
        budget = self.settings.total_timeout if budget is None else max(budget, 0.001)
        try:
            async with asyncio.timeout(budget):
                try:
                    return await self._stream(url, request_headers, verify, encoding, body or _Body())
                except aiohttp.ClientError as exc:  # its socket timeouts too, before TimeoutError below
                    raise _transport_error(url, exc) from exc
        except TimeoutError as exc:
            raise Timeout(
                url,
                f"timed out: no complete answer within {self.settings.total_timeout:g} s, retries included",
            ) from exc
        except OSError as exc:
            raise _transport_error(url, exc) from exc

    async def _stream(
        self, url: str, headers: dict[str, str], verify: bool, encoding: str | None, kind: _Body
    ) -> Page | NotModified:
        resp = await self._send(url, headers, verify)
        async with resp:
            self.requests += 1
            if resp.status == 304:
                return NotModified(url)
            cap = kind.max_bytes or self.settings.max_bytes
            body = await self._read_capped(url, resp, resp.headers.get("Content-Length", ""), cap)
            retry_after = _retry_after(resp.headers.get("Retry-After"))
            if not kind.binary and is_challenge(resp.status, body):
                blocked = Blocked(url, f"anti-bot challenge (HTTP {resp.status})")
                blocked.scripted = b"<script" in body.lower()
                raise blocked
            if resp.status >= 400:
                raise HTTPStatusError(url, resp.status, retry_after)
            content_type = resp.headers.get("Content-Type", "")
            text, used = (
                ("", "binary") if kind.binary else decode(body, header_charset(content_type), encoding)
            )
            return Page(
                url=url,
                final_url=str(resp.url),
                status=resp.status,
                body=body,
                text=text,
                encoding=used,
                content_type=content_type,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
            )

    async def _send(self, url: str, headers: dict[str, str], verify: bool) -> aiohttp.ClientResponse:
        """GET, following up to `max_redirects` redirects; credentials never follow to another origin."""
        start = url
        for _ in range(self.settings.max_redirects + 1):
            proxy = self._proxy(url)
            await self.gate.admit(url, resolve=proxy is None)  # every hop, see gate.py
            resp = await self._session(verify, proxy).get(
                url,
                headers={**self._headers, **headers},
                allow_redirects=False,
                timeout=self._timeout,
                proxy=proxy,
            )
            location = resp.headers.get("Location") if resp.status in _REDIRECTS else None
            if not location:
                return resp
            resp.release()
            target = _redirect_target(start, url, location)
            if _origin(target) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
            url = target
        raise ConnectError(start, f"too many redirects (a redirect loop? the last one went to {url})")

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse, declared: str, cap: int) -> bytes:
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(url, f"declared {int(declared):,} bytes, over the {cap:,} byte cap")
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise TooLarge(url, f"body passed the {cap:,} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    # -------------------------------------------------------------- politeness

    def polite(self, url: str) -> HostSlot:
        return self._slots.slot(url)

    async def check_robots(self, url: str, verify: bool) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = await self._load_robots(origin, verify)
        rules = self._robots[origin]
        if rules is not None and not rules.can_fetch(url, self.settings.user_agent):
            raise RobotsDisallowed(url, f"robots.txt of {parts.netloc} disallows this URL")

    async def _load_robots(self, origin: str, verify: bool) -> Protego | None:
        """A missing or unreadable robots.txt allows everything, as crawlers agree."""
        try:
            async with self.polite(origin + "/robots.txt"):
                page = await self._get_once(origin + "/robots.txt", None, None, verify, None)
        except FetchError:
            return None
        if isinstance(page, NotModified) or page.status != 200 or "html" in page.content_type:
            return None
        return Protego.parse(page.text)


def _session(verify: bool, resolver: Gate) -> aiohttp.ClientSession:
    """A session keeps the cookies a site sets, across redirects too.

    `ssl=True` is aiohttp's verified context, loaded once when aiohttp is imported (the system's trust
    store); `ssl=False` checks no certificate, for `verify_tls: false`.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=256, ssl=verify, resolver=resolver),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # "unsafe": hosts given by IP address keep cookies too
    )


_CHUNK = 16 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _redirect_target(start: str, url: str, location: str) -> str:
    """Where a redirect leads, if that is a web address at all (a hostile or broken site may say anything)."""
    try:
        target = urljoin(url, location.strip())
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ConnectError(start, f"redirected to a malformed address {location[:200]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectError(start, f"redirected to {target[:200]!r}, not a web address")
    return target


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _transport_error(url: str, exc: Exception) -> FetchError:
    """What went wrong, in a phrase, from aiohttp's exception (or the socket's)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        detail = getattr(exc, "certificate_error", exc)
        return CertificateError(
            url, f"TLS certificate not trusted ({detail}); `verify_tls: false` reads it anyway"
        )
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return ConnectError(url, f"TLS failed: {exc}")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return Timeout(url, "timed out (read)")
    if isinstance(exc, TimeoutError):  # aiohttp's connect timeouts are TimeoutErrors too
        return Timeout(url, "timed out (connect)")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(url, _cannot_connect(exc))
    return ConnectError(url, f"connection failed: {exc or type(exc).__name__}")


def _cannot_connect(cause: aiohttp.ClientConnectorError) -> str:
    """`cannot connect to 127.0.0.1:18899: connection refused`, not aiohttp's `… ssl:default [Connect call
    failed …]` (which names TLS settings even for a plain http address)."""
    error = cause.os_error
    words = os.strerror(error.errno).lower() if error.errno else str(error) or type(error).__name__
    return f"cannot connect to {cause.host}:{cause.port}: {words}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


_CHALLENGE = re.compile(rb"document\.cookie|__jsl_clearance|acw_sc__|challenge", re.I)


def is_challenge(status: int, body: bytes) -> bool:
    """403 always; 412/521 (and small 200 pages) when they carry a cookie-setting script."""
    if status == 403:
        return True
    if status in (412, 521):
        return b"<script" in body.lower()
    if status == 200 and len(body) < 8192 and b"<script" in body.lower() and _CHALLENGE.search(body):
        visible = re.sub(rb"<script.*?</script>|<[^>]+>|\s+", b"", body, flags=re.S | re.I)
        return len(visible) < 64
    return False
