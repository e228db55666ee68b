"""The subscriber page in a real browser (headless Debian Chromium through chromedriver), and the feeds."""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest
import uvicorn
from click.testing import CliRunner

from watcher import config as config_mod
from watcher import demo, queries, when
from watcher.cli import cli
from watcher.localsite import LocalServer
from watcher.store import Store
from watcher.web import access, build_app

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
def serving(config: config_mod.Config, password: str | None = None) -> Iterator[str]:
    """The app on uvicorn in a thread, on a free loopback port."""
    port = free_port()
    app = build_app(config, clock=lambda: NOW, password=password)
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


def page(served_base: str, path: str) -> Any:
    from selectolax.lexbor import LexborHTMLParser

    with urllib.request.urlopen(served_base + path, timeout=10) as r:
        return LexborHTMLParser(r.read().decode("utf-8"))


def test_a_notice_shows_its_text_with_the_changed_lines_marked_and_times_in_words(served: Served) -> None:
    with Store(served.config.settings.state) as store:
        rows = queries.items(store, limit=20)
    key = next(r["key"] for r in rows if r["title"] == served.notices[0].title)
    tree = page(served.base, "/notice/" + urllib.parse.quote(key, safe=""))
    body = [p.text() for p in tree.css("div.body p")]
    assert any("各有关单位" in line for line in body)  # the notice's text, line by line
    marked = [m.text() for m in tree.css("div.body mark")]
    assert marked and all("12月12日" in line for line in marked)  # the line the revision changed, marked
    assert "12月5日" not in " ".join(body)  # the text is the current version's
    # the page's clock is NOW (10:00): the two checks ran at 10:00 and 12:00 the same day
    assert [t.text() for t in tree.css("div.version time")] == ["今天 12:00", "今天 10:00"]
    assert tree.css_first("div.version time").attributes["datetime"].startswith("2026-11-23T12:00")


def test_times_in_words_against_the_clock() -> None:
    now = NOW  # 2026-11-23 10:00 Beijing
    assert when.in_words("2026-11-23T09:12:00+08:00", now) == "今天 09:12"
    assert when.in_words("2026-11-23T01:12:00+00:00", now) == "今天 09:12"  # shown in Beijing time
    assert when.in_words("2026-11-22T18:40:00+08:00", now) == "昨天 18:40"
    assert when.in_words("2026-11-20T08:00:00+08:00", now) == "3 天前"
    assert when.in_words("2026-11-26T08:00:00+08:00", now) == "3 天后"
    assert when.in_words("2026-10-02T08:00:00+08:00", now) == "10月2日"
    assert when.in_words("2025-10-02T08:00:00+08:00", now) == "2025年10月2日"
    assert when.until_words("2026-11-23T10:00:30+08:00", now) == "即将"
    assert when.until_words("2026-11-23T10:12:00+08:00", now) == "12 分钟后"
    assert when.interval(1800, chinese=True) == "每 30 分钟" and when.interval(90) == "90s"


@pytest.fixture
def sources_page(server: LocalServer, tmp_path: Path) -> Iterator[str]:
    """Three sources at the clock's NOW: one checked fine, one whose host refuses, one paused."""
    demo.publish(server, demo.sample_notices(NOW.date()))
    dead = f"http://127.0.0.1:{free_port()}/list.html"
    text = (f"settings:\n  per_host: {{delay: 0}}\n  retries: 0\nsources:\n"
            f"  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n"
            f"  - name: dead\n    url: {dead}\n    interval: 30m\n"
            f"  - name: resting\n    url: {server.url('/resting.html')}\n    interval: 1d\n")  # fmt: skip
    config = config_mod.load("web.yaml", state=str(tmp_path), text=text)
    kit.run_check(config, kit.SteppedClock(NOW - dt.timedelta(days=3)))
    with Store(tmp_path) as store:
        store.pause("resting", server.url("/resting.html"), (NOW - dt.timedelta(hours=2)).isoformat())
    with serving(config) as base:
        yield base


def test_the_sources_page_says_address_interval_next_check_and_last_result(sources_page: str) -> None:
    rows = {
        r.css_first("b").text(): [td.text(strip=True) for td in r.css("td")]
        for r in page(sources_page, "/sources").css("tr.source")
    }
    kjj, dead, resting = rows["kjj"], rows["dead"], rows["resting"]
    assert kjj[0].endswith(demo.LIST_PATH) and kjj[1] == "每 1 小时"
    assert (
        kjj[2] == "即将" and kjj[3] == "正常 · 3 天前" and kjj[5] == "无"
    )  # overdue since the checks stopped
    assert dead[1] == "每 30 分钟" and dead[3] == "出错 · 3 天前" and dead[4] == "1"
    assert dead[5].startswith("cannot connect to 127.0.0.1:") and dead[5].endswith("connection refused")
    assert (
        resting[1] == "每 1 天" and resting[2] == "已暂停（今天 08:00起）" and resting[3] == "出错 · 3 天前"
    )


@BROWSER
def test_the_sources_page_holds_on_a_phone(sources_page: str, browser: object) -> None:
    browser.set_window_size(390, 844)  # type: ignore[attr-defined]
    browser.get(sources_page + "/sources")  # type: ignore[attr-defined]
    scroll = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    widths = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('table.sources td')].map(e => e.getBoundingClientRect().width)"
    )
    assert scroll[0] <= scroll[1], "no sideways scrolling on a phone"
    assert min(widths) > 250, "each value a line of its own, not a column a character wide"
    browser.set_window_size(1200, 900)  # type: ignore[attr-defined]
    heights = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.querySelectorAll('table.sources th')].map(e => e.getBoundingClientRect().height)"
    )
    assert max(heights) < 2 * min(heights), "every heading on one line at desktop width"


def status_of(url: str, password: str | None = None) -> int:
    request = urllib.request.Request(url)
    if password is not None:
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(f"anyone:{password}".encode()).decode()
        )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_password_guards_the_page_and_each_feed_opens_with_its_own_token(
    server: LocalServer, tmp_path: Path
) -> None:
    """WATCHER_PAGE_PASSWORD_FILE (a Docker secret): the page asks for it; `watcher subscribers` prints each
    subscriber's feed address with a token that opens that feed and nothing else. With `page_url`, feed
    entries link to the notice's page on watcher, the original named in the summary."""
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    path = tmp_path / "web.yaml"
    path.write_text(f"settings:\n  per_host: {{delay: 0}}\n  page_url: https://watcher.example.org/\nsources:\n"
                    f"  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n"
                    "subscribers:\n  - name: parks\n    urls: ['json://127.0.0.1:9/x']\n    kinds: [遴选]\n")  # fmt: skip
    (tmp_path / "page_password").write_text("s3cret-pw\n")
    config = config_mod.load(str(path), state=str(tmp_path / "state"))
    kit.run_check(config, kit.SteppedClock(NOW))
    listed = CliRunner().invoke(
        cli, ["--config", str(path), "--state", str(tmp_path / "state"), "subscribers"],
        env={"WATCHER_PAGE_PASSWORD_FILE": str(tmp_path / "page_password")},
    )  # fmt: skip
    feed = next(line.split()[1] for line in listed.output.splitlines() if line.strip().startswith("feed "))
    assert feed.startswith("/feeds/subscribers/parks.xml?token=")
    with serving(config, password="s3cret-pw") as base:
        assert status_of(base + "/") == 401 and status_of(base + "/sources", "wrong") == 401
        assert status_of(base + "/", "s3cret-pw") == 200
        assert status_of(base + feed) == 200  # a feed reader without a password
        assert status_of(base + feed.replace("parks.xml", "../all.xml")) == 401  # that token opens one feed
        assert status_of(base + "/feeds/all.xml?token=" + feed.rsplit("=", 1)[1]) == 401
        parsed = feedparser.parse(urllib.request.urlopen(base + feed, timeout=10).read())
    (entry,) = parsed.entries
    assert entry.title == notices[1].title
    assert entry.link.startswith("https://watcher.example.org/notice/")
    assert f"原文 {server.url(notices[1].path)}" in entry.summary


def test_the_page_served_beyond_loopback_without_a_password_is_warned_of() -> None:
    assert access.exposure_warning("0.0.0.0", None) is not None
    assert "WATCHER_PAGE_PASSWORD" in (access.exposure_warning("192.168.1.5", None) or "")
    assert access.exposure_warning("127.0.0.1", None) is None and access.exposure_warning("::1", None) is None
    assert access.exposure_warning("0.0.0.0", "pw") is None


DOCS = Path(__file__).resolve().parent.parent / "docs"
SHOT_PAGES = ("index", "deadlines", "notice", "sources")
SHOT_SIZES = {"desktop": (1200, 900), "phone": (390, 844)}


def png_width(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")  # IHDR's width


@BROWSER
def test_each_page_holds_at_desktop_and_phone_width_as_the_screenshots_in_docs_show(
    served: Served, browser: object, tmp_path: Path
) -> None:
    """Every page at both widths: no sideways scrolling, no heading broken a character per line, no date
    broken in two; its screenshot taken now has the shape of the one in docs/ (WATCHER_SCREENSHOTS=1
    writes them there: `make screenshots`)."""
    out = DOCS if os.environ.get("WATCHER_SCREENSHOTS") else tmp_path
    with Store(served.config.settings.state) as store:
        rows = queries.items(store, limit=20)
    key = next(r["key"] for r in rows if r["title"] == served.notices[0].title)
    paths = {"index": "/", "deadlines": "/deadlines", "notice": "/notice/" + urllib.parse.quote(key, safe=""),
             "sources": "/sources"}  # fmt: skip
    for size, (width, height) in SHOT_SIZES.items():
        browser.set_window_size(width, height)  # type: ignore[attr-defined]
        for name in SHOT_PAGES:
            browser.get(served.base + paths[name])  # type: ignore[attr-defined]
            scroll = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )  # type: ignore[attr-defined]
            assert scroll[0] <= scroll[1], f"{name} scrolls sideways at {size} width"
            lines = browser.execute_script(  # type: ignore[attr-defined]
                "return [...document.querySelectorAll('th, .deadline, time, .date')].filter(e => e.offsetParent)"
                ".map(e => e.getClientRects().length)"
            )
            assert all(n == 1 for n in lines), (
                f"{name}: a heading or a date broken over lines at {size} width"
            )
            shot = browser.get_screenshot_as_png()  # type: ignore[attr-defined]
            (out / f"page-{name}-{size}.png").write_bytes(shot)
            shipped = DOCS / f"page-{name}-{size}.png"
            assert shipped.exists() and png_width(shipped.read_bytes()) == png_width(shot), shipped
