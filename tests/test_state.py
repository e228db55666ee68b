"""The state directory: one writer at a time, claims in the outbox, a lost or damaged database, backups.
Real processes, a real local site, real webhook receivers, real SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher import app, demo, state
from watcher import config as config_mod
from watcher.localsite import LocalServer
from watcher.store import Store

from . import kit
from .kit import NOW, get, real_today, watcher
from .kit import DaemonProcess as Daemon
from .receivers import Webhook, wait_for


def site_of_40(server: LocalServer) -> list[demo.DemoNotice]:
    today = real_today()
    notices = [
        demo.DemoNotice(7000 + i, f"关于第{i}批广佛科技创新合作项目申报的通知", (today - dt.timedelta(days=i % 20)).isoformat(),
                        ["各有关单位：为推进广佛科技创新合作，现组织申报。" * 4])
        for i in range(40)
    ]  # fmt: skip
    demo.publish(server, notices)
    return notices


def write_config(tmp_path: Path, server: LocalServer, hook: Webhook) -> Path:
    kjj = kit.demo_source(server, max_follow=50)
    return kit.write_config(tmp_path / "watcher.yaml", [kjj], [kit.subscriber("ops", hook.url)])


def spawn(config: Path, state_dir: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--state", str(state_dir), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_checks_at_once_send_each_alert_once(server: LocalServer, tmp_path: Path) -> None:
    site_of_40(server)
    # The second check starts once the first is sending (40 alerts held 0.1 s each), so the two overlap
    # however slow the machine is to start a process.
    with Webhook(hold=0.1) as hook:
        config = write_config(tmp_path, server, hook)
        runs = [spawn(config, tmp_path / "state", "check")]
        wait_for(lambda: hook.messages, timeout=60, what="the first check to send")
        runs.append(spawn(config, tmp_path / "state", "check"))
        outs = [p.communicate(timeout=120) for p in runs]
        assert [p.returncode for p in runs] == [0, 0], outs
        counts = Counter(m.splitlines()[0] for m in hook.messages)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert any("waiting for `watcher check`" in err for _, err in outs)


def test_a_send_beside_the_daemon_says_who_holds_the_state(tmp_path: Path) -> None:
    """`send` stops and names the daemon; `check` asks it instead (tests/test_daemon.py), and says so when
    the daemon has not scheduled the source."""
    config = tmp_path / "watcher.yaml"
    config.write_text("sources:\n  - name: x\n    url: http://127.0.0.1:9/\n", "utf-8")
    with state.writer(tmp_path / "state", "run"):
        done = watcher(config, tmp_path / "state", "send")
        asked = watcher(config, tmp_path / "state", "check", "x", "--wait", "1")
        read_only = watcher(config, tmp_path / "state", "items")
    assert done.returncode == 2 and f"held by `watcher run` (pid {os.getpid()}" in done.stderr
    assert (
        asked.returncode == 1 and "x is not in the daemon's schedule yet: reload it (SIGHUP)" in asked.stderr
    )
    assert read_only.returncode == 0


def test_senders_claim_each_alert(server: LocalServer, tmp_path: Path, state: str) -> None:
    """Two senders on one outbox (as two daemons would be), a receiver slow to answer: each alert once, on
    SQLite and on PostgreSQL."""
    site_of_40(server)
    with Webhook(hold=0.1) as hook:
        config = config_mod.load(str(write_config(tmp_path, server, hook)), state=state)
        asyncio.run(app.check_sources(config, clock=lambda: NOW))
        with app.open_sender(config) as one, app.open_sender(config) as two:
            threads = [threading.Thread(target=s.flush) for s in (one, two)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        counts = Counter(m.splitlines()[0] for m in hook.messages)
    assert len(counts) == 40 and set(counts.values()) == {1}
    with Store(state) as store:
        assert store.alert_counts() == {"sent": 40}


def test_a_lost_or_emptied_database_is_refused_until_restored_or_fresh(
    server: LocalServer, tmp_path: Path
) -> None:
    site_of_40(server)
    with Webhook() as hook:
        config = write_config(tmp_path, server, hook)
        folder = tmp_path / "state"
        assert watcher(config, folder, "check").returncode == 0
        assert len(hook.messages) == 40
        assert watcher(config, folder, "state", "backup").returncode == 0

        (folder / "watcher.db").write_bytes(b"")  # emptied
        for suffix in ("-wal", "-shm"):
            (folder / f"watcher.db{suffix}").unlink(missing_ok=True)
        refused = watcher(config, folder, "check")
        assert refused.returncode == 2 and "lost its database" in refused.stderr
        assert len(hook.messages) == 40  # nothing alerted again

        restored = watcher(config, folder, "state", "restore")
        assert restored.returncode == 0, restored.stderr
        assert watcher(config, folder, "check").returncode == 0
        assert len(hook.messages) == 40  # the restored state knows every notice

        (folder / "watcher.db").unlink()  # lost
        assert watcher(config, folder, "items").returncode == 2
        fresh = watcher(config, folder, "--fresh", "check")  # the user's explicit choice: all over again
        assert fresh.returncode == 0, fresh.stderr
        assert (folder / state.MARKER_NAME).exists() and len(hook.messages) == 80


def test_a_damaged_database_is_named_with_the_way_back(server: LocalServer, tmp_path: Path) -> None:
    site_of_40(server)
    with Webhook() as hook:
        config = write_config(tmp_path, server, hook)
        folder = tmp_path / "state"
        assert watcher(config, folder, "check").returncode == 0
        assert watcher(config, folder, "state", "check").returncode == 0
        db = folder / "watcher.db"
        with db.open("r+b") as f:  # one page of the file overwritten: the integrity check finds it
            f.seek(4096 * 3)
            f.write(b"\xa5" * 4096)
        checked = watcher(config, folder, "state", "check")
        assert checked.returncode == 1 and "damaged" in checked.stdout
        with db.open("r+b") as f:  # every page but the header's: no read survives
            f.seek(4096)
            f.write(b"\xa5" * (db.stat().st_size - 4096))
        items = watcher(config, folder, "items")
        assert items.returncode == 2 and "state restore" in items.stderr
        assert "Traceback" not in items.stderr


def test_backups_keep_the_last_seven(tmp_path: Path) -> None:
    Store(tmp_path).close()
    for _ in range(9):
        state.backup(tmp_path)
    kept = state.backups(tmp_path)
    assert len(kept) == 7 and all(state.integrity(p) == [] for p in kept)


def test_a_read_only_state_is_read_and_never_written(server: LocalServer, tmp_path: Path) -> None:
    """The state on a read-only mount (root ignores file modes, so a real read-only bind mount)."""
    site_of_40(server)
    with Webhook() as hook:
        config = write_config(tmp_path, server, hook)
        folder, mounted = tmp_path / "state", tmp_path / "ro"
        assert watcher(config, folder, "check").returncode == 0
        mounted.mkdir()
        bound = subprocess.run(["mount", "--bind", str(folder), str(mounted)], capture_output=True)
        if bound.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
        try:
            remounted = subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], capture_output=True)
            assert remounted.returncode == 0, remounted.stderr
            items = watcher(config, mounted, "items")
            assert items.returncode == 0 and "第0批广佛科技创新合作项目" in items.stdout
            assert watcher(config, mounted, "search", "广佛").returncode == 0
            dry = watcher(config, mounted, "check", "--dry-run")
            assert dry.returncode == 0, dry.stderr
            refused = watcher(config, mounted, "check")
            assert (
                refused.returncode == 2
                and "read-only" in refused.stderr
                and "Traceback" not in refused.stderr
            )
        finally:
            subprocess.run(["umount", str(mounted)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A state directory on an 8 MB tmpfs, to fill (skipped where mount is not permitted)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> None:
    with (folder / "filler").open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


def test_a_full_disk_is_one_line_and_loses_nothing(
    server: LocalServer, small_disk: Path, tmp_path: Path
) -> None:
    notices = site_of_40(server)
    with Webhook() as hook:
        config = write_config(tmp_path, server, hook)
        assert watcher(config, small_disk, "check").returncode == 0
        sent = len(hook.messages)
        fill(small_disk)
        notices.insert(0, demo.DemoNotice(7999, "关于新一批广佛科技创新合作项目申报的通知", real_today().isoformat(),
                                          ["各有关单位：现组织申报。" * 200]))  # fmt: skip
        demo.publish(server, notices)
        full = watcher(config, small_disk, "check")
        assert full.returncode == 2 and "disk full" in full.stderr and "Traceback" not in full.stderr
        assert len(hook.messages) == sent
        (small_disk / "filler").unlink()  # room again: the check that failed is made good
        assert watcher(config, small_disk, "check").returncode == 0
        assert any("新一批广佛科技创新合作" in m for m in hook.messages[sent:])


def test_the_daemon_reports_a_failing_store_on_healthz(
    server: LocalServer, small_disk: Path, tmp_path: Path
) -> None:
    """The store fails under the running daemon (its disk fills): /healthz says 503 with the reason, and the
    admin channel is told once, directly; with room again, checks write and /healthz is 200."""
    notices = site_of_40(server)
    with Webhook() as hook, Webhook() as admin:
        kjj = kit.demo_source(server, interval="1s", max_follow=50)
        alerts = {"recent_days": 60, "admin": [admin.url]}
        config = kit.write_config(tmp_path / "watcher.yaml", [kjj], [kit.subscriber("ops", hook.url)], alerts)

        daemon = Daemon(config, small_disk).start()
        try:
            wait_for(lambda: len(hook.messages) >= 40, what="the first alerts")
            fill(small_disk)
            notices.insert(0, demo.DemoNotice(7998, "关于又一批广佛科技创新合作项目申报的通知", real_today().isoformat(),
                                              ["各有关单位：现组织申报。" * 200]))  # fmt: skip
            demo.publish(server, notices)
            wait_for(lambda: get(daemon.url("/healthz"))[0] == 503, what="/healthz 503")
            _, body = get(daemon.url("/healthz"))
            assert "full" in json.loads(body)["store_error"]
            wait_for(lambda: len(admin.messages) == 1, what="the admin told")
            (small_disk / "filler").unlink()
            wait_for(lambda: get(daemon.url("/healthz"))[0] == 200, what="/healthz 200 again")
            wait_for(lambda: any("又一批" in m for m in hook.messages), what="the held-back alert")
            assert len(admin.messages) == 1
        finally:
            daemon.stop()
