"""The store on PostgreSQL: the flow on both stores, dispatchers that share one database (senders that
share one: tests/test_state.py), moving a SQLite state over, and three daemons on one database with one
killed mid-check. A real PostgreSQL server (tests/pg.py), real local sites, real webhook receivers, real
processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from watcher import app, demo, queries
from watcher import config as config_mod
from watcher.localsite import LocalServer
from watcher.store import Store, due_iso

from .kit import NOW, DaemonProcess, real_today
from .pg import Cluster
from .receivers import Webhook, wait_for


def demo_config(server: LocalServer, state: str, hook: Webhook) -> config_mod.Config:
    text = (
        f"settings:\n  per_host: {{concurrency: 4, delay: 0}}\n  timeout: 5\n  retries: 0\n"
        f"sources:\n  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n"
        f"subscribers:\n  - name: ops\n    urls: ['{hook.url}']\nalerts:\n  recent_days: 60\n"
    )
    return config_mod.load("t.yaml", state=state, text=text)


def test_the_flow_on_both_stores(server: LocalServer, state: str) -> None:
    """Three rounds of the demo site: what is new and changed, each alert once, search in either script,
    history and attachments, the same on SQLite and on PostgreSQL."""
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    with Webhook() as hook:
        config = demo_config(server, state, hook)
        (first,) = asyncio.run(app.check_sources(config, clock=lambda: NOW))
        assert first.status == "ok" and first.count("new") == 4
        (again,) = asyncio.run(app.check_sources(config, clock=lambda: NOW))
        assert again.status == "not_modified" and again.changes == []
        demo.publish(server, demo.next_round(notices))
        (third,) = asyncio.run(app.check_sources(config, clock=lambda: NOW))
        assert sorted((c.kind, c.what) for c in third.changes) == [
            ("changed", ("attachments",)), ("changed", ("body", "attachments", "deadline")), ("new", ()),
        ]  # fmt: skip
        assert app.send_alerts(config, clock=lambda: NOW).sent == 6
        assert app.send_alerts(config, clock=lambda: NOW).sent == 0
    assert len({m.splitlines()[0] for m in hook.messages}) == len(hook.messages) == 6
    with Store(state) as store:
        assert {r["title"] for r in queries.search(store, "廣佛")} == {notices[0].title}  # two characters
        revised = next(c for c in third.changes if "deadline" in c.what)
        history = store.versions_of(revised.key)
        assert [v.change for v in history] == ["new", "changed"] and "附件1" in history[1].diff
        (files,) = store.query("SELECT count(*) AS n FROM attachment_files")
        assert files["n"] == 6  # three files, then the guide replaced and two tables added


def test_two_dispatchers_never_take_one_source(pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    with Store(url) as store:
        store.sync_sources({f"s{i}": f"http://s{i}.cn/" for i in range(400)}, lambda name: due_iso(NOW))
    taken: list[list[str]] = [[], []]
    later = due_iso(NOW.replace(year=NOW.year + 1))

    def dispatcher(index: int) -> None:
        with Store(url) as store:
            while batch := store.due_sources(due_iso(NOW.replace(hour=NOW.hour + 1)), 7, f"d{index}", later):
                taken[index] += [name for name, _ in batch]

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(taken[0]) & set(taken[1]) and len(taken[0]) + len(taken[1]) == 400
    assert taken[0] and taken[1]  # both took part


def test_migrate_state_moves_a_sqlite_state_with_its_history(
    server: LocalServer, tmp_path: Path, pg_cluster: Cluster
) -> None:
    notices = demo.sample_notices(real_today())
    demo.publish(server, notices)
    config_file = tmp_path / "watcher.yaml"
    config_file.write_text(
        f"settings:\n  per_host: {{delay: 0}}\nsources:\n  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n",
        "utf-8",
    )
    base = [sys.executable, "-m", "watcher", "--config", str(config_file)]
    run = lambda *a: subprocess.run([*base, *a], capture_output=True, text=True, timeout=120)  # noqa: E731
    assert run("--state", str(tmp_path / "state"), "check").returncode == 0
    url = pg_cluster.new_database()
    moved = run("--state", str(tmp_path / "state"), "migrate-state", url)
    assert moved.returncode == 0, moved.stderr
    assert "items 4" in moved.stdout and "secret" not in moved.stdout
    demo.publish(server, demo.next_round(notices))
    after = run("--state", url, "check", "--json")
    changes = json.loads(after.stdout)["changes"]
    assert sorted(c["kind"] for c in changes) == ["changed", "changed", "new"]  # the history came along
    checked = run("--state", url, "state", "check")  # it answers, with every row that came along
    assert checked.returncode == 0 and "ok, schema" in checked.stdout and "items 5" in checked.stdout


# ---------------------------------------------------------------- three daemons, one killed


def site(server: LocalServer, per_source: int, slow: str | None = None) -> list[str]:
    """Three sources of `per_source` notices each; `slow`: a source whose list takes 4 s to answer."""
    titles, day = [], real_today().isoformat()  # the daemons run on the system's clock
    for k in range(3):
        rows = []
        for i in range(per_source):
            title = f"关于组织申报第{k}-{i}批广佛科技创新合作项目的通知"
            titles.append(title)
            path = f"/s{k}/n{i}.html"
            rows.append(f'<li><a href="{path}">{title}</a><span>{day}</span></li>')
            server.site.put(path, f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
                                  f"<p>发布日期：{day}</p><p>{'各有关单位：现组织申报。' * 6}</p></body></html>")  # fmt: skip
        older = (
            '<li><a href="/old.html">关于公布2026年度第一批项目评审结果的公示</a><span>2026-01-05</span></li>'
        )
        server.site.put(f"/s{k}/list.html", f"<html><body><ul>{''.join(rows)}{older}</ul></body></html>",
                        delay=4.0 if slow == f"s{k}" else 0.0)  # fmt: skip
    server.site.put(
        "/old.html",
        "<html><head><title>公示</title></head><body><h1>关于公布2026年度第一批项目评审结果的公示</h1><p>名单如下。</p></body></html>",
    )
    return titles


def outbox(url: str) -> dict[str, int]:
    with Store(url) as store:
        return store.alert_counts()


def test_three_daemons_share_one_database_and_survive_one_killed_mid_check(
    server: LocalServer, tmp_path: Path, pg_cluster: Cluster
) -> None:
    url = pg_cluster.new_database()
    titles = site(server, 2)
    with Webhook() as hook:
        config = tmp_path / "watcher.yaml"
        sources = "".join(
            f"  - name: s{k}\n    url: {server.url(f'/s{k}/list.html')}\n    interval: 2s\n" for k in range(3)
        )
        config.write_text(
            f"settings:\n  per_host: {{concurrency: 2, delay: 0}}\n  timeout: 10\n  retries: 0\nsources:\n{sources}"
            f"subscribers:\n  - name: ops\n    keywords: [广佛]\n    urls: ['{hook.url}']\nalerts:\n  recent_days: 60\n",
            "utf-8",
        )
        daemons = [DaemonProcess(config, url, tmp_path / f"d{i}.log").start(wait=False) for i in range(3)]
        try:
            wait_for(
                lambda: all(d.health().get("status") == "ok" for d in daemons),
                timeout=30,
                what="three daemons",
            )
            wait_for(lambda: len(hook.posts) >= 6, timeout=60, what="the first round's alerts")

            titles = site(server, 3, slow="s1")  # a new notice on each list; s1's list is slow to answer
            victim = None

            def checking_s1() -> bool:
                nonlocal victim
                victim = next((d for d in daemons if "s1" in (d.health().get("checking") or [])), None)
                return victim is not None

            wait_for(checking_s1, timeout=30, what="a daemon checking s1")
            assert victim is not None
            victim.signal(signal.SIGKILL)  # mid-check: nothing of it was written
            victim.stop()  # reaped
            survivors = [d for d in daemons if d is not victim]
            titles = site(server, 4)  # and one more each, with every list answering at once again
            wait_for(lambda: len(hook.posts) >= 12, timeout=90, what="every change, s1's from a survivor")
            wait_for(
                lambda: outbox(url) == {"sent": 12}, what="every alert marked sent: nothing more to send"
            )
            assert len(hook.posts) == 12
            assert all(d.health().get("status") == "ok" for d in survivors)
        finally:
            for d in daemons:
                d.stop()
    counts = Counter(m.splitlines()[0].removeprefix("【新通知】") for m in hook.messages)
    assert set(counts) == set(titles) and set(counts.values()) == {1}, counts
