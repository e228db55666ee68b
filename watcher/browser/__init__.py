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

The package, by job: records.py (settings, cookies, the rendered page), cdp.py (the DevTools connection),
chromium.py (one process: launch, its pages, memory, close), page.py (one page until it settles, a
challenge's reloads followed), wiring.py (the gate on every request a page makes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ..errors import BrowserUnavailable, PageFailed
from ..gate import Gate
from .chromium import Chromium, find_executable
from .records import BrowserSettings, Cookie, Rendered


class Browser:
    """The daemon's one browser: started on first use, shared, bounded, recycled."""

    def __init__(self, settings: BrowserSettings, gate: Gate) -> None:
        self.settings, self.gate = settings, gate
        self._slots = asyncio.Semaphore(settings.pages)
        self._lock = asyncio.Lock()
        self._current: Chromium | None = None
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

    async def _instance(self) -> Chromium:
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
                current = self._current = await Chromium.launch(executable, self.settings, self.gate)
                self.launches += 1
            return current

    def rss(self) -> int:
        return self._current.rss() if self._current else 0

    async def aclose(self) -> None:
        if self._current is not None:
            await self._current.close()
            self._current = None


__all__ = [
    "Browser", "BrowserSettings", "BrowserUnavailable", "Cookie", "PageFailed", "Rendered", "find_executable",
]  # fmt: skip
