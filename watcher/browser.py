"""Headless Chromium for the pages a plain request cannot read: lists built by script from a data call, and
anti-bot challenges (412/521) that compute a cookie in script and reload.

Chromium is driven over the DevTools protocol directly, on aiohttp's websocket client (already a
dependency), not through Playwright: Playwright adds a Node.js driver process beside the browser and a
40 MB wheel, for a dozen protocol calls (see benchmarks/browser_bench.py and the commit that added this).

One Chromium process serves the whole daemon. It starts with the first page that needs it (a daemon with no
such source never starts it, nor imports this module), holds at most `pages` pages at once, and is replaced
after `recycle_after` pages or when its processes' memory passes `memory_mb`. Each page gets a browser
context of its own (its own cookies, nothing shared between sources) and a budget: `page_seconds` for
everything (a script that never ends, a reload loop), `page_memory_mb` of script heap (a page that grows
without bound crashes its own renderer, not the browser), and no windows: a page that opens one fails.

The address gate holds inside the browser, twice. Every request the page makes (the document and each
redirect hop, scripts, XHR, frames, workers) is paused before it leaves (Fetch.requestPaused) and goes on
only if `Gate.admit` allows it; anything else fails as blocked by the client, and is named in `refused`.
Beneath that, every connection Chromium opens goes through watcher's own proxy (gateproxy.py), which
admits it by the same gate and connects to the addresses the gate pinned: websockets, which the protocol
cannot pause, preconnects, and a name that would resolve differently for Chromium all meet the gate there.
Downloads are denied, permission prompts denied, and only http and https are requested.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .errors import (
    BrowserUnavailable,
    CdpError,
    ConnectError,
    FetchError,
    HTTPStatusError,
    PageFailed,
    Refused,
)
from .fetch import _origin
from .gate import Gate
from .gateproxy import GateProxy

# The flags Chromium needs here: headless, no sandbox (containers), and none of its own traffic (sync,
# component updates, QUIC probes, first-run pages) which would try the network on its own.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
    "--deny-permission-prompts", "--disable-dev-shm-usage", "--password-store=basic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # no STUN probes around the gate
    "--disable-features=Translate,MediaRouter,OptimizationHints,NetworkPrediction,InterestFeedContentSuggestions",
    "--lang=zh-CN",  # an undeclared charset is read as GBK, as watcher reads it
    "--remote-debugging-port=0",  # the address is read from stderr; 127.0.0.1 only
)  # fmt: skip
EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MAX_NAVIGATIONS = 6  # main-frame documents one page may load: a challenge reloads once or twice
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


@dataclass(frozen=True)
class BrowserSettings:
    executable: str | None = None  # found on PATH when not given (Debian's chromium)
    pages: int = 2  # pages open at once, across the daemon
    recycle_after: int = 200  # pages one process serves before a fresh one replaces it
    memory_mb: int = 1024  # the processes' summed RSS past which the browser is replaced
    page_seconds: float = 30.0  # one page: loading, its scripts, a challenge's reloads
    page_memory_mb: int = 256  # one page's script heap (V8's old space); past it the renderer dies
    settle: float = 0.3  # after the load event, this long without a request in flight means done
    user_agent: str = ""  # the plain fetcher's, so that a challenge's cookie holds for both


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float | None = None  # seconds since the epoch; None: a session cookie

    @classmethod
    def from_cdp(cls, raw: Mapping[str, Any]) -> Cookie:
        expires = raw.get("expires")
        session = raw.get("session") or expires is None or expires < 0
        return cls(
            raw["name"], raw["value"], raw["domain"], raw.get("path") or "/", None if session else expires
        )

    def matches(self, host: str) -> bool:
        domain = self.domain.lstrip(".").lower()
        return host == domain or host.endswith("." + domain)


@dataclass(frozen=True)
class Rendered:
    """The page as the browser left it: the DOM after its scripts, and the main document's answer."""

    url: str
    final_url: str
    status: int
    html: str
    headers: dict[str, str]  # the main document's response headers, names in lower case
    cookies: tuple[Cookie, ...] = ()  # those of the final page's host
    navigations: int = 1  # main-frame documents loaded: 2 or more when a challenge reloaded
    refused: tuple[str, ...] = ()  # what the gate refused the page
    not_modified: bool = False  # the conditional request for the document was answered 304


def find_executable(given: str | None = None) -> str | None:
    if given:
        return given if os.access(given, os.X_OK) else shutil.which(given)
    return next(filter(None, map(shutil.which, EXECUTABLES)), None)


class Browser:
    """The daemon's one browser: started on first use, shared, bounded, recycled."""

    def __init__(self, settings: BrowserSettings, gate: Gate) -> None:
        self.settings, self.gate = settings, gate
        self._slots = asyncio.Semaphore(settings.pages)
        self._lock = asyncio.Lock()
        self._current: _Chromium | None = None
        self.launches = 0  # processes started, for logs, tests and the benchmark
        self.pages = 0  # pages rendered, all processes
        self.peak_rss = 0  # bytes, the most memory (PSS, see _group_rss) seen after a page

    @property
    def running(self) -> bool:
        return self._current is not None and not self._current.dead

    async def render(
        self,
        url: str,
        *,
        validators: tuple[str | None, str | None] = (None, None),
        headers: Mapping[str, str] | None = None,
        verify: bool = True,
    ) -> Rendered:
        """Load `url` in a fresh context and wait until it settles. `validators` (etag, last-modified) make
        the document's request conditional; `headers` go to the page's own origin only."""
        self.gate.check_url(url)
        async with self._slots:
            chromium = await self._instance()
            chromium.active += 1
            try:
                return await chromium.render(url, validators, dict(headers or {}), verify)
            finally:
                chromium.active -= 1
                chromium.served += 1
                self.pages += 1
                rss = chromium.rss()
                self.peak_rss = max(self.peak_rss, rss)
                if chromium.served >= self.settings.recycle_after or rss > self.settings.memory_mb << 20:
                    chromium.retired = True
                if (chromium.retired or chromium.dead) and chromium.active == 0:
                    await chromium.close()

    async def _instance(self) -> _Chromium:
        async with self._lock:
            current = self._current
            if current is not None and (current.retired or current.dead):
                await current.drained()
                await current.close()
                current = self._current = None
            if current is None:
                executable = find_executable(self.settings.executable)
                if executable is None:
                    raise BrowserUnavailable("", "no Chromium here (`make browser` installs Debian's)")
                current = self._current = await _Chromium.launch(executable, self.settings, self.gate)
                self.launches += 1
            return current

    def rss(self) -> int:
        return self._current.rss() if self._current else 0

    async def aclose(self) -> None:
        if self._current is not None:
            await self._current.close()
            self._current = None


class _Cdp:
    """The DevTools protocol over one websocket: commands by id, events by session."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._http, self._ws = http, ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {}  # session id ("": browser)
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    async def send(
        self, method: str, params: Mapping[str, Any] | None = None, session: str = "", timeout: float = 10.0
    ) -> dict[str, Any]:
        if self.closed:
            raise CdpError("the browser went away")
        number = next(self._ids)
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = done
        message: dict[str, Any] = {"id": number, "method": method, "params": dict(params or {})}
        if session:
            message["sessionId"] = session
        try:
            await self._ws.send_str(json.dumps(message))
            async with asyncio.timeout(timeout):
                return await done
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise CdpError(f"the browser went away ({exc})") from None
        finally:
            self._waiting.pop(number, None)

    async def _read(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "id" in data:
                    done = self._waiting.get(data["id"])
                    if done is None or done.done():
                        continue
                    if "error" in data:
                        done.set_exception(CdpError(data["error"].get("message", "error")))
                    else:
                        done.set_result(data.get("result") or {})
                elif handler := self.handlers.get(data.get("sessionId", "")):
                    handler(data["method"], data.get("params") or {})
        finally:
            self.closed = True
            for done in self._waiting.values():
                if not done.done():
                    done.set_exception(CdpError("the browser went away"))

    async def close(self) -> None:
        self.closed = True
        await self._ws.close()
        await self._http.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class _Chromium:
    """One Chromium process, its profile directory and its DevTools connection."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        profile: str,
        cdp: _Cdp,
        settings: BrowserSettings,
        proxy: GateProxy,
    ) -> None:
        self.proc, self.profile, self.cdp, self.settings = proc, profile, cdp, settings
        self.proxy, self.gate = proxy, proxy.gate
        self.active = self.served = 0
        self.retired = self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._runs: dict[str, _PageRun] = {}  # browser context → its page, to hear of windows it opens
        cdp.handlers[""] = self._browser_event

    @classmethod
    async def launch(cls, executable: str, settings: BrowserSettings, gate: Gate) -> _Chromium:
        import tempfile  # here: a daemon that never starts the browser does not carry it

        proxy = GateProxy(gate)
        address = await proxy.start()
        profile = tempfile.mkdtemp(prefix="watcher-chromium-")
        proc = await asyncio.create_subprocess_exec(
            executable, *FLAGS, f"--user-data-dir={profile}", f"--proxy-server={address}",
            "--proxy-bypass-list=<-loopback>",  # loopback too: Chromium would otherwise go there directly
            f"--js-flags=--max-old-space-size={settings.page_memory_mb}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,  # its own group: killed as one
        )  # fmt: skip
        tail: deque[str] = deque(maxlen=8)
        try:
            address = await asyncio.wait_for(_listening(proc, tail), 30)
            http = aiohttp.ClientSession()
            ws = await http.ws_connect(address, max_msg_size=64 << 20, autoping=False)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            _kill(proc)
            await proxy.close()
            shutil.rmtree(profile, ignore_errors=True)
            detail = " / ".join(tail) or str(exc) or type(exc).__name__
            raise BrowserUnavailable("", f"Chromium did not start: {detail[:300]}") from None
        asyncio.get_running_loop().create_task(_drain(proc, tail))  # a full stderr pipe would stall it
        chromium = cls(proc, profile, _Cdp(http, ws), settings, proxy)
        await chromium.cdp.send("Target.setDiscoverTargets", {"discover": True})
        return chromium

    @property
    def dead(self) -> bool:
        return self.cdp.closed or self.proc.returncode is not None

    async def drained(self) -> None:
        await self._idle.wait()

    def _browser_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Target.targetCreated":
            info = params["targetInfo"]
            run = self._runs.get(info.get("browserContextId", ""))
            if run is not None and run.target and info["type"] == "page" and info["targetId"] != run.target:
                run.fail(PageFailed(run.url, "the page opened a window"))
        elif method == "Target.targetCrashed":
            for run in self._runs.values():
                if run.target == params.get("targetId"):
                    run.crashed()

    async def render(
        self, url: str, validators: tuple[str | None, str | None], headers: dict[str, str], verify: bool
    ) -> Rendered:
        self._idle.clear()
        context = (await self.cdp.send("Target.createBrowserContext", {"disposeOnDetach": True}))[
            "browserContextId"
        ]
        run = _PageRun(self, context, url, validators, headers)
        self._runs[context] = run
        try:
            async with asyncio.timeout(self.settings.page_seconds):
                return await run.run(verify)
        except TimeoutError:
            raise PageFailed(
                url,
                f"the page did not settle within {self.settings.page_seconds:g} s (a script that never ends?)",
            ) from None
        except CdpError as exc:
            raise PageFailed(url, f"the browser failed on this page: {exc}") from None
        finally:
            run.stop()
            del self._runs[context]
            with contextlib.suppress(CdpError, TimeoutError):
                await self.cdp.send("Target.disposeBrowserContext", {"browserContextId": context}, timeout=5)
            if self.active <= 1:
                self._idle.set()

    def rss(self) -> int:
        """The summed resident memory of the browser's processes (its own process group), in bytes."""
        return _group_rss(self.proc.pid) if self.proc.returncode is None else 0

    async def close(self) -> None:
        if self._closed:  # the last page out and the next page in may both close a retired browser
            return
        self._closed = True
        with contextlib.suppress(CdpError, TimeoutError):
            if not self.cdp.closed:
                await self.cdp.send("Browser.close", timeout=2)
        await self.cdp.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            _kill(self.proc)
            await self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygotes, renderers) left in its group
        await self.proxy.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class _PageRun:
    """One page in its own browser context, from navigation until it settles."""

    def __init__(
        self,
        chromium: _Chromium,
        context: str,
        url: str,
        validators: tuple[str | None, str | None],
        headers: dict[str, str],
    ) -> None:
        self.chromium, self.cdp, self.context, self.url = chromium, chromium.cdp, context, url
        self.validators, self.headers = validators, headers
        self.origin = _origin(url)
        self.target = ""
        self.session = ""
        self.sessions: list[str] = []
        self.failure: FetchError | None = None
        self.inflight: set[str] = set()
        self.last_activity = time.monotonic()
        self.loaded = self.loading = False
        self.navigations = 0
        self.document: dict[str, Any] = {}  # the main frame's last document response
        self.documents: set[str] = set()  # request ids of the main frame's documents
        self.document_failed: str | None = None  # why the main frame's last document did not load
        self.refused: list[str] = []
        self.main_refused: Refused | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def fail(self, failure: FetchError) -> None:
        self.failure = self.failure or failure

    def crashed(self) -> None:
        limit = self.chromium.settings.page_memory_mb
        self.fail(PageFailed(self.url, f"the page crashed (its scripts past {limit} MB?)"))

    async def run(self, verify: bool) -> Rendered:
        send = self.cdp.send
        self.target = (
            await send("Target.createTarget", {"url": "about:blank", "browserContextId": self.context})
        )["targetId"]
        self.session = (await send("Target.attachToTarget", {"targetId": self.target, "flatten": True}))[
            "sessionId"
        ]
        await self._prepare(self.session, page=True)
        if not verify:
            await send("Security.setIgnoreCertificateErrors", {"ignore": True}, self.session)
        await send("Browser.setDownloadBehavior", {"behavior": "deny", "browserContextId": self.context})
        navigated = await send("Page.navigate", {"url": self.url}, self.session)
        if navigated.get("errorText"):
            self._raise_failure()
            raise ConnectError(self.url, f"the browser could not load it: {navigated['errorText']}")
        await self._settle()
        return await self._result()

    async def _prepare(self, session: str, page: bool) -> None:
        """Every session (the page, its frames and workers) pauses each request for the gate."""
        self.sessions.append(session)
        self.cdp.handlers[session] = lambda method, params: self._event(session, method, params)
        send = self.cdp.send
        calls = [
            send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}, session),
            send("Network.enable", {}, session),
            send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
                 session),
        ]  # fmt: skip
        if page:
            calls += [
                send("Page.enable", {}, session),
                send("Inspector.enable", {}, session),
                send("Network.setUserAgentOverride", {"userAgent": self.chromium.settings.user_agent or "",
                     "acceptLanguage": "zh-CN,zh;q=0.9"}, session),
            ]  # fmt: skip
        for call in asyncio.as_completed(calls):
            with contextlib.suppress(CdpError):  # a worker has no Page domain, some no Network
                await call

    def _event(self, session: str, method: str, params: dict[str, Any]) -> None:
        now = time.monotonic()
        if method == "Fetch.requestPaused":
            self._spawn(self._admit(session, params))
        elif method == "Network.requestWillBeSent":
            request_id = params["requestId"]
            self.last_activity = now
            if (
                session == self.session
                and params.get("type") == "Document"
                and params.get("frameId") == self.target
            ):
                if request_id not in self.documents:
                    # A new navigation (a challenge's reload) ends the old document's requests; Chromium does
                    # not always report those it cancels, and one never reported finished held the page
                    # "in flight" until its time ran out.
                    self.inflight.clear()
                self.documents.add(request_id)
            self.inflight.add(request_id)
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.inflight.discard(params["requestId"])
            self.last_activity = now
            if method == "Network.loadingFailed" and params["requestId"] in self.documents:
                self.document_failed = params.get("errorText") or "failed"
        elif method == "Network.responseReceived":
            self._response(session, params)
        elif method == "Network.responseReceivedExtraInfo" and params["requestId"] in self.documents:
            if params.get("statusCode") == 304:  # no responseReceived follows: the load is aborted
                self.document = {"status": 304, "headers": params.get("headers") or {}}
        elif session != self.session:
            if method == "Target.attachedToTarget":
                self._spawn(self._child(params["sessionId"]))
        elif method == "Page.frameStartedLoading" and params["frameId"] == self.target:
            self.loading, self.loaded = True, False
            self.last_activity = now
        elif method == "Page.frameStoppedLoading" and params["frameId"] == self.target:
            self.loading = False
            self.last_activity = now
        elif method == "Page.loadEventFired":
            self.loaded = True
            self.last_activity = now
        elif method == "Page.frameNavigated" and not params["frame"].get("parentId"):
            self.navigations += 1
        elif method == "Target.attachedToTarget":
            self._spawn(self._child(params["sessionId"]))
        elif method == "Page.javascriptDialogOpening":  # alert() would hold the page forever
            self._spawn(self._quietly("Page.handleJavaScriptDialog", {"accept": False}, session))
        elif method == "Page.windowOpen":
            self.fail(PageFailed(self.url, "the page opened a window"))
        elif method == "Inspector.targetCrashed":
            self.crashed()

    def _response(self, session: str, params: dict[str, Any]) -> None:
        if (
            session == self.session
            and params.get("type") == "Document"
            and params.get("frameId") == self.target
        ):
            self.document = params["response"]

    async def _admit(self, session: str, params: dict[str, Any]) -> None:
        request, request_id = params["request"], params["requestId"]
        url = request["url"]
        if url.startswith(("data:", "blob:")):  # in the page already: no request leaves
            await self._quietly("Fetch.continueRequest", {"requestId": request_id}, session)
            return
        try:
            await self.chromium.gate.admit(url)
        except FetchError as exc:
            self.refused.append(exc.reason if isinstance(exc, Refused) else f"{url[:200]}: {exc.reason}")
            if params.get("resourceType") == "Document" and params.get("frameId") == self.target:
                self.main_refused = exc if isinstance(exc, Refused) else Refused(url, exc.reason)
            await self._quietly("Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"},
                                session)  # fmt: skip
            return
        await self._quietly("Fetch.continueRequest", self._continued(params, request, request_id), session)

    def _continued(self, params: dict[str, Any], request: dict[str, Any], request_id: str) -> dict[str, Any]:
        """The request as it goes on: the source's headers only to its own origin, and the document's
        first request made conditional."""
        out: dict[str, Any] = {"requestId": request_id}
        extra = dict(self.headers) if _origin(request["url"]) == self.origin else {}
        document = params.get("resourceType") == "Document" and params.get("frameId") == self.target
        if document and request["url"] == self.url:  # the reload after a challenge too: it may be a 304
            etag, modified = self.validators
            extra.update({"If-None-Match": etag} if etag else {})
            extra.update({"If-Modified-Since": modified} if modified else {})
        if extra:
            headers = {**request.get("headers", {}), **extra}
            out["headers"] = [{"name": k, "value": v} for k, v in headers.items()]
        return out

    async def _child(self, session: str) -> None:
        """A frame or worker the page started: its requests pass the gate too, then it may run."""
        await self._prepare(session, page=False)
        await self._quietly("Runtime.runIfWaitingForDebugger", {}, session)

    async def _quietly(self, method: str, params: dict[str, Any], session: str) -> None:
        with contextlib.suppress(CdpError, TimeoutError):  # the page or frame may be gone by now
            await self.cdp.send(method, params, session)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self) -> None:
        """Loaded, nothing in flight and no navigation for `settle` seconds: a challenge's reload or a list's
        data call comes within that. The script heap is looked at twice a second meanwhile."""
        settle = self.chromium.settings.settle
        next_heap = time.monotonic() + 0.5
        while True:
            self._raise_failure()
            if self.document.get("status") == 304:  # as it was: nothing to render (nor will it load)
                return
            if self.navigations > MAX_NAVIGATIONS:
                raise PageFailed(
                    self.url, f"the page reloaded itself {self.navigations} times (a challenge not passed?)"
                )
            now = time.monotonic()
            quiet = not self.loading and not self.inflight and now - self.last_activity >= settle
            if quiet and self.document_failed:
                raise ConnectError(self.url, f"the browser could not load it: {self.document_failed}")
            if quiet and self.loaded:
                return
            if now >= next_heap:
                next_heap = now + 0.5
                self._spawn(self._check_heap())
            await asyncio.sleep(0.05)

    async def _check_heap(self) -> None:
        with contextlib.suppress(CdpError, TimeoutError):  # a busy renderer answers late: the clock decides
            heap = await self.cdp.send("Runtime.getHeapUsage", {}, self.session, timeout=1)
            limit = self.chromium.settings.page_memory_mb << 20
            if heap.get("usedSize", 0) > limit:
                self.fail(PageFailed(self.url, f"the page's scripts grew past {limit >> 20} MB"))

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self.main_refused is not None:
            raise self.main_refused

    async def _result(self) -> Rendered:
        send = self.cdp.send
        doc = self.document
        status = int(doc.get("status") or 0)
        final_url = doc.get("url") or self.url
        cookies = (await send("Storage.getCookies", {"browserContextId": self.context})).get("cookies", [])
        host = (urlsplit(final_url).hostname or "").lower()
        kept = tuple(c for c in map(Cookie.from_cdp, cookies) if c.matches(host))
        navigations = max(self.navigations, 1)
        if status == 304:
            return Rendered(self.url, final_url, 304, "", {}, kept, navigations, not_modified=True)
        if not status:
            raise HTTPStatusError(self.url, 0)
        value = await send(
            "Runtime.evaluate",
            {"expression": "document.documentElement ? document.documentElement.outerHTML : ''",
             "returnByValue": True},
            self.session,
        )  # fmt: skip
        self._raise_failure()
        html = str(value.get("result", {}).get("value") or "")
        headers = {k.lower(): str(v) for k, v in (doc.get("headers") or {}).items()}
        return Rendered(self.url, final_url, status, html, headers, kept, navigations, tuple(self.refused))

    def stop(self) -> None:
        for session in self.sessions:
            self.cdp.handlers.pop(session, None)
        for task in self._tasks:
            task.cancel()


async def _listening(proc: asyncio.subprocess.Process, tail: deque[str]) -> str:
    assert proc.stderr is not None
    while line := await proc.stderr.readline():
        text = line.decode("utf-8", "replace").strip()
        if found := _LISTENING.search(text):
            return found.group(1)
        if text and "dbus" not in text:
            tail.append(text)
    raise OSError(f"Chromium exited ({proc.returncode})")


async def _drain(proc: asyncio.subprocess.Process, tail: deque[str]) -> None:
    assert proc.stderr is not None
    with contextlib.suppress(OSError, ValueError):
        while line := await proc.stderr.readline():
            tail.append(line.decode("utf-8", "replace").strip())


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _group_rss(group: int) -> int:
    """The memory of the processes in a process group, in bytes, from /proc (0 where there is none): their
    proportional set sizes, so that what Chromium's processes share is counted once, not once each (their
    summed RSS is about twice as much)."""
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
                if int(stat[stat.rindex(b")") + 2 :].split()[2]) != group:  # state, ppid, pgrp
                    continue
                with open(f"/proc/{entry.name}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith(b"Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except (OSError, ValueError, IndexError):
                continue
    return total


__all__ = ["Browser", "BrowserSettings", "BrowserUnavailable", "Cookie", "PageFailed", "Rendered"]
