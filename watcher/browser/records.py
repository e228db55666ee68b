"""What the browser is told (BrowserSettings) and what it hands back (Rendered, with its Cookies)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
