"""The gate wired into a page: every request of the page, its frames and its workers is paused
(Fetch.requestPaused) and goes on only if `Gate.admit` allows it; the source's headers go to its own origin
only, and the document's first request is made conditional."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from ..errors import CdpError, FetchError, Refused
from ..fetch import _origin

if TYPE_CHECKING:
    from .chromium import Chromium


class GatedRequests:
    """A page's sessions and the gate on their requests; `PageRun` adds what the page does."""

    def __init__(
        self,
        chromium: Chromium,
        url: str,
        validators: tuple[str | None, str | None],
        headers: dict[str, str],
    ) -> None:
        self.chromium, self.cdp, self.url = chromium, chromium.cdp, url
        self.validators, self.headers = validators, headers
        self.origin = _origin(url)
        self.target = ""  # the page's target id (its main frame's id)
        self.session = ""  # the page's own session
        self.sessions: list[str] = []  # the page's, and its frames' and workers'
        self.refused: list[str] = []
        self.main_refused: Refused | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _event(self, session: str, method: str, params: dict[str, Any]) -> None:
        raise NotImplementedError  # the page's events: PageRun

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

    def stop(self) -> None:
        for session in self.sessions:
            self.cdp.handlers.pop(session, None)
        for task in self._tasks:
            task.cancel()
