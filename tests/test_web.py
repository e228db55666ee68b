"""The subscriber page in a real browser (headless Debian Chromium through chromedriver), and the feeds."""

from __future__ import annotations

import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
import uvicorn

from watcher import config as config_mod
from watcher import demo
from watcher.localsite import LocalServer
from watcher.web import build_app

from . import kit
from .kit import NOW
from .receivers import free_port, wait_for

CHROMEDRIVER = shutil.which("chromedriver")
BROWSER = pytest.mark.skipif(
    CHROMEDRIVER is None and not os.environ.get("WATCHER_REQUIRE_BROWSER"),
    reason="Debian's chromium and chromium-driver are not installed (make test installs them)",
)
HOSTILE = '关于<img src=x onerror="window.__xss=1">申报科技创新合作项目的通知'


@dataclass
class Served:
    base: str
    server: LocalServer
    notices: list[demo.DemoNotice]
    config: config_mod.Config

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return bytes(r.read())


@pytest.fixture
def served(server: LocalServer, state: str) -> Iterator[Served]:
    """A state with known notices, on SQLite and on PostgreSQL: the demo site checked twice (the second
    time with revisions), plus a notice whose title carries markup."""
    notices = demo.sample_notices(NOW.date())
    notices.append(demo.DemoNotice(8700, HOSTILE, notices[0].date, ["广佛科技创新合作，联合攻关。"]))
    demo.publish(server, notices)
    config = kit.load_config(state, [kit.demo_source(server)], alerts={})
    kit.run_check(config, kit.SteppedClock(NOW))
    demo.publish(server, [*demo.next_round(notices[:4]), notices[4]])
    kit.run_check(config, kit.SteppedClock(NOW.replace(hour=12)))
    with serving(config) as base:
        yield Served(base, server, notices, config)


@contextmanager
def serving(config: config_mod.Config) -> Iterator[str]:
    """The app on uvicorn in a thread, on a free loopback port."""
    port = free_port()
    app = build_app(config, clock=lambda: NOW)
    web = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    wait_for(lambda: web.started, what="the web server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(timeout=5)
        app.state.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,900", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or "/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def texts(driver: object, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]  # type: ignore[attr-defined]


@BROWSER
def test_the_page_shows_notices_by_programme(served: Served, browser: object) -> None:
    browser.get(served.base + "/")  # type: ignore[attr-defined]
    headings = [h.split(" ")[0] for h in texts(browser, "h2")]
    assert headings[:4] == [
        "广佛科技创新合作",
        "珠三角科技创新一体化",
        "广州建设国际科技产业创新中心",
        "科创中国",
    ]
    shown = " ".join(texts(browser, "li.notice"))
    for n in served.notices[:3]:
        assert n.title in shown
    assert "已更新 1 次" in shown and "截止 2026-12-12（还有 19 天）" in shown
    width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    browser.set_window_size(390, 844)  # type: ignore[attr-defined]
    phone = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    assert width[0] <= width[1] and phone[0] <= phone[1], "no sideways scrolling, also on a phone"


@BROWSER
def test_deadlines_are_sorted_by_days_left(served: Served, browser: object) -> None:
    browser.get(served.base + "/deadlines")  # type: ignore[attr-defined]
    items = texts(browser, "li.notice")
    assert [line.splitlines()[0] for line in items] == [served.notices[0].title, served.notices[1].title]
    assert "还有 19 天" in items[0] and "还有 20 天" in items[1]


@BROWSER
def test_a_notice_shows_its_diff_and_why_it_matched(served: Served, browser: object) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served.base + "/deadlines")  # type: ignore[attr-defined]
    browser.find_element(By.LINK_TEXT, served.notices[0].title).click()  # type: ignore[attr-defined]
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "pre.diff"), what="the notice page")  # type: ignore[attr-defined]
    assert texts(browser, "h1") == [served.notices[0].title]
    removed, added = texts(browser, "pre.diff .del"), texts(browser, "pre.diff .ins")
    assert removed[0].startswith("-申报时间") and "12月5日" in removed[0]
    assert added[0].startswith("+申报时间") and "12月12日" in added[0]
    colours = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('pre.diff span')].slice(0,2).map(e => getComputedStyle(e).color)"
    )
    assert colours == ["rgb(179, 38, 30)", "rgb(27, 110, 42)"]  # red out, green in
    body = browser.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert (
        "更新：正文、附件、截止时间" in body
        and "广佛科技创新合作 · 科技成果转化" in body
        and "申报指南.docx" in body
    )


@BROWSER
def test_search_in_traditional_finds_simplified(served: Served, browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(served.base + "/")  # type: ignore[attr-defined]
    box = browser.find_element(By.NAME, "q")  # type: ignore[attr-defined]
    box.send_keys("廣佛科技創新合作專項", Keys.ENTER)
    wait_for(lambda: "/search" in browser.current_url, what="the search page")  # type: ignore[attr-defined]
    found = texts(browser, "li.notice")
    assert len(found) == 1 and found[0].startswith(served.notices[0].title)


@BROWSER
def test_page_content_is_escaped(served: Served, browser: object, tmp_path: Path) -> None:
    browser.get(served.base + "/")  # type: ignore[attr-defined]
    wait_for(lambda: HOSTILE in " ".join(texts(browser, "li.notice")), what="the hostile title shown as text")
    assert browser.execute_script("return window.__xss === undefined")  # type: ignore[attr-defined]  # …never run
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_feeds_validate_and_show_a_revision_as_updated(served: Served) -> None:
    everything = feedparser.parse(served.get("/feeds/all.xml"))
    assert not everything.bozo and everything.version == "atom10"
    entries = {e.title: e for e in everything.entries}
    revised, untouched = entries[served.notices[0].title], entries[served.notices[2].title]
    assert revised.id.startswith("urn:watcher:") and len({e.id for e in everything.entries}) == len(entries)
    assert revised.updated_parsed > revised.published_parsed  # a revision: updated, not a new entry
    assert untouched.updated == untouched.published
    assert revised.link == served.server.url(served.notices[0].path)
    programme = feedparser.parse(served.get("/feeds/kczg.xml"))
    assert [e.title for e in programme.entries] == [served.notices[1].title]
    assert programme.entries[0].id == entries[served.notices[1].title].id  # the same id in every feed
    with pytest.raises(urllib.error.HTTPError):
        served.get("/feeds/nope.xml")


def test_a_subscriber_feed_applies_its_filter(server: LocalServer, state: str) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    parks = kit.subscriber("parks", "json://127.0.0.1:9/x", kinds=["遴选"])
    config = kit.load_config(state, [kit.demo_source(server)], [parks], alerts={})
    kit.run_check(config, kit.SteppedClock(NOW))
    with serving(config) as base:
        feed = feedparser.parse(
            urllib.request.urlopen(base + "/feeds/subscribers/parks.xml", timeout=10).read()
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/feeds/subscribers/nobody.xml", timeout=10)
    assert [e.title for e in feed.entries] == [notices[1].title]
