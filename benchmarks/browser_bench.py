"""Browser fetches next to plain ones, on a real local server: start-up, pages/s, peak memory, and what a
solved challenge saves on later checks.

    python benchmarks/browser_bench.py [--pages 40] [--at-once 2]

Chromium's memory is its process group's proportional set size (shared pages counted once), sampled
after each page; the plain fetcher's is this process's own growth. The challenge figures are one source
checked twice through the real Transport: the first check meets a 412 page whose script sets a cookie
and reloads (plain request, then the browser), the second sends the kept cookie on a plain request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time

from watcher import demo
from watcher.browser import Browser, BrowserSettings, find_executable
from watcher.clock import system_clock
from watcher.config import Settings, Source
from watcher.fetch import Fetcher, FetchSettings
from watcher.gate import Gate
from watcher.localsite import LocalServer
from watcher.store import Store
from watcher.transport import Transport

SHELL = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告</title></head><body><ul id="list"></ul>'
    "<script>fetch('/api/list.json').then(r => r.json()).then(rows => { const ul = document.getElementById('list');"
    " for (const r of rows) { const li = document.createElement('li');"
    " li.innerHTML = '<a href=\"' + r.url + '\">' + r.title + '</a><span>' + r.date + '</span>';"
    " ul.appendChild(li); } });</script></body></html>"
)
CHALLENGE = b"<html><head><script>document.cookie='acw_sc__v2=5f3e9a1c; path=/';location.reload();</script></head></html>"


def serve(server: LocalServer) -> None:
    notices = demo.sample_notices()
    demo.publish(server, notices)
    server.site.put("/script.html", SHELL)
    rows = [{"url": n.path, "title": n.title, "date": n.date} for n in notices]
    server.site.put("/api/list.json", json.dumps(rows, ensure_ascii=False), content_type="application/json")
    server.site.put(
        "/guarded.html", demo.render_list(notices), cookie="acw_sc__v2=5f3e9a1c", challenge=CHALLENGE
    )


async def plain(server: LocalServer, n: int, at_once: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with Fetcher(
        FetchSettings(per_host_delay=0, per_host_concurrency=at_once, allow_private=("127.0.0.1",))
    ) as f:
        gate = asyncio.Semaphore(at_once)

        async def one() -> None:
            async with gate:
                await f.get(server.url(demo.LIST_PATH), robots=False)

        t = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - t
    return {
        "pages/s": n / wall,
        "growth MB": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
    }


async def browser(server: LocalServer, n: int, at_once: int, path: str) -> dict[str, float]:
    b = Browser(BrowserSettings(pages=at_once, recycle_after=10**6), Gate(["127.0.0.1"]))
    try:
        t = time.perf_counter()
        await b._instance()
        startup = time.perf_counter() - t
        idle = b.rss()
        t = time.perf_counter()
        await asyncio.gather(*(b.render(server.url(path)) for _ in range(n)))
        wall = time.perf_counter() - t
        return {"start-up s": startup, "idle MB": idle / 2**20, "pages/s": n / wall,
                "s/page": wall * at_once / n, "peak MB": b.peak_rss / 2**20}  # fmt: skip
    finally:
        await b.aclose()


async def challenge(server: LocalServer) -> dict[str, float]:
    source = Source("guarded", server.url("/guarded.html"))
    with tempfile.TemporaryDirectory() as state:
        store = Store(state)
        settings = Settings(per_host_delay=0)
        out: dict[str, float] = {}
        for label in ("first check (solve) s", "next check (cookie) s"):
            fetcher = Fetcher(FetchSettings(per_host_delay=0, allow_private=("127.0.0.1",)))
            transport = Transport(fetcher, store, settings, system_clock)
            try:
                t = time.perf_counter()
                await transport.get(source, source.url, None)
                out[label] = time.perf_counter() - t
                out[label.split(" (")[0] + " browser starts"] = (
                    transport.browser.launches if transport.browser else 0
                )
            finally:
                await transport.aclose()
                await fetcher.aclose()
        store.close()
    out["412s served"] = server.site.statuses[412]
    return out


def show(title: str, figures: dict[str, float]) -> None:
    print(
        f"{title:<34}"
        + "  ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--at-once", type=int, default=2)
    args = parser.parse_args()
    if find_executable() is None:
        print("no Chromium here: `make browser` installs Debian's")
        return
    with LocalServer() as server:
        serve(server)
        show("plain HTTP, static list", await plain(server, args.pages * 10, args.at_once))
        show("browser, static list", await browser(server, args.pages, args.at_once, demo.LIST_PATH))
        show("browser, list built by script", await browser(server, args.pages, args.at_once, "/script.html"))
        show("challenge (412, cookie by script)", await challenge(server))


if __name__ == "__main__":
    asyncio.run(main())
