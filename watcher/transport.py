"""How a source's pages are read: plain HTTP, or headless Chromium where the source needs it (`fetch:`).

`fetch: http` never starts the browser; `fetch: browser` reads the source's pages through it (its
attachments stay plain downloads). `fetch: auto`, the default, stays on plain HTTP and turns to the browser
only when a fetch meets an anti-bot challenge (a 403, 412 or 521 page, or a near-empty 200, whose script
sets a cookie; a bare 403 is not one), or when a list page yields no list while its scripts load data. Once a challenge is solved its
cookies are kept per host (in the store, with their expiry) and the plain fetcher sends them on every
later request to that host, so the browser runs once per challenge, not once per check; when the site
refuses them again they are forgotten and the browser solves the challenge anew. A script-built list is
tried plainly first on every check (one cheap request), so the source goes back to plain HTTP as soon as
its list is there without scripts.

The browser module is imported, and Chromium started, only when a page first needs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .clock import Clock, now_iso
from .config import Settings, Source
from .errors import Blocked, BrowserUnavailable, FetchError, HTTPStatusError, Refused, TooLarge
from .fetch import Fetcher, is_challenge
from .models import BEIJING, NotModified, Page, Validators
from .store import Store

if TYPE_CHECKING:
    from .browser import Browser, Cookie, Rendered

log = logging.getLogger("watcher.browser")

# What a script does when it fetches a page's data: XHR, fetch(), jQuery's and axios's calls, JSONP.
_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script>", re.I | re.S)
_LOADS_DATA = re.compile(
    rb"XMLHttpRequest|\bfetch\s*\(|\$\.(?:ajax|get|post|getJSON)\b|\baxios\b|jsonp|\.json\b|/api/", re.I
)
SHELL_CHARS = 200  # a "notice" with less text than this and no list is a page waiting for its scripts


class Transport:
    """The fetcher, the browser behind it, and the cookies solved challenges left; one per checker."""

    def __init__(
        self,
        fetcher: Fetcher,
        store: Store | None,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.fetcher, self.store, self.settings, self.clock = fetcher, store, settings, clock
        self.browser: Browser | None = None
        self._cookies: dict[str, tuple[str, str | None]] = {}  # host → Cookie header, expiry

    async def get(
        self,
        source: Source,
        url: str,
        validators: Validators | None,
        *,
        binary: bool = False,
        max_bytes: int | None = None,
    ) -> Page | NotModified:
        """A page of the source as its `fetch:` says; an attachment (`binary`) always plainly."""
        if source.fetch == "browser" and not binary:
            return await self.render(source, url, "fetch: browser")
        host = _host(url)
        cookie = self._cookie(host)
        headers = dict(source.headers)
        if cookie:
            headers["Cookie"] = "; ".join(filter(None, (headers.pop("Cookie", ""), cookie)))
        try:
            return await self.fetcher.get(
                url, validators, headers=headers, verify=source.verify_tls, encoding=source.encoding,
                robots=source.robots, binary=binary, max_bytes=max_bytes,
            )  # fmt: skip
        except Blocked as exc:
            if cookie:  # refused again: the challenge is to be solved anew
                self._forget(host)
            if source.fetch != "auto" or binary or not exc.scripted:  # a bare 403 is no challenge
                raise
            return await self.render(source, url, f"an anti-bot challenge ({exc.reason})", validators, exc)

    def scripted(self, source: Source, page: Page, items: int, text: str) -> bool:
        """Is this a list page that yielded no list while its scripts load data (read it in the browser)?"""
        if source.fetch != "auto" or source.kind == "notice" or page.rendered:
            return False
        return built_by_script(page.body, items, text)

    async def render(
        self,
        source: Source,
        url: str,
        why: str,
        validators: Validators | None = None,
        challenge: Blocked | None = None,
    ) -> Page | NotModified:
        """The page as the browser leaves it; `challenge`: the refusal that sent it here, whose cookies
        are kept once solved. A list built by script is never conditional: the document's validators say
        nothing of the data its scripts load."""
        from .browser import Browser

        if self.browser is None:
            self.browser = Browser(self.settings.browser_settings(), self.fetcher.gate)
        if source.robots and self.fetcher.settings.robots:
            await self.fetcher.check_robots(url, source.verify_tls)
        log.info("reading %s through the browser: %s", url, why, extra={"fields": {"url": url, "why": why}})
        conditional = (
            (validators.etag, validators.last_modified) if validators and challenge else (None, None)
        )
        try:
            async with self.fetcher.polite(url):
                rendered = await self.browser.render(
                    url, validators=conditional, headers=dict(source.headers), verify=source.verify_tls
                )
        except BrowserUnavailable as exc:
            if challenge is not None:
                raise Blocked(url, f"{challenge.reason}; {exc.reason}") from None
            raise FetchError(url, exc.reason) from None
        except FetchError as exc:
            if challenge is not None and not isinstance(exc, Refused):  # still refused, the browser or not
                raise Blocked(
                    url, f"{challenge.reason}; the browser did not get past it: {exc.reason}"
                ) from None
            raise
        if challenge is not None and rendered.cookies:
            self._keep(_host(rendered.final_url), rendered.cookies)
        return self._page(url, rendered, keep_validators=challenge is not None)

    def _page(self, url: str, rendered: Rendered, keep_validators: bool) -> Page | NotModified:
        if rendered.not_modified:
            return NotModified(url)
        body = rendered.html.encode("utf-8")
        if rendered.status in (403, 412, 521) or is_challenge(rendered.status, body):
            raise Blocked(
                url, f"anti-bot challenge (HTTP {rendered.status}), not passed in the browser either"
            )
        if rendered.status >= 400:
            raise HTTPStatusError(url, rendered.status)
        if len(body) > self.fetcher.settings.max_bytes:
            raise TooLarge(url, f"the rendered page passed the {self.fetcher.settings.max_bytes:,} byte cap")
        headers = rendered.headers if keep_validators else {}
        return Page(
            url=url, final_url=rendered.final_url, status=rendered.status, body=body, text=rendered.html,
            encoding="utf-8", content_type="text/html; charset=utf-8",
            etag=headers.get("etag"), last_modified=headers.get("last-modified"), rendered=True,
        )  # fmt: skip

    # -------------------------------------------------------------- a solved challenge's cookies

    def _cookie(self, host: str) -> str | None:
        """The Cookie header a solved challenge left for this host, while it lasts."""
        kept = self._cookies.get(host)
        if kept is not None and not kept[0]:  # nearly every host: none kept, no time to read
            return None
        now = now_iso(self.clock())
        if host not in self._cookies:
            cookies, expires = self.store.host_cookies(host, now) if self.store else ([], None)
            header = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
            self._cookies[host] = (header, expires)
        header, expires = self._cookies[host]
        if header and expires is not None and expires <= now:
            self._forget(host)
            return None
        return header or None

    def _keep(self, host: str, cookies: tuple[Cookie, ...]) -> None:
        stated = [c.expires for c in cookies if c.expires is not None]
        expires = now_iso(dt.datetime.fromtimestamp(min(stated), BEIJING)) if stated else None
        rows: list[dict[str, Any]] = [
            {"name": c.name, "value": c.value, "domain": c.domain, "path": c.path, "expires": c.expires}
            for c in cookies
        ]
        if self.store is not None:
            self.store.keep_host_cookies(host, rows, expires, now_iso(self.clock()))
        self._cookies[host] = ("; ".join(f"{c.name}={c.value}" for c in cookies), expires)
        log.info("kept %d cookies of %s's challenge (expiring %s)", len(rows), host, expires or "never")

    def _forget(self, host: str) -> None:
        self._cookies[host] = ("", None)
        if self.store is not None:
            self.store.forget_host_cookies(host)

    async def aclose(self) -> None:
        if self.browser is not None:
            await self.browser.aclose()


def built_by_script(body: bytes, items: int, text: str) -> bool:
    """No list and next to no text, on a page whose scripts load data: its list comes from them."""
    return not items and len(text) < SHELL_CHARS and loads_data(body)


def loads_data(body: bytes) -> bool:
    """Does one of the page's scripts fetch data (an inline call, or a script file named for one)?"""
    return any(_LOADS_DATA.search(attrs + code) for attrs, code in _SCRIPT.findall(body[: 1 << 20]))


def _host(url: str) -> str:
    if plain := _PLAIN_HOST.match(url):  # the usual address, read without urlsplit's full parse
        return plain[1].lower()
    return (urlsplit(url).hostname or "").lower()


_PLAIN_HOST = re.compile(r"https?://([A-Za-z0-9.-]+)(?::\d*)?(?=[/?#]|$)", re.I)
