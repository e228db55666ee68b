"""One page in its own browser context, from navigation until it settles: its document followed through a
challenge's reloads, the budget held (navigations, script heap, crashes, windows), and the result read."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import CdpError, ConnectError, FetchError, HTTPStatusError, PageFailed
from .records import Cookie, Rendered
from .wiring import GatedRequests

if TYPE_CHECKING:
    from .chromium import Chromium

MAX_NAVIGATIONS = 6  # main-frame documents one page may load: a challenge reloads once or twice


class PageRun(GatedRequests):
    """One page in its own browser context, from navigation until it settles."""

    def __init__(
        self,
        chromium: Chromium,
        context: str,
        url: str,
        validators: tuple[str | None, str | None],
        headers: dict[str, str],
    ) -> None:
        super().__init__(chromium, url, validators, headers)
        self.context = context
        self.failure: FetchError | None = None
        self.inflight: set[str] = set()
        self.last_activity = time.monotonic()
        self.loaded = self.loading = False
        self.navigations = 0
        self.document: dict[str, Any] = {}  # the main frame's last document response
        self.documents: set[str] = set()  # request ids of the main frame's documents
        self.document_failed: str | None = None  # why the main frame's last document did not load

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
