"""The read side on both stores: queries.py, the page and feeds, and the read commands give the same answers
on SQLite and on PostgreSQL; a dry run and `watcher state …` on PostgreSQL; store errors as StoreErrors.
A real local site checked twice (revisions in the second round), real SQLite files, a real PostgreSQL
server, the page on a real uvicorn server, every date from the fixed NOW."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from watcher import config as config_mod
from watcher import demo, queries
from watcher.errors import StoreError
from watcher.localsite import LocalServer
from watcher.state import sqlite_errors
from watcher.store import Store, explain

from . import kit
from .kit import NOW
from .pg import Cluster
from .test_web import serving


@dataclass
class Site:
    server: LocalServer
    config_file: Path
    notices: list[demo.DemoNotice] = field(default_factory=lambda: demo.sample_notices(NOW.date()))

    def config(self, state: str) -> config_mod.Config:
        return config_mod.load(str(self.config_file), state=state)


@pytest.fixture
def site(server: LocalServer, tmp_path: Path) -> Site:
    """The demo site; states are built from it by `checked`."""
    parks = kit.subscriber("parks", "json://127.0.0.1:9/x")
    return Site(server, kit.write_config(tmp_path / "watcher.yaml", [kit.demo_source(server)], [parks]))


def checked(site: Site, state: str) -> str:
    """Two checks of the demo site into `state`: four notices at NOW, then a round of revisions and a new
    notice two hours on. The site starts afresh for each state (the round revises its notices in place)."""
    notices = demo.sample_notices(NOW.date())
    demo.publish(site.server, notices)
    kit.run_check(site.config(state))
    demo.publish(site.server, demo.next_round(notices))
    kit.run_check(site.config(state), kit.SteppedClock(NOW.replace(hour=12)))
    return state


def answers(state: str) -> dict[str, Any]:
    """Every question queries.py answers, asked of one state."""
    since = NOW.replace(hour=11).isoformat()  # between the two checks
    with Store(state) as store:
        listed = queries.listed(store)
        key = next(n.key for n in listed if n.versions > 1)
        return {
            "items": queries.items(store),
            "items --programme kczg": queries.items(store, programme="kczg"),
            "items --programme guangfo": queries.items(store, programme="guangfo"),
            "items --programme none": queries.items(store, programme="no-such-programme"),
            "items --since": queries.items(store, since=since),
            "items --changed": queries.items(store, changed=True),
            "items --source --limit": queries.items(store, source="kjj", limit=2),
            "search 廣佛": queries.search(store, "廣佛"),
            "search none": queries.search(store, "没有这样的通知"),
            "history": [
                {k: v for k, v in asdict(h).items() if k != "seq"} for h in queries.history(store, key)
            ],
            "listed": listed,
            "listed guangfo": queries.listed(store, programme="guangfo"),
            "listed deadlines": queries.listed(store, deadline_from=NOW.date().isoformat()),
            "one": queries.one(store, key),
            "alerts": [{k: v for k, v in asdict(a).items() if k != "claimed_at"} for a in store.alerts()],
            "alert counts": store.alert_counts(),
        }


def test_every_query_answers_alike_on_sqlite_and_postgresql(
    site: Site, tmp_path: Path, pg_cluster: Cluster
) -> None:
    lite = answers(checked(site, str(tmp_path / "state")))
    pg = answers(checked(site, pg_cluster.new_database()))
    for question, answer in lite.items():
        assert pg[question] == answer, question
    titles = lambda rows: [r["title"] for r in rows]  # noqa: E731
    first, parks, published, festival = site.notices
    fresh = "关于下达2026年广州国际科技产业创新中心建设专项资金的通知"
    assert titles(lite["items"]) == [fresh, first.title, parks.title, published.title, festival.title]
    assert titles(lite["items --programme kczg"]) == [parks.title]
    assert first.title in titles(lite["items --programme guangfo"]) and lite["items --programme none"] == []
    assert titles(lite["items --since"]) == [fresh]
    assert sorted(titles(lite["items --changed"])) == sorted([first.title, parks.title])
    assert [r["versions"] for r in lite["items --changed"]] == [2, 2]
    assert titles(lite["items --source --limit"]) == titles(lite["items"])[:2]
    assert first.title in titles(lite["search 廣佛"]) and lite["search none"] == []
    assert [h["change"] for h in lite["history"]] == ["new", "changed"]
    assert [n.data.title for n in lite["listed guangfo"]] == titles(lite["items --programme guangfo"])
    deadlines = [n.data.deadline for n in lite["listed deadlines"]]
    assert deadlines == sorted(deadlines) and len(deadlines) == 2  # the call's and the selection's
    assert lite["one"] is not None and lite["one"].versions == 2
    assert lite["alert counts"] == {"pending": len(lite["alerts"])} and lite["alerts"]


def invoke(config: Path, state: str, *args: str) -> Result:
    return kit.invoke(kit.SteppedClock(), "--config", str(config), "--state", state, *args)


READ_COMMANDS = [
    ("items",), ("items", "--json"), ("items", "--programme", "kczg"), ("items", "--programme", "guangfo"),
    ("items", "--since", NOW.date().isoformat()), ("items", "--changed"), ("search", "廣佛"),
    ("alerts",), ("alerts", "--pending", "--json"), ("sources",),
]  # fmt: skip


def test_the_read_commands_print_alike_on_sqlite_and_postgresql(
    site: Site, tmp_path: Path, pg_cluster: Cluster
) -> None:
    lite, pg = checked(site, str(tmp_path / "state")), checked(site, pg_cluster.new_database())
    for command in READ_COMMANDS:
        on_lite, on_pg = invoke(site.config_file, lite, *command), invoke(site.config_file, pg, *command)
        assert on_lite.exit_code == on_pg.exit_code == 0, (command, on_lite.output, on_pg.output)
        assert on_pg.output == on_lite.output, command
    rows = json.loads(invoke(site.config_file, pg, "items", "--json").output)
    revised = next(r for r in rows if r["title"] == site.notices[0].title)
    assert revised["versions"] == 2
    for item in (revised["key"], revised["url"]):  # by key and by address
        history = [invoke(site.config_file, state, "history", item).output for state in (lite, pg)]
        assert history[0] == history[1] and "changed" in history[0] and "附件1" in history[0]
    kczg = invoke(site.config_file, pg, "items", "--programme", "kczg").output
    assert site.notices[1].title in kczg and site.notices[0].title not in kczg
    assert "1 found" in invoke(site.config_file, pg, "search", "广州市试点区").output
    assert "pending" in invoke(site.config_file, pg, "alerts").output


def test_the_page_and_the_feeds_answer_alike_on_sqlite_and_postgresql(
    site: Site, tmp_path: Path, pg_cluster: Cluster
) -> None:
    lite, pg = checked(site, str(tmp_path / "state")), checked(site, pg_cluster.new_database())
    with Store(pg) as store:
        key = queries.items(store, changed=True)[0]["key"]
    paths = ["/", "/?programme=kczg", "/?programme=guangfo", "/deadlines", f"/notice/{key}", "/search?q=廣佛",
             "/sources", "/feeds/all.xml", "/feeds/kczg.xml", "/feeds/guangfo.xml"]  # fmt: skip
    bodies: list[dict[str, str]] = []
    for state in (lite, pg):
        with serving(site.config(state)) as base:
            bodies.append(
                {p: fetch(base + urllib.parse.quote(p, safe="/?=")).replace(base, "") for p in paths}
            )
    for path in paths:
        assert bodies[1][path] == bodies[0][path], path
    assert site.notices[1].title in bodies[1]["/feeds/kczg.xml"]
    assert site.notices[0].title not in bodies[1]["/feeds/kczg.xml"]
    assert site.notices[1].title not in bodies[1]["/?programme=guangfo"]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode("utf-8"))


# ---------------------------------------------------------------- a dry run and `watcher state` on PostgreSQL


def counts(state: str) -> dict[str, Any]:
    with Store(state) as store:
        return {
            "items": store.query("SELECT count(*) AS n FROM items")[0]["n"],
            "alerts": store.alert_counts(),
        }


def test_a_dry_run_on_postgresql_works_on_a_copy_and_changes_nothing(site: Site, pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    notices = demo.sample_notices(NOW.date())
    demo.publish(site.server, notices)
    kit.run_check(site.config(url))
    before = counts(url)
    demo.publish(site.server, demo.next_round(notices))
    dry = invoke(site.config_file, url, "check", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run, not sent" in dry.output and "── would send to json://127.0.0.1:9/x" in dry.output
    found = [line.split()[0] for line in dry.output.splitlines() if line.startswith(("new ", "changed "))]
    assert sorted(found) == ["changed", "changed", "new"]  # the revision round, found in the copy
    assert counts(url) == before  # the revisions were found in the copy alone


def test_state_commands_on_postgresql_say_what_they_do_instead(site: Site, pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    checked(site, url)
    state_check = invoke(site.config_file, url, "state", "check")
    assert (
        state_check.exit_code == 0 and "ok, schema" in state_check.output and "items 5" in state_check.output
    )
    for command, tool in (("backup", "pg_dump"), ("restore", "pg_restore")):
        refused = invoke(site.config_file, url, "state", command)
        assert refused.exit_code == 2 and tool in refused.output and len(refused.output.splitlines()) == 1


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "bad, words",
    [("SELECT nope FROM items", "nope"), ("SELECT * FROM no_such_table", "no_such_table")],
)
def test_a_failing_statement_is_a_store_error_with_the_servers_words(
    state: str, bad: str, words: str
) -> None:
    with Store(state) as store, pytest.raises(StoreError) as raised:
        store.query(bad)
    assert words in raised.value.message and raised.value.store == (
        "postgresql" if "://" in state else "sqlite"
    )
    assert raised.value.failure == "failed"


def test_an_unreachable_postgresql_is_one_line(site: Site) -> None:
    """No server on the port: psycopg answers without an SQLSTATE."""
    from .receivers import free_port

    url = f"postgresql://watcher@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(StoreError) as raised:
        Store(url)
    assert raised.value.failure == "unreachable" and "cannot connect to PostgreSQL" in raised.value.message
    result = invoke(site.config_file, url, "items")
    assert result.exit_code == 2 and result.exception is not None  # SystemExit, no traceback
    assert result.output.startswith("error: the PostgreSQL state cannot be reached (cannot connect")


def test_sqlite_errors_are_store_errors_named_by_their_code(tmp_path: Path) -> None:
    """The kind comes from SQLite's result code: a file that is no database, a read-only file."""
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 300)
    with pytest.raises(StoreError) as junk, sqlite_errors():
        sqlite3.connect(tmp_path / "junk.db").execute("SELECT * FROM sqlite_master").fetchall()
    assert junk.value.failure == "damaged" and "not a database" in junk.value.message
    Store(tmp_path / "state").close()
    read_only = sqlite3.connect(f"file:{tmp_path / 'state' / 'watcher.db'}?mode=ro", uri=True)
    with pytest.raises(StoreError) as refused, sqlite_errors():
        read_only.execute("DELETE FROM items")
    read_only.close()
    assert refused.value.failure == "read_only" and "readonly" in refused.value.message
    assert explain(refused.value).startswith("the state is read-only (attempt to write a readonly database)")
