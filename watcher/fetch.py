"""The only HTTP code: httpx transports, conditional GET, size cap, charset sniffing, politeness.

httpx gives the request, response and error types; the aiohttp transport (httpx-aiohttp) gives the speed:
on 1,050 local pages with 16 in flight it served 1,340–1,580 pages/s against 260–340 for httpx's default
transport. Requests skip httpx's client layer (see Fetcher).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import datetime as dt
import email.utils
import os
import random
import re
import ssl
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

# httpx's package init imports its command-line client (click, pygments, rich) whenever those happen to
# be installed, and gives up quietly when one is missing: 1–3 MB of every process for a tool we never
# run. A None entry makes that import fail at once, which httpx expects (it then defines a stub).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import aiohttp  # noqa: E402
import httpx  # noqa: E402
from httpx_aiohttp import AiohttpTransport  # noqa: E402
from protego import Protego  # noqa: E402

from .errors import (  # noqa: E402
    Blocked,
    CertificateError,
    ConnectError,
    ExtractError,
    FetchError,
    HTTPStatusError,
    RobotsDisallowed,
    Timeout,
    TooLarge,
)
from .gate import Gate  # noqa: E402
from .models import NotModified, Page, Validators  # noqa: E402

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


@dataclass
class _Host:
    gate: asyncio.Semaphore
    next_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Fetcher:
    """Fetches pages for the whole process; share one instance.

    Requests go to httpx transports (httpx-aiohttp) with a small redirect loop of our own, not through
    httpx.AsyncClient: the client's per-request work (merging URL, headers and cookies in Python, a urllib
    Request for the cookie jar on every response) was 140 of 390 us a request, a tenth of a cold check.
    One transport per TLS setting (verifying, and not, for the government sites whose certificates are
    broken: a source opts in with `verify_tls: false`) and proxy: HTTP_PROXY, HTTPS_PROXY and NO_PROXY
    are honoured as curl honours them.
    """

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = s = settings or FetchSettings()
        self._transports: dict[tuple[bool, str | None], AiohttpTransport] = {}
        self._proxies = urllib.request.getproxies_environment()  # HTTP(S)_PROXY, NO_PROXY, as curl reads them
        self._headers = {"User-Agent": s.user_agent, "Accept-Language": "zh-CN,zh;q=0.9"}
        self._timeout = {"connect": s.connect_timeout, "read": s.read_timeout, "pool": s.read_timeout}
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, Protego | None] = {}
        self.gate = Gate(s.allow_private)
        self.requests = 0  # answered requests, for logs and benchmarks

    def _transport(self, url: str, verify: bool) -> AiohttpTransport:
        key = (verify, self._proxy(url))
        if key not in self._transports:
            proxy = httpx.Proxy(key[1]) if key[1] else None
            self._transports[key] = AiohttpTransport(
                verify=False, proxy=proxy, client=lambda: _session(verify, self.gate)
            )
        return self._transports[key]

    def _proxy(self, url: str) -> str | None:
        if not self._proxies:  # the usual case: no address to parse
            return None
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme)
        if proxy and urllib.request.proxy_bypass(parts.hostname or ""):  # NO_PROXY
            return None
        return proxy

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()
        self._transports.clear()
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
        base = self.settings.backoff * 2 ** (attempt - 1)
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
                return await self._stream(url, request_headers, verify, encoding, body or _Body())
        except TimeoutError as exc:
            raise Timeout(
                url,
                f"timed out: no complete answer within {self.settings.total_timeout:g} s, retries included",
            ) from exc
        except (httpx.TransportError, OSError) as exc:
            raise _transport_error(url, exc) from exc

    async def _stream(
        self, url: str, headers: dict[str, str], verify: bool, encoding: str | None, kind: _Body
    ) -> Page | NotModified:
        resp = await self._send(url, headers, verify)
        async with contextlib.aclosing(resp):
            self.requests += 1
            if resp.status_code == 304:
                return NotModified(url)
            # One pass over the headers: each httpx Headers.get() scans them all (a tenth of a fetch's CPU).
            headers = {k.lower(): v for k, v in resp.headers.items()}
            cap = kind.max_bytes or self.settings.max_bytes
            body = await self._read_capped(url, resp, headers.get("content-length", ""), cap)
            retry_after = _retry_after(headers.get("retry-after"))
            if not kind.binary and is_challenge(resp.status_code, body):
                blocked = Blocked(url, f"anti-bot challenge (HTTP {resp.status_code})")
                blocked.scripted = b"<script" in body.lower()
                raise blocked
            if resp.status_code >= 400:
                raise HTTPStatusError(url, resp.status_code, retry_after)
            content_type = headers.get("content-type", "")
            text, used = (
                ("", "binary") if kind.binary else decode(body, _header_charset(content_type), encoding)
            )
            return Page(
                url=url,
                final_url=str(resp.url),
                status=resp.status_code,
                body=body,
                text=text,
                encoding=used,
                content_type=content_type,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )

    async def _send(self, url: str, headers: dict[str, str], verify: bool) -> httpx.Response:
        """GET, following up to `max_redirects` redirects; credentials never follow to another origin."""
        start = url
        for _ in range(self.settings.max_redirects + 1):
            await self.gate.admit(url, resolve=self._proxy(url) is None)  # every hop, see gate.py
            transport = self._transport(url, verify)
            request = httpx.Request(
                "GET", url, headers={**self._headers, **headers}, extensions={"timeout": self._timeout}
            )
            resp = await transport.handle_async_request(request)
            location = resp.headers.get("location") if resp.status_code in _REDIRECTS else None
            if not location:
                return resp
            await resp.aclose()
            target = _redirect_target(start, url, location)
            if _origin(target) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
            url = target
        raise ConnectError(start, f"too many redirects (a redirect loop? the last one went to {url})")

    async def _read_capped(self, url: str, resp: httpx.Response, declared: str, cap: int) -> bytes:
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(url, f"declared {int(declared):,} bytes, over the {cap:,} byte cap")
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise TooLarge(url, f"body passed the {cap:,} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    # -------------------------------------------------------------- politeness

    def polite(self, url: str) -> _HostSlot:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(self.settings.per_host_concurrency))
        return _HostSlot(self._hosts[host], self.settings.per_host_delay)

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
    """The aiohttp session under a transport; it keeps the cookies a site sets, across redirects too.

    `ssl=True` is aiohttp's verified context, loaded once when aiohttp is imported (the system's trust
    store). Left to itself, httpx-aiohttp would build a second one from certifi for each transport
    (1.6 MB; it still builds an SSL context from its own `verify` argument, hence `verify=False` there,
    which loads no certificates and is never used).
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=256, ssl=verify, resolver=resolver),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # "unsafe": hosts given by IP address keep cookies too
    )


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


class _HostSlot:
    """At most N requests in flight per host, and a jittered minimum delay between their starts."""

    def __init__(self, host: _Host, delay: float) -> None:
        self.host, self.delay = host, delay

    async def __aenter__(self) -> None:
        await self.host.gate.acquire()
        if self.delay <= 0:
            return
        async with self.host.lock:
            wait = self.host.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.host.next_at = time.monotonic() + self.delay * random.uniform(0.8, 1.2)

    async def __aexit__(self, *exc: object) -> None:
        self.host.gate.release()


def _transport_error(url: str, exc: Exception) -> FetchError:
    """What went wrong, from aiohttp's own exception: httpx-aiohttp maps every aiohttp connection error,
    a refused connection or an untrusted certificate alike, to httpx.ConnectTimeout."""
    cause = exc.__cause__ or exc
    if isinstance(cause, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        detail = getattr(cause, "certificate_error", cause)
        return CertificateError(
            url, f"TLS certificate not trusted ({detail}); `verify_tls: false` reads it anyway"
        )
    if isinstance(cause, aiohttp.ClientSSLError | ssl.SSLError):
        return ConnectError(url, f"TLS failed: {cause}")
    if isinstance(cause, TimeoutError | aiohttp.ServerTimeoutError) or (
        cause is exc and isinstance(exc, httpx.TimeoutException)
    ):
        return Timeout(url, f"timed out ({type(exc).__name__})")
    if isinstance(cause, aiohttp.ClientConnectorError):
        return ConnectError(url, _cannot_connect(cause))
    return ConnectError(url, f"connection failed: {cause or type(cause).__name__}")


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


# ---------------------------------------------------------------- decoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
}


def _header_charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label; gb2312/gbk become gb18030 (real pages mislabel GBK)."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib: codecs, not charsets
        return None
    name = info.name
    return _ALIASES.get(name, _ALIASES.get(label.strip().lower(), name))


def decode(body: bytes, header_charset: str | None = None, override: str | None = None) -> tuple[str, str]:
    """Bytes → (text, codec used): override, BOM, strict UTF-8, <meta>, header, detection.

    A declared charset is taken only if the bytes decode under it without error; detection is the last
    resort, and bad bytes are replaced, never raised.
    """
    if b"\x00" in body[:4096] and not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if wide := _utf16_without_bom(body):
            return body.decode(wide, errors="replace"), wide
        raise ExtractError("binary content, not a text page")
    forced = _codec(override)
    if forced:
        return body.decode(forced, errors="replace"), forced
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(name, errors="replace"), name.replace("-sig", "")
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(body):  # a stray byte in a footer does not make a UTF-8 page GB18030 mojibake
        return body.decode("utf-8", errors="replace"), "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    for label in (meta.group(1).decode("ascii", "ignore") if meta else None, header_charset):
        declared = _codec(label)
        if declared and declared != "utf-8":
            try:
                return body.decode(declared), declared
            except UnicodeDecodeError:
                continue
    import charset_normalizer

    best = charset_normalizer.from_bytes(body[:65536]).best()
    detected = _codec(best.encoding) if best else None
    if detected is None or detected in ("utf-8", "ascii"):
        detected = "gb18030"  # a Chinese government page that is not UTF-8 is GBK nine times in ten
    text = body.decode(detected, errors="replace")
    if _looks_binary(text):
        raise ExtractError("binary content, not a text page")
    return text, detected


def _mostly_utf8(body: bytes) -> bool:
    """Valid UTF-8 but for a few bytes: at most 16 bad ones, and ten valid non-ASCII characters for each.
    A GBK page decoded as UTF-8 has almost no valid non-ASCII characters at all."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid_wide = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return bad <= 16 and bad * 10 <= valid_wide


def _utf16_without_bom(body: bytes) -> str | None:
    """UTF-16 text has a NUL in every other byte (ASCII markup): which half says the byte order."""
    head = body[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2 or 1
    if max(even, odd) < half * 0.3 or min(even, odd) > half * 0.05:
        return None
    name = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = body.decode(name)
    except UnicodeDecodeError:
        return None
    return name if "<" in text[:1024] else None


def _looks_binary(text: str) -> bool:
    """Random bytes decode to something under a single-byte-tolerant codec; they are full of control
    characters and replacements that no page has."""
    sample = text[:8192]
    odd = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f") or c == "\ufffd")
    return odd * 20 > len(sample)  # over 5%
