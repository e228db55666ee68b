"""The check's rules as pure functions, table by table: list planning, the schedule, versioning. No server, no store."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from watcher.cadence import adaptive_interval, failures_after, next_due, seeded_jitter
from watcher.diff import Snapshot, canonical_url, item_key
from watcher.listplan import is_recent, link_of, plan_list, plan_recheck
from watcher.models import Attachment, DateValue, ItemRow, Link, VersionRow
from watcher.normalize import parse_date
from watcher.versioning import Seen, next_version

from .kit import NOW

TODAY = NOW.date()


def link(key: str, date: str | None = None) -> Link:
    return Link(f"title {key}", f"http://bureau.example/{key}.html", parse_date(date) if date else None)


def row(key: str, read: bool = True, date: str | None = None) -> ItemRow:
    return ItemRow(key, url=f"http://bureau.example/{key}.html", title=f"title {key}", date=date,
                   version_id=f"v-{key}" if read else None)  # fmt: skip


def recent_within_30(date: DateValue | None) -> bool:
    return is_recent(date, TODAY, 30)


OLD, NEW = "2026-09-01", "2026-11-20"  # 83 days before NOW, and 3


@pytest.mark.parametrize(
    ("case", "current", "known", "follow", "max_follow", "elsewhere", "todo", "backlog", "unread", "removed"),
    [
        ("first check reads all", ["a", "b", "c"], [], True, 30, (), ["a", "b", "c"], [], [], []),
        ("first check past max_follow", ["a", "b", "c"], [], True, 2, (), ["a", "b"], [], ["c"], []),
        ("no follow takes fresh only", ["a", "b"], [row("a", date=NEW)], False, 30, (), ["b"], [], ["a"], []),
        ("a fresh entry and a removed one", ["n", "a"], [row("a", date=OLD), row("gone")], True, 30, (),
         ["n"], [], ["a"], ["gone"]),
        ("recent known notices are rechecked", ["a", "b"], [row("a", date=NEW), row("b", date=OLD)], True, 30, (),
         ["a"], [], ["b"], []),
        ("undated known notices count as recent", ["a"], [row("a")], True, 30, (), ["a"], [], [], []),
        ("backlog read oldest first, after fresh", ["n", "u1", "u2"], [row("u1", read=False), row("u2", read=False)],
         True, 30, (), ["n", "u2", "u1"], ["u1", "u2"], [], []),
        ("backlog before rechecks, within the cap", ["r", "u"], [row("r", date=NEW), row("u", read=False)], True, 1,
         (), ["u"], ["u"], ["r"], []),
        ("known elsewhere is not fresh", ["a", "b"], [], True, 30, ("b",), ["a"], [], ["b"], []),
    ],
)  # fmt: skip
def test_plan_list(
    case: str, current: list[str], known: list[ItemRow], follow: bool, max_follow: int,
    elsewhere: tuple[str, ...], todo: list[str], backlog: list[str], unread: list[str], removed: list[str],
) -> None:  # fmt: skip
    plan = plan_list(
        {k: link(k) if k not in {r.key for r in known} else link_of(next(r for r in known if r.key == k))
         for k in current},
        {r.key: r for r in known}, follow=follow, max_follow=max_follow, recent=recent_within_30,
        elsewhere=elsewhere,
    )  # fmt: skip
    assert [k for k, _ in plan.todo] == todo, case
    assert sorted(plan.backlog) == backlog, case
    assert list(plan.unread) == unread, case
    assert list(plan.removed) == removed, case


def test_a_changed_layout_removes_nothing() -> None:
    plan = plan_list({"n": link("n")}, {"old": row("old")}, follow=True, max_follow=30, recent=recent_within_30,
                     layout_changed=True)  # fmt: skip
    assert plan.removed == () and [k for k, _ in plan.todo] == ["n"]


@pytest.mark.parametrize(
    ("known", "max_follow", "expected"),
    [
        ([row("a", date=NEW), row("b", date=OLD)], 30, [("a", False)]),
        ([row("u1", read=False), row("a", date=NEW), row("u2", read=False)], 30, [("u2", True), ("u1", True),
                                                                                  ("a", False)]),
        ([row("u1", read=False), row("a", date=NEW), row("u2", read=False)], 2, [("u2", True), ("u1", True)]),
        ([row("a")], 30, [("a", False)]),
        ([replace(row("x", read=False), url=None)], 30, []),  # an entry with no address is not fetched
    ],
)  # fmt: skip
def test_plan_recheck(known: list[ItemRow], max_follow: int, expected: list[tuple[str, bool]]) -> None:
    todo = plan_recheck(known, max_follow=max_follow, recent=recent_within_30)
    assert [(r.key, backlog) for r, backlog in todo] == expected


@pytest.mark.parametrize(
    ("date", "days", "recent"),
    [
        (None, 0, True),
        (NEW, 30, True),
        (OLD, 30, False),
        (OLD, 83, True),
        (OLD, 82, False),
        ("2026-11-23", 0, True),
    ],
)
def test_is_recent(date: str | None, days: int, recent: bool) -> None:
    assert is_recent(parse_date(date) if date else None, TODAY, days) is recent


def still(low: float, high: float) -> float:
    return 0.0


def latest(low: float, high: float) -> float:
    return high


@pytest.mark.parametrize(
    ("interval", "failures", "jitter", "hours"),
    [
        (3600, 0, still, 1.0),
        (1800, 0, latest, 0.55),  # a tenth either way
        (6 * 3600, 0, latest, 6 + 5 / 60),  # at most five minutes
        (3600, 1, still, 2.0),
        (3600, 3, still, 8.0),
        (3600, 10, still, 24.0),  # the backoff stops at a day
        (3 * 86400, 2, still, 72.0),  # an interval over a day is its own cap
    ],
)
def test_next_due(interval: float, failures: int, jitter: Any, hours: float) -> None:
    due = next_due(NOW, interval, failures, jitter)
    assert due - NOW == dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    ("ok", "before", "after"), [(True, 0, 0), (True, 5, 0), (False, 0, 1), (False, 4, 5)]
)
def test_failures_after(ok: bool, before: int, after: int) -> None:
    assert failures_after(ok, before) == after


@pytest.mark.parametrize(
    ("fresh", "least", "most", "hours"),
    [(0, 600, 7 * 86400, 168.0), (6, 600, 7 * 86400, 24.0), (167, 600, 7 * 86400, 1.0),
     (10_000, 600, 7 * 86400, 600 / 3600), (0, 600, 86400, 24.0)],
)  # fmt: skip
def test_adaptive_interval(fresh: int, least: float, most: float, hours: float) -> None:
    assert adaptive_interval(fresh, least, most) == pytest.approx(hours * 3600)


# ---------------------------------------------------------------- versioning

BODY = "申报时间：2026年11月18日至2026年12月5日17:00，逾期不予受理。"
GUIDE = Attachment("申报指南.docx", "http://bureau.example/guide.docx")


def seen(text: str = BODY, attachments: tuple[Attachment, ...] = (), first: bool = False) -> Seen:
    snap = Snapshot("关于组织申报的通知", text, attachments)
    return Seen("s", "bureau.example/post_1234", "http://bureau.example/post_1234.html", snap,
                link("post_1234", NEW), None, True, first)  # fmt: skip


def stored(s: Seen, version_id: str = "v1", fingerprint: str | None = None) -> ItemRow:
    return ItemRow(s.key, fingerprint=fingerprint or s.snap.fingerprint, version_id=version_id)


def previous_of(s: Seen) -> VersionRow:
    return VersionRow("v0", s.key, s.snap.fingerprint, "", "new", [], "", s.snap.title, s.url, None, None, None,
                      s.snap.deadline, None, [a.to_json() for a in s.snap.attachments], [], s.snap.text, "")  # fmt: skip


READ = replace(GUIDE, sha="abc123")
MOVED = BODY.replace("12月5日", "12月12日")


@pytest.mark.parametrize(
    ("case", "now", "old", "before", "kind", "what", "versioned"),
    [
        ("a notice never seen", seen(), None, None, "new", (), True),
        ("as it was", seen(), stored(seen()), None, None, None, False),
        ("body revised", seen(MOVED), stored(seen()), previous_of(seen()), "changed", ("body",), True),
        ("an attachment added", seen(attachments=(GUIDE,)), stored(seen()), previous_of(seen()), "changed",
         ("attachments",), True),
        ("only noise moved the fingerprint", seen(), stored(seen(), fingerprint="stale"), previous_of(seen()),
         None, None, False),
        ("an attachment read for the first time: a quiet version", seen(attachments=(READ,)),
         stored(seen(attachments=(GUIDE,))), previous_of(seen(attachments=(GUIDE,))), None, None, True),
        ("an old item without a version is new", seen(), stored(seen(), version_id="", fingerprint="x"), None,
         "new", (), True),
    ],
)  # fmt: skip
def test_next_version(
    case: str, now: Seen, old: ItemRow | None, before: VersionRow | None, kind: str | None,
    what: tuple[str, ...] | None, versioned: bool,
) -> None:  # fmt: skip
    asked: list[str] = []
    v = next_version(now, old, before, NOW, classify=lambda: asked.append("classify") or None)  # type: ignore[func-returns-value]
    assert (v.change.kind if v.change else None, v.change.what if v.change else None) == (kind, what), case
    assert (v.version is not None) == versioned, case
    assert v.item["fingerprint"] == now.snap.fingerprint and v.item["on_list"] == 1
    assert ("version_id" in v.item) == versioned
    assert asked == [], "classification is asked only of a page's notice (x), never of an entry"
    if v.version:
        assert v.version.seen_at == "2026-11-23T10:00:00+08:00" and v.version.change == (kind or "changed")


def test_a_version_id_depends_on_the_one_before() -> None:
    """A → B → A: the second A is a version of its own, with an id of its own, and the same on a re-run."""
    a = seen()
    first = next_version(a, None, None, NOW)
    again = next_version(a, stored(seen(MOVED), "vB"), previous_of(seen(MOVED)), NOW)
    assert first.version and again.version and again.change and again.change.kind == "changed"
    assert first.version.id != again.version.id
    assert (
        next_version(a, stored(seen(MOVED), "vB"), previous_of(seen(MOVED)), NOW).version.id
        == again.version.id
    )  # type: ignore[union-attr]


def test_first_check_changes_are_marked() -> None:
    v = next_version(seen(first=True), None, None, NOW)
    assert v.change is not None and v.change.first_check and v.change.date == NEW


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://kjj.gz.gov.cn/tzgg/202306/t20230608_101987.html", "kjj.gz.gov.cn/t20230608_101987"),
        ("https://WWW.Example.GOV.cn/a/post_12345.html#top", "example.gov.cn/post_12345"),
        ("http://example.cn/Content_98765.shtml", "example.cn/content_98765"),
        ("http://example.cn", "example.cn/"),
        ("http://example.cn/通知/公告.html", "example.cn/通知/公告.html"),
        ("http://example.cn:80/a.html", "example.cn/a.html"),
        ("http://example.cn:8080/a.html", "example.cn:8080/a.html"),
        ("http://example.cn/a/post_12345.html?utm_source=x", "example.cn/post_12345"),
        ("http://example.cn/a.html?b=2&a=1&t=9", "example.cn/a.html?a=1&b=2"),
        ("http://user@example.cn/a.html", "example.cn/a.html"),
        (" http://Example.cn/a\t.html ", "example.cn/a.html"),
        ("http://example.cn/a.html#frag\nment", "example.cn/a.html"),
    ],
)
def test_item_key(url: str, key: str) -> None:
    """An address's identity, the plain ones read without urlsplit agreeing with the canonical form."""
    assert item_key(url) == key
    assert item_key(canonical_url(url)) == key


@pytest.mark.parametrize("url", ["http://example.cn:99999/a.html", "http://[::1/a.html"])
def test_an_address_without_an_identity_says_so(url: str) -> None:
    with pytest.raises(ValueError):
        item_key(url)


def test_a_seeded_jitter_is_the_same_everywhere_and_spreads_sources_evenly() -> None:
    seed = f"kjj@{NOW.isoformat()}"
    assert seeded_jitter(seed)(-300, 300) == seeded_jitter(seed)(-300, 300)  # any process, any store
    draws = [seeded_jitter(f"s{i}@{NOW.isoformat()}")(-300, 300) for i in range(2000)]
    assert all(-300 <= d < 300 for d in draws)
    tenths = [sum(1 for d in draws if -300 + 60 * k <= d < -240 + 60 * k) for k in range(10)]
    assert min(tenths) > 150 and max(tenths) < 250, tenths  # about 200 each: sources drift apart
