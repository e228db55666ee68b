"""Change tracking against a real local server whose content moves through rounds."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme

from watcher import config as config_mod
from watcher import demo, queries
from watcher.app import check_sources
from watcher.fetch import Fetcher
from watcher.localsite import LocalServer
from watcher.models import Extracted, SourceResult
from watcher.pipeline import Checker
from watcher.store import Store

from . import kit
from .conftest import FIXTURES
from .kit import NOW


def load(server: LocalServer, state: Path, *others: dict[str, Any]) -> config_mod.Config:
    """The demo list and `others`; a 2 s timeout is generous enough for a loaded CI machine (the hanging
    host waits longer)."""
    return kit.load_config(state, [kit.demo_source(server), *others], timeout=2, retries=1)


def kinds(result: SourceResult) -> list[tuple[str, str]]:
    return sorted((c.kind, c.title) for c in result.changes)


def test_three_rounds_and_a_restart(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    config = load(server, tmp_path)

    first = kit.run_check(config)["kjj"]
    assert first.status == "ok"
    assert kinds(first) == sorted(("new", n.title) for n in notices)

    statuses_before = server.site.statuses[304]
    second = kit.run_check(config)["kjj"]  # a fresh Store each run: the state survives a restart
    assert second.status == "not_modified" and second.changes == []
    assert server.site.statuses[304] > statuses_before

    fresh = demo.next_round(notices)
    demo.publish(server, fresh)
    third = kit.run_check(config)["kjj"]
    got = {(c.kind, c.title): c.what for c in third.changes}
    assert got == {
        ("new", fresh[0].title): (),
        ("changed", notices[0].title): ("body", "attachments", "deadline"),
        ("changed", notices[1].title): ("attachments",),
    }
    fourth = kit.run_check(config)["kjj"]  # the counter keeps ticking on the server side: still nothing
    assert fourth.changes == []

    revised = next(c for c in third.changes if c.what == ("body", "attachments", "deadline"))
    store = Store(tmp_path)
    history = store.versions_of(revised.key)
    assert [v.change for v in history] == ["new", "changed"]
    assert "截止时间顺延" in history[1].diff
    assert (store.evidence(history[1].id) or b"").startswith(b"<!DOCTYPE html>")


def test_counter_tick_on_gbk_page_is_not_a_change(server: LocalServer, tmp_path: Path) -> None:
    page = (FIXTURES / "pages" / "seed000_trad_gbk.html").read_bytes()
    server.site.put("/news/a.html", page, conditional=False)
    config = kit.load_config(tmp_path, [kit.source("s", server.url("/news/a.html"), follow=False)])
    assert [c.kind for c in kit.run_check(config)["s"].changes] == ["new"]
    server.site.put(
        "/news/a.html",
        page.replace("點擊:1885".encode("gb18030"), "點擊:1886".encode("gb18030")),
        conditional=False,
    )
    again = kit.run_check(config)["s"]
    assert again.status == "ok" and again.changes == []


def test_faults_fail_one_source_alone(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    server.site.put("/hang.html", b"<html></html>", delay=6)
    server.site.put("/500.html", b"oops", status=500)
    server.site.put("/loop.html", b"", status=302, headers={"Location": "/loop.html"})
    server.site.put("/challenge.html", (FIXTURES / "pages" / "challenge.html").read_bytes(), status=412)
    with socket.socket() as probe:  # a port nothing listens on: a dead host
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    faulty = [
        kit.source("hang", server.url("/hang.html")),
        kit.source("e500", server.url("/500.html")),
        kit.source("loop", server.url("/loop.html")),
        kit.source("bot", server.url("/challenge.html")),
        kit.source("dead", dead),
    ]
    config = load(server, tmp_path, *faulty)
    results = kit.run_check(config)
    assert results["kjj"].status == "ok" and len(results["kjj"].changes) == 4
    assert results["hang"].status == "error" and "time" in (results["hang"].error or "")
    assert results["e500"].status == "error" and results["e500"].error == "HTTP 500"
    assert results["loop"].status == "error" and "redirect" in (results["loop"].error or "")
    assert results["bot"].status == "blocked"
    port = dead.rsplit(":", 1)[1].strip("/")  # in watcher's words, not aiohttp's `ssl:default [Connect call…`
    assert (
        results["dead"].status == "error"
        and results["dead"].error == f"cannot connect to 127.0.0.1:{port}: connection refused"
    )
    assert server.site.hits["/500.html"] == 2  # retried once, then given up
    rows = {r.name: r for r in Store(tmp_path).sources()}
    assert rows["e500"].failures == 1 and rows["kjj"].failures == 0
    due = dt.datetime.fromisoformat(rows["e500"].next_due or "")
    assert abs(due - NOW - dt.timedelta(hours=2)) <= dt.timedelta(minutes=5)  # twice the interval, ±5 min


def test_an_unforeseen_error_fails_its_source_alone(server: LocalServer, tmp_path: Path) -> None:
    """Whatever a step raises, the other sources are checked and the run ends; nothing half-written."""
    demo.publish(server, demo.sample_notices(NOW.date()))
    server.site.put("/other.html", (FIXTURES / "pages" / "call_notice.html").read_bytes())
    config = load(server, tmp_path, kit.source("other", server.url("/other.html")))

    def classify(x: Extracted, source: str) -> dict[str, object] | None:
        if source == "kjj":
            raise KeyError("a bug in a classifier")
        return None

    async def run_both() -> dict[str, SourceResult]:
        store = Store(config.settings.state)
        async with Fetcher(config.fetch_settings()) as fetcher:
            checker = Checker(config, store, fetcher, classify=classify, clock=lambda: NOW)
            return {r.name: r for r in await checker.check_all()}

    results = asyncio.run(run_both())
    assert results["kjj"].status == "error" and "unexpected KeyError" in (results["kjj"].error or "")
    assert results["kjj"].changes == [] and results["other"].status == "ok"
    store = Store(tmp_path)
    assert (
        store.items_on_list("kjj") == {}
        and (row := store.source_row("kjj")) is not None
        and row.failures == 1
    )


def test_broken_certificate_fails_unless_the_source_opts_out(tmp_path: Path) -> None:
    """A site whose certificate no one vouches for (as some government sites' are): refused by default,
    read when its source says `verify_tls: false`; the two sources share one fetcher."""
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    with LocalServer(tls=tls) as https:
        demo.publish(https, demo.sample_notices(NOW.date()))
        # the same list under another address (one source per URL): the site ignores the query
        config = load(
            https, tmp_path, kit.source("lax", https.url(demo.LIST_PATH) + "?lax", verify_tls=False)
        )
        results = kit.run_check(config)
    assert https.base.startswith("https://")
    assert results["kjj"].status == "error" and "certificate" in (results["kjj"].error or "").lower()
    assert results["lax"].status == "ok" and len(results["lax"].changes) == 4
    assert "verify_tls: false" in (results["kjj"].error or "")


def test_empty_list_and_challenge_are_health_events_not_removals(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    config = load(server, tmp_path)
    kit.run_check(config)
    server.site.put(demo.LIST_PATH, "<html><body><p>网站改版中</p></body></html>")
    broken = kit.run_check(config)["kjj"]
    assert broken.status == "error" and "yielded no entries" in (broken.error or "")
    assert broken.changes == []
    server.site.put(demo.LIST_PATH, (FIXTURES / "pages" / "challenge.html").read_bytes(), status=412)
    assert kit.run_check(config)["kjj"].status == "blocked"
    store = Store(tmp_path)
    assert store.query("SELECT count(*) AS n FROM items WHERE removed_at IS NOT NULL")[0]["n"] == 0
    demo.publish(server, notices)
    healed = kit.run_check(config)["kjj"]
    assert healed.status == "ok" and healed.changes == []


def test_removed_entries_are_recorded(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    config = load(server, tmp_path)
    kit.run_check(config)
    demo.publish(server, notices[:3])
    result = kit.run_check(config)["kjj"]
    assert [(c.kind, c.title) for c in result.changes] == [("removed", notices[3].title)]


def test_check_stores_classification_and_items_filter_on_it(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    kit.run_check(load(server, tmp_path))
    store = Store(tmp_path)
    guangfo = queries.items(store, programme="guangfo")
    assert [r["title"] for r in guangfo] == [notices[0].title]
    version = store.versions_of(guangfo[0]["key"])[0]
    assert (version.classification or {})["kind"] == "申报"
    assert (version.classification or {})["deadline"] is not None
    assert [r["title"] for r in queries.items(store, programme="kczg")] == [notices[1].title]
    assert [r["title"] for r in queries.search(store, "廣佛科技")] == [notices[0].title]  # Traditional query


def test_progress_hears_of_every_source(server: LocalServer, tmp_path: Path) -> None:
    demo.publish(server, demo.sample_notices(NOW.date()))
    config = load(server, tmp_path, kit.source("gone", server.url("/nope.html")))
    seen: list[tuple[str, str]] = []
    asyncio.run(check_sources(config, clock=lambda: NOW, progress=lambda r: seen.append((r.name, r.status))))
    assert sorted(seen) == [("gone", "error"), ("kjj", "ok")]


def test_the_log_line_of_a_failed_check_says_why_without_counters(
    server: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`check dead: error … errors=0` read as a contradiction: a failed check logs its reason alone."""
    demo.publish(server, demo.sample_notices(NOW.date()))
    server.site.put("/gone.html", b"", status=404)
    config = load(server, tmp_path, kit.source("gone", server.url("/gone.html")))
    with caplog.at_level(logging.INFO, logger="watcher.check"):
        kit.run_check(config)
    lines = {
        r.getMessage().split(":")[0]: r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("check")
    }
    assert lines["check gone"].startswith("check gone: error (HTTP 404) after ")
    assert "errors=" not in lines["check gone"] and "new=" not in lines["check gone"]
    assert lines["check kjj"].startswith("check kjj: ok new=4 changed=0 fetched=")
    assert "errors=" not in lines["check kjj"]  # no entry failed: nothing to count
