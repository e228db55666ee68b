"""The schedule in the store: sources synced with the configuration, due sources claimed oldest first with
a lease, claims of a dead daemon given back, and adaptive intervals. Real SQLite files, a real local site."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from watcher import app
from watcher.errors import Outcome
from watcher.localsite import LocalServer
from watcher.models import CheckRecord, Validators
from watcher.schedule import Daemon
from watcher.store import Store, due_iso

from . import kit
from .kit import NOW


def at(seconds: float) -> str:
    return due_iso(NOW + dt.timedelta(seconds=seconds))


def test_sync_adds_parks_and_revives_sources(state: str) -> None:
    with Store(state) as store:
        sync_park_revive(store)


def sync_park_revive(store: Store) -> None:
    def sync(urls: dict[str, str], due: dict[str, float]) -> tuple[int, int]:
        return store.sync_sources(urls, lambda name: at(due[name]))

    assert sync({"a": "http://a.cn/", "b": "http://b.cn/"}, {"a": 10, "b": 20}) == (2, 0)
    assert sync({"a": "http://a.cn/", "c": "http://c.cn/"}, {"a": 99, "c": 5}) == (1, 1)
    rows = {r.name: r.next_due for r in store.sources()}
    assert rows == {"a": at(10), "b": None, "c": at(5)}  # a keeps its time; b parked with its history
    sync({"a": "", "b": "", "c": ""}, {"a": 99, "b": 1, "c": 99})
    assert store.next_due() == at(1)  # b configured again: due at the time it was given


def test_due_sources_are_claimed_oldest_first_and_leased(state: str) -> None:
    with Store(state) as store:
        claim_oldest_first(store)


def claim_oldest_first(store: Store) -> None:
    offsets = {"late": 30, "first": 1, "second": 2, "future": 3600}
    store.sync_sources({name: f"http://{name}.cn/" for name in offsets}, lambda name: at(offsets[name]))
    taken = store.due_sources(at(60), 2, "daemon-1", at(660))
    assert taken == [("first", at(1)), ("second", at(2))]
    assert store.due_sources(at(60), 10, "daemon-2", at(660)) == [("late", at(30))]  # never twice
    assert store.due_sources(at(600), 10, "daemon-2", at(1200)) == []  # leases hold until they run out
    taken_again = store.due_sources(at(700), 10, "daemon-2", at(1300))
    assert {name for name, _ in taken_again} == {"first", "second", "late"}  # the leases ran out


def test_a_claim_hands_its_rows_to_the_checks_first_reads_once(state: str) -> None:
    """The claim reads each source's row and its list's validators for the check that follows: what the
    claim wrote, taken once; a second read, or one for a source not claimed, reads the store."""
    with Store(state) as store:
        urls = {"a": "http://a.cn/", "b": "http://b.cn/"}
        store.sync_sources(urls, lambda name: at(0))
        store.save_check(CheckRecord("a", urls["a"], Outcome.OK, at(0), next_due=at(1),
                                     validators={urls["a"]: Validators('"v1"', None)}))  # fmt: skip
        assert {name for name, _ in store.due_sources(at(5), 10, "d", at(600))} == {"a", "b"}
        row = store.source_row("a")
        assert row is not None and (row.claimed_by, row.next_due, row.status) == ("d", at(600), "ok")
        assert store.validators(urls["a"]) == Validators('"v1"', None)
        assert store.validators(urls["b"]) is None  # held as none: b has no validators
        store.save_check(CheckRecord("a", urls["a"], Outcome.ERROR, at(6), next_due=at(9),
                                     validators={urls["a"]: Validators('"v2"', None)}))  # fmt: skip
        again = store.source_row("a")
        assert again is not None and (again.claimed_by, again.status, again.failures) == (None, "error", 1)
        assert store.validators(urls["a"]) == Validators('"v2"', None)


def test_a_dead_daemons_claims_are_due_again_and_a_check_frees_its_claim(
    server: LocalServer, tmp_path: Path
) -> None:
    """SQLite: the daemon holds the state's lock, so claims it finds at start are a dead one's."""
    server.site.put(
        "/a.html", "<html><head><title>通知</title></head><body><h1>通知</h1><p>正文。</p></body></html>"
    )
    config = kit.load_config(tmp_path, [kit.source("a", server.url("/a.html"), interval="1h")])
    store = Store(tmp_path)
    store.sync_sources({"a": server.url("/a.html")}, lambda name: at(0))
    assert store.due_sources(at(1), 5, "dead", at(600)) == [("a", at(0))]
    assert store.release_sources(at(2)) == 1 and store.next_due() == at(2)  # a successor gives it back
    store.due_sources(at(3), 5, "alive", at(600))
    kit.run_check(config)
    (row,) = store.query("SELECT claimed_by, next_due FROM sources")
    due = dt.datetime.fromisoformat(row["next_due"]) - NOW
    assert row["claimed_by"] is None and dt.timedelta(minutes=54) <= due <= dt.timedelta(minutes=66)


def list_page(count: int) -> str:
    rows = "".join(
        f'<li><a href="/n/{i}.html">关于组织申报第{i}批科技计划项目的通知</a><span>2026-11-{1 + i % 20:02d}</span></li>'
        for i in range(count)
    )
    return f"<html><body><ul>{rows}</ul></body></html>"


def test_an_adaptive_interval_follows_how_often_a_source_publishes(
    server: LocalServer, tmp_path: Path
) -> None:
    server.site.put("/list.html", list_page(10))
    busy = kit.source(
        "busy",
        server.url("/list.html"),
        follow=False,
        interval="auto",
        min_interval="30m",
        max_interval="12h",
    )
    config = kit.load_config(tmp_path, [busy])
    source = config.sources[0]
    clock = kit.SteppedClock()

    async def interval_after_check() -> float:
        async with app.open_checker(config, clock=clock) as checker:
            await checker.check_all()
            return checker.interval_of(source)

    assert source.adaptive and source.interval == 3600
    assert asyncio.run(interval_after_check()) == 12 * 3600  # the first check's catalogue is not news
    for day in range(1, 7):  # then it publishes four notices a day for six days
        clock.now = NOW + dt.timedelta(days=day)
        server.site.put("/list.html", list_page(10 + 4 * day))
        interval = asyncio.run(interval_after_check())
    assert interval == 7 * 86400 / 25  # 24 new in the last week: about every 6.7 hours
    server.site.put("/list.html", list_page(10 + 4 * 6 + 400))
    clock.advance(days=1)
    assert asyncio.run(interval_after_check()) == 30 * 60  # never below its minimum
    clock.advance(days=30)
    assert asyncio.run(interval_after_check()) == 12 * 3600  # silent for a month: its maximum


def test_the_daemon_checks_a_source_once_an_interval_by_its_clock(
    server: LocalServer, tmp_path: Path
) -> None:
    """The daemon in this process on a stepped clock: no check before a source is due, one when it is, and
    the next due an interval later, whatever the date."""
    server.site.put("/a.html", kit.notice_page("关于组织申报科技计划项目的通知"))
    config = kit.load_config(tmp_path, [kit.source("a", server.url("/a.html"), interval="1h", follow=False)])
    clock = kit.SteppedClock(NOW + dt.timedelta(days=400))  # any day
    daemon = Daemon(config, clock=clock)

    async def scenario() -> list[dt.timedelta]:
        running = asyncio.create_task(daemon.run())
        store = Store(tmp_path)
        try:
            await until(lambda: store.next_due() is not None)
            gaps = []
            for _ in range(2):
                due = dt.datetime.fromisoformat(store.next_due() or "")
                assert server.site.hits["/a.html"] == len(gaps)  # not due yet: not checked
                gaps.append(due - clock())
                clock.now = due  # the clock reaches the due time: checked within the dispatcher's tick
                await until(lambda: sum(daemon.stats.checks.values()) == len(gaps))
            return gaps
        finally:
            daemon.stopping.set()
            await running
            store.close()

    first, second = asyncio.run(scenario())
    assert (
        dt.timedelta(0) <= first <= dt.timedelta(hours=1)
    )  # start-up spreads first checks over the interval
    assert dt.timedelta(minutes=54) <= second <= dt.timedelta(minutes=66)  # then every hour, ±10%
    assert server.site.hits["/a.html"] == 2 and daemon.stats.checks == {"ok": 1, "not_modified": 1}


async def until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll `condition` while the event loop runs the daemon; fail after `timeout` seconds."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def test_a_changed_interval_moves_the_due_time_and_a_paused_source_is_passed_over(state: str) -> None:
    with Store(state) as store:
        steer(store)


def steer(store: Store) -> None:
    store.sync_sources({"a": "http://a.cn/", "b": "http://b.cn/", "c": "http://c.cn/"}, lambda n: at(0))
    assert store.sync_intervals({"a": 3600, "b": 3600, "c": 60}, NOW) == []  # first seen: remembered only
    store.conn.execute("UPDATE sources SET last_check=?, next_due=?", [at(-600), at(3000)])  # checked
    # an hour → two hours: due twice as far from the last check; a minute → a second: not in the past
    assert sorted(store.sync_intervals({"a": 7200, "b": 3600, "c": 1}, NOW)) == ["a", "c"]
    due = {r.name: r.next_due for r in store.sources()}
    assert due == {"a": at(-600 + 2 * 3600), "b": at(3000), "c": at(0)}
    assert store.sync_intervals({"a": 7200, "b": 3600, "c": 1}, NOW) == []  # unchanged: nothing moves
    store.pause("c", "http://c.cn/", at(0))
    store.pause("new", "http://new.cn/", at(0))  # paused before a daemon ever saw it
    assert store.due_sources(at(60), 10, "d", at(600)) == []  # c is due but paused
    assert store.next_due() == at(3000)  # a paused source never wakes the dispatcher
    store.pause("c", "http://c.cn/", None)
    assert store.due_sources(at(60), 10, "d", at(600)) == [("c", at(0))]
    store.pause("b", "http://b.cn/", at(0))
    # `watcher check` beside a daemon: due now, except one being checked (c, claimed) or paused (b)
    assert store.check_now(["a", "b", "c"], at(1)) == ["a"]
    assert store.due_sources(at(2), 10, "d", at(600)) == [("a", at(1))]
