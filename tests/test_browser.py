"""Pages read through headless Chromium (Debian's), against real local servers: a list built by script, a
412 challenge solved once, the address gate inside the browser, and pages that break their budget."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import config as config_mod
from watcher import demo
from watcher.app import check_sources, open_checker
from watcher.browser import Browser, BrowserSettings, PageFailed, find_executable
from watcher.cli import cli
from watcher.errors import ConfigError
from watcher.gate import Gate, Refused
from watcher.localsite import LocalServer
from watcher.models import SourceResult
from watcher.store import Store, now_iso
from watcher.transport import loads_data

from .conftest import NOW

BROWSER = pytest.mark.skipif(
    find_executable() is None and not os.environ.get("WATCHER_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (make browser installs it)",
)
META = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告</title></head><body>'
SHELL = (
    META + '<div class="nav"><a href="/">首页</a></div><h2>通知公告</h2><ul id="list"></ul>'
    "<script>fetch('/api/list.json').then(r => r.json()).then(rows => {"
    " const ul = document.getElementById('list');"
    " for (const r of rows) { const li = document.createElement('li');"
    " li.innerHTML = '<a href=\"' + r.url + '\">' + r.title + '</a><span>' + r.date + '</span>';"
    " ul.appendChild(li); } });</script>"
    '<div class="footer">版权所有</div></body></html>'
)
CHALLENGE = (
    b"<html><head><script>document.cookie='__jsl_clearance=1700000000.42|0|solved; path=/';"
    b"location.reload();</script></head><body></body></html>"
)
CLEARANCE = "__jsl_clearance=1700000000.42|0|solved"


def load(server: LocalServer, state: Path, sources: str, settings: str = "") -> config_mod.Config:
    text = f"""settings:
  per_host: {{concurrency: 4, delay: 0}}
  timeout: 5
  retries: 0
  read_attachments: false
{settings}
sources:
{sources}"""
    return config_mod.load("test.yaml", state=str(state), text=text)


def run(config: config_mod.Config) -> dict[str, SourceResult]:
    results = asyncio.run(check_sources(config, clock=lambda: NOW))
    return {r.name: r for r in results}


def entries(notices: list[demo.DemoNotice]) -> str:
    return json.dumps(
        [{"url": n.path, "title": n.title, "date": n.date} for n in notices], ensure_ascii=False
    )


def browser_of(server: LocalServer, **settings: object) -> Browser:
    host = server.base.split("//")[1].split(":")[0]
    return Browser(BrowserSettings(**settings), Gate([host]))  # type: ignore[arg-type]


@BROWSER
def test_a_list_built_by_script_is_read_diffed_and_alerted(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    server.site.put(demo.LIST_PATH, SHELL, content_type="text/html; charset=utf-8")
    server.site.put("/api/list.json", entries(notices[1:]), content_type="application/json")
    config = load(server, tmp_path, f"  - name: kjj\n    url: {server.url(demo.LIST_PATH)}")

    first = run(config)["kjj"]
    assert first.status == "ok", first.error
    assert sorted(c.title for c in first.changes) == sorted(n.title for n in notices[1:])
    assert server.site.hits["/api/list.json"] == 1  # the browser made the data call

    server.site.put("/api/list.json", entries(notices), content_type="application/json")
    second = run(config)["kjj"]  # the shell answers 304-able bytes as before; its data moved
    assert [(c.kind, c.title) for c in second.changes] == [("new", notices[0].title)]
    with Store(tmp_path) as store:
        planned = [a for a in store.alerts() if a.item_key == second.changes[0].key]
    assert planned, "the new notice of a script-built list is alerted like any other"


@BROWSER
def test_a_challenge_is_solved_once_and_its_cookie_reused(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    server.site.routes[demo.LIST_PATH].cookie = CLEARANCE
    server.site.routes[demo.LIST_PATH].challenge = CHALLENGE
    config = load(server, tmp_path, f"  - name: kjj\n    url: {server.url(demo.LIST_PATH)}")

    async def check() -> tuple[SourceResult, int]:
        async with open_checker(config, clock=lambda: NOW) as checker:
            result = await checker.check(config.sources[0])
            return result, checker.transport.browser.launches if checker.transport.browser else 0

    first, launches = asyncio.run(check())
    assert first.status == "ok", first.error
    assert len(first.changes) == len(notices) and launches == 1
    assert server.site.statuses[412] == 2  # the plain fetch, then the browser's first load
    with Store(tmp_path) as store:
        kept, _ = store.host_cookies("127.0.0.1", now_iso(NOW))
    assert [(c["name"], c["value"]) for c in kept] == [tuple(CLEARANCE.split("=", 1))]

    server.site.put(demo.LIST_PATH, demo.render_list(notices[1:]), cookie=CLEARANCE, challenge=CHALLENGE,
                    content_type="text/html; charset=utf-8")  # fmt: skip
    second, launches = asyncio.run(check())  # a new process, as after a restart: the cookie is in the store
    assert second.status == "ok", second.error
    assert launches == 0 and server.site.statuses[412] == 2  # plain HTTP with the kept cookie
    assert CLEARANCE in server.site.request_headers[demo.LIST_PATH]["cookie"]
    assert [c.kind for c in second.changes] == ["removed"]

    renewed = CLEARANCE.replace("solved", "again")
    server.site.put(demo.LIST_PATH, demo.render_list(notices[1:]), cookie=renewed,
                    challenge=CHALLENGE.replace(b"solved", b"again"), content_type="text/html; charset=utf-8")  # fmt: skip
    third, launches = asyncio.run(check())  # refused again: the browser solves the new challenge
    assert third.status in ("ok", "not_modified"), third.error
    assert launches == 1
    with Store(tmp_path) as store:
        kept, _ = store.host_cookies("127.0.0.1", now_iso(NOW))
    assert [c["value"] for c in kept] == [renewed.split("=", 1)[1]]


@BROWSER
def test_the_gate_holds_inside_the_browser(server: LocalServer) -> None:
    with LocalServer(host="127.0.0.2") as inner:  # playing an internal host: not the source's own
        inner.site.put("/secret", "内部", content_type="text/plain")
        secret, port = inner.url("/secret"), inner.httpd.server_address[1]
        server.site.put("/page", META + "<p>正文</p>"
                        f"<script src='{inner.url('/x.js')}'></script><img src='{secret}'>"
                        f"<iframe src='{secret}'></iframe><script>fetch('{secret}').catch(() => 0);"
                        "fetch('http://169.254.169.254/latest/meta-data/').catch(() => 0);"
                        f"try {{ new WebSocket('ws://127.0.0.2:{port}/') }} catch (e) {{}}</script>")  # fmt: skip
        server.site.put("/away", "", status=302, headers={"Location": secret})
        browser = browser_of(server)

        async def go() -> tuple[tuple[str, ...], Exception | None]:
            try:
                page = await browser.render(server.url("/page"))
                try:
                    await browser.render(server.url("/away"))
                except Refused as exc:
                    return page.refused, exc
                return page.refused, None
            finally:
                await browser.aclose()

        refused, redirect = asyncio.run(go())
        assert inner.site.connections == 0 and not inner.site.hits  # not one connection, websocket included
    assert sum("127.0.0.2 is an internal address" in r for r in refused) >= 3
    assert any("169.254.169.254" in r for r in refused)
    assert isinstance(redirect, Refused) and "127.0.0.2" in str(redirect)


@BROWSER
def test_a_page_that_never_settles_fails_its_source_alone(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    server.site.put("/loop", META + "<p>x</p><script>while (true) {}</script></body></html>")
    server.site.put("/popup", META + "<p>x</p><script>window.open('/loop')</script></body></html>")
    config = load(
        server, tmp_path,
        f"  - name: loop\n    url: {server.url('/loop')}\n    fetch: browser\n"
        f"  - name: popup\n    url: {server.url('/popup')}\n    fetch: browser\n"
        f"  - name: kjj\n    url: {server.url(demo.LIST_PATH)}",
        "  browser_seconds: 3",
    )  # fmt: skip
    results = run(config)
    assert results["kjj"].status == "ok" and len(results["kjj"].changes) == len(notices)
    assert results["loop"].status == "error"
    assert "did not settle within 3 s" in (results["loop"].error or "")
    assert results["loop"].elapsed < 3 + 20  # its budget, and the browser's start on a loaded machine
    assert results["popup"].status == "error" and "opened a window" in (results["popup"].error or "")


@BROWSER
def test_a_page_whose_scripts_grow_without_bound_fails(server: LocalServer) -> None:
    server.site.put("/grow", META + "<script>const a = []; while (true) a.push(new Array(1e6).fill(1.5));"
                    "</script></body></html>")  # fmt: skip
    server.site.put("/fine", META + "<p>正文</p></body></html>")
    browser = browser_of(server, page_memory_mb=128, page_seconds=20)

    async def go() -> tuple[PageFailed, str]:
        try:
            with pytest.raises(PageFailed) as failed:
                await browser.render(server.url("/grow"))
            after = await browser.render(server.url("/fine"))  # the browser itself lives on
            return failed.value, after.html
        finally:
            await browser.aclose()

    failure, html = asyncio.run(go())
    assert "crashed" in failure.reason and "128 MB" in failure.reason
    assert "正文" in html and browser.launches == 1


@BROWSER
def test_the_browser_is_shared_bounded_and_recycled(server: LocalServer) -> None:
    server.site.put("/p", META + "<p>正文</p></body></html>", delay=0.2)
    browser = browser_of(server, pages=2, recycle_after=3)
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            current = browser._current
            most = max(most, current.active if current else 0)
            await asyncio.sleep(0.01)

    async def go() -> None:
        watcher = asyncio.create_task(watch())
        try:
            await asyncio.gather(*(browser.render(server.url("/p")) for _ in range(5)))
        finally:
            watcher.cancel()
            await browser.aclose()

    asyncio.run(go())
    assert browser.pages == 5 and browser.launches == 2  # recycled after 3 pages
    assert most == 2  # never more pages at once than allowed
    assert 0 < browser.peak_rss < 4096 << 20
    assert not browser.running


@BROWSER
def test_extract_shows_what_the_browser_sees_and_explains_why(server: LocalServer) -> None:
    notices = demo.sample_notices(NOW.date())
    server.site.put("/shell", SHELL, content_type="text/html; charset=utf-8")
    server.site.put("/api/list.json", entries(notices), content_type="application/json")
    server.site.put("/guarded", demo.render_list(notices), cookie=CLEARANCE, challenge=CHALLENGE)
    runner = CliRunner()
    plain = runner.invoke(cli, ["extract", server.url("/shell"), "--explain"])
    assert plain.exit_code == 0 and "its list is built by script" in plain.output
    seen = runner.invoke(cli, ["extract", server.url("/shell"), "--browser"])
    assert seen.exit_code == 0, seen.output
    assert f"items ({len(notices)})" in seen.output and notices[0].title in seen.output
    blocked = runner.invoke(cli, ["extract", server.url("/guarded")])
    assert blocked.exit_code != 0 and "`--browser` reads it" in blocked.output
    solved = runner.invoke(cli, ["extract", server.url("/guarded"), "--browser"])
    assert solved.exit_code == 0 and f"items ({len(notices)})" in solved.output


@BROWSER
def test_a_browser_that_dies_is_started_again(server: LocalServer) -> None:
    server.site.put("/p", META + "<p>正文</p></body></html>")
    browser = browser_of(server)

    async def go() -> str:
        try:
            await browser.render(server.url("/p"))
            assert browser._current is not None
            os.killpg(browser._current.proc.pid, signal.SIGKILL)  # the browser we started, and its helpers
            await browser._current.proc.wait()
            return (await browser.render(server.url("/p"))).html
        finally:
            await browser.aclose()

    assert "正文" in asyncio.run(go()) and browser.launches == 2


def test_a_bare_403_or_fetch_http_never_starts_the_browser(server: LocalServer, tmp_path: Path) -> None:
    server.site.put("/forbidden", "<html><body>Forbidden</body></html>", status=403)
    server.site.put("/challenge", CHALLENGE, status=412)
    config = load(
        server, tmp_path,
        f"  - name: forbidden\n    url: {server.url('/forbidden')}\n"
        f"  - name: plain\n    url: {server.url('/challenge')}\n    fetch: http",
    )  # fmt: skip

    async def check() -> tuple[list[SourceResult], object]:
        async with open_checker(config, clock=lambda: NOW) as checker:
            return await checker.check_all(), checker.transport.browser

    results, browser = asyncio.run(check())
    assert [(r.name, r.status) for r in results] == [("forbidden", "blocked"), ("plain", "blocked")]
    assert browser is None and server.site.hits["/challenge"] == 1


def test_a_daemon_without_browser_sources_never_loads_the_browser() -> None:
    code = (
        "import sys, watcher.app, watcher.schedule, watcher.pipeline, watcher.cli; "
        "print(sorted(m for m in sys.modules if m in ('watcher.browser', 'watcher.gateproxy', 'playwright')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pages_whose_scripts_load_data_are_told_apart() -> None:
    assert loads_data(SHELL.encode())
    assert loads_data(b"<script src='/js/list.js'></script><script>$.getJSON('/data/list.json', f)</script>")
    assert loads_data(b"<script>var x = new XMLHttpRequest(); x.open('GET', '/api/list');</script>")
    assert not loads_data(b"<script>document.title = 'x';</script><p>fetch (a word)</p>")
    assert not loads_data(b"<p>no script at all</p>")


def test_fetch_is_validated_with_file_line_and_field() -> None:
    good = "sources:\n  - name: a\n    url: https://kjj.gz.gov.cn/tzgg/\n    fetch: browser\n"
    assert config_mod.load("w.yaml", text=good).sources[0].fetch == "browser"
    assert config_mod.load("w.yaml", text=good.replace("    fetch: browser\n", "")).sources[0].fetch == "auto"
    with pytest.raises(ConfigError) as info:
        config_mod.load("w.yaml", text=good.replace("fetch: browser", "fetch: chrome"))
    assert (info.value.path, info.value.line, info.value.field) == ("w.yaml", 4, "sources[0].fetch")
    assert "auto, http, browser" in info.value.message


def test_cookies_are_kept_per_host_until_they_expire(state: str) -> None:
    with Store(state) as store:
        cookies = [
            {"name": "acw_sc__v2", "value": "abc", "domain": "kjj.gz.gov.cn", "path": "/", "expires": None}
        ]
        store.keep_host_cookies("kjj.gz.gov.cn", cookies, "2026-11-23T11:00:00+08:00", now_iso(NOW))
        assert store.host_cookies("kjj.gz.gov.cn", now_iso(NOW)) == (cookies, "2026-11-23T11:00:00+08:00")
        assert store.host_cookies("other.gov.cn", now_iso(NOW)) == ([], None)
        assert store.host_cookies("kjj.gz.gov.cn", "2026-11-23T11:00:01+08:00") == ([], None)  # expired
        store.keep_host_cookies("kjj.gz.gov.cn", cookies, None, now_iso(NOW))  # a session cookie: no end
        assert store.host_cookies("kjj.gz.gov.cn", "2030-01-01T00:00:00+08:00")[0] == cookies
        store.forget_host_cookies("kjj.gz.gov.cn")
        assert store.host_cookies("kjj.gz.gov.cn", now_iso(NOW)) == ([], None)
