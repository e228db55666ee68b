"""The store's one write per check: health counters, item upserts, the outbox's deterministic ids, and
the group commit of checks that finish together."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from watcher.config import Source
from watcher.errors import StoreError
from watcher.models import AlertRow, Validators
from watcher.store import CheckRecord, GroupCommit, Store


def test_health_counts_failures_and_a_success_resets_them(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-23T10:00:00+08:00", item_count=5))
    for hour in (11, 12):
        store.save_check(
            CheckRecord("s", "http://a", "error", error="boom", at=f"2026-11-23T{hour}:00:00+08:00")
        )
    row = store.source_row("s")
    assert row is not None
    assert (row.failures, row.last_success, row.item_count, row.error) == (
        2, "2026-11-23T10:00:00+08:00", 5, "boom",
    )  # fmt: skip
    store.save_check(CheckRecord("s", "http://a", "not_modified", at="2026-11-23T13:00:00+08:00"))
    row = store.source_row("s")
    assert row is not None and row.failures == 0 and row.last_success == "2026-11-23T13:00:00+08:00"


def test_items_keep_their_list_and_first_sight(tmp_path: Path) -> None:
    store = Store(tmp_path)
    item = {"key": "k", "source": "s", "url": "http://a/k", "title": "T", "on_list": 1}
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-01T00:00:00+08:00", items=[item]))
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-02T00:00:00+08:00", removed=["k"]))
    removed = store.item("k")
    assert removed is not None and removed.removed_at and removed.on_list == 0
    related = {"key": "k", "source": "s", "on_list": 0}  # seen again, as another notice's related link
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-03T00:00:00+08:00", items=[related]))
    again = store.item("k")
    assert again is not None and again.removed_at is None and again.title == "T"
    assert again.first_seen == "2026-11-01T00:00:00+08:00" and (again.last_seen or "").startswith(
        "2026-11-03"
    )
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-04T00:00:00+08:00", items=[item]))
    store.save_check(CheckRecord("s", "http://a", "ok", at="2026-11-05T00:00:00+08:00", items=[related]))
    listed = store.item("k")
    assert listed is not None and listed.on_list == 1  # a related sighting never takes it off its list


def test_an_alert_id_is_written_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    row = AlertRow("a1", "x", "c", status="pending", attempts=0, created="2026-11-23T10:00:00+08:00",
                   due="2026-11-23T10:00:00+08:00", payload="{}")  # fmt: skip
    assert store.add_alerts([row, replace(row)]) == 1
    store.mark_sent(["a1"], "2026-11-23T10:01:00+08:00")
    assert store.add_alerts([replace(row)]) == 0
    assert store.alert_counts() == {"sent": 1}


def test_group_commit_writes_together_and_a_bad_check_fails_alone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    writes = GroupCommit(store, delay=0.05, most=8)
    transactions: list[str] = []
    store.conn.set_trace_callback(lambda sql: transactions.append(sql) if sql == "COMMIT" else None)
    bad = AlertRow("a1", payload={"not": "a column value"})  # type: ignore[arg-type]  # sqlite3 cannot bind a dict: the write fails

    async def run() -> list[BaseException | None]:
        records = [CheckRecord(f"s{i}", "http://a", "ok", at="2026-11-23T10:00:00+08:00") for i in range(5)]
        records[2].alerts.append(bad)
        return await asyncio.gather(*(writes.save(r) for r in records), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert [o is None for o in outcomes] == [True, True, False, True, True]
    assert isinstance(outcomes[2], StoreError), outcomes[2]
    assert sorted(row.name for row in store.sources()) == ["s0", "s1", "s3", "s4"]
    assert store.alert_counts() == {}  # the bad check left nothing behind, not even its source row
    assert len(transactions) == 4  # the failed group rolled back, then the four good checks one by one

    transactions.clear()

    async def together() -> None:
        await asyncio.gather(
            *(
                writes.save(CheckRecord(f"t{i}", "http://a", "ok", at="2026-11-23T10:00:00+08:00"))
                for i in range(20)
            )
        )

    asyncio.run(together())
    assert len(transactions) == 3 and len(store.sources()) == 24  # 8 + 8 at the cap, 4 after the delay


def test_a_run_reads_every_source_once_and_a_shared_list_as_before(tmp_path: Path) -> None:
    store = Store(tmp_path)
    lists = {f"http://a/{i}": Validators(f'"e{i}"', None) for i in range(1200)}  # past one query's 500
    store.save_check(CheckRecord("s1", "http://a/1", "ok", at="2026-11-01T00:00:00+08:00", validators=lists))
    assert store.validators_of([*lists, "http://a/none"]) == lists
    shared = [Source(name=n, url="http://a/7") for n in ("s7", "t7")]
    run = [Source(name="s1", url="http://a/1"), Source(name="s2", url="http://a/2"), *shared]
    stored = {row.name: row for row in store.sources()}
    store.hold({s.name: stored.get(s.name) for s in run}, (s.url for s in run))  # as check_all does
    store.save_check(CheckRecord("s1", "http://a/1", "error", at="2026-11-02T00:00:00+08:00"))
    store.save_check(CheckRecord("s2", "http://a/2", "ok", at="2026-11-02T00:00:00+08:00"))
    store.save_check(CheckRecord("t7", "http://a/7", "ok", at="2026-11-02T00:00:00+08:00",
                                 validators={"http://a/7": Validators('"new"', None)}))  # fmt: skip
    row = store.source_row("s1")  # as the run found it
    assert row is not None and row.status == "ok" and store.source_row("s2") is None
    assert store.validators("http://a/2") == Validators('"e2"', None)
    assert store.validators("http://a/7") == Validators('"new"', None)  # two sources' list: read when asked
    again = store.source_row("s1")  # handed out once: a second ask reads the store
    assert again is not None and again.status == "error"
