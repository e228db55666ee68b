"""The outbox under `kill -9`: real processes, a real webhook, a real SQLite file.

Killed between the write and the send: every alert arrives after a restart, once.
Killed between the send and the mark: every alert arrives, and the one in flight arrives twice.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from watcher import demo
from watcher.localsite import LocalServer

from . import kit
from .kit import real_today
from .receivers import Webhook, wait_for


def watcher(config: Path, state: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", "--config", str(config), "--state", str(state), *args]


def pending(state: Path) -> int:
    db = state / "watcher.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM alerts WHERE status='pending'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def write_config(path: Path, server: LocalServer, hook: Webhook, slow: bool) -> None:
    sources = [kit.demo_source(server)] + (
        [kit.source("slow", server.url("/slow/list.html"))] if slow else []
    )
    kit.write_config(path, sources, [kit.subscriber("ops", hook.url)], timeout=60)


def publish(server: LocalServer) -> None:
    # The real date: the child processes run on the real clock.
    demo.publish(server, demo.sample_notices(real_today()))
    server.site.put("/slow/list.html", "<html><body>…</body></html>", delay=120)


def test_killed_between_write_and_send(server: LocalServer, tmp_path: Path) -> None:
    publish(server)
    with Webhook() as hook:
        config, state = tmp_path / "watcher.yaml", tmp_path / "state"
        write_config(config, server, hook, slow=True)
        proc = subprocess.Popen(watcher(config, state, "check"), stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: pending(state) > 0, what="the first source's alerts in the outbox")
        finally:
            proc.kill()  # the slow source still hangs: nothing was sent yet
            proc.wait()
        written = pending(state)
        assert hook.posts == [] and written == 3
        sent = subprocess.run(watcher(config, state, "send"), capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        again = subprocess.run(watcher(config, state, "send"), capture_output=True, text=True, timeout=60)
        assert "0 sent" in again.stdout
    messages = [m.splitlines()[0] for m in hook.messages]
    assert len(messages) == written and len(set(messages)) == written


def test_killed_between_send_and_mark(server: LocalServer, tmp_path: Path) -> None:
    publish(server)
    with Webhook(hold=60) as hook:  # takes the first alert, then never answers
        config, state = tmp_path / "watcher.yaml", tmp_path / "state"
        write_config(config, server, hook, slow=False)
        proc = subprocess.Popen(watcher(config, state, "check"), stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: len(hook.posts) == 1, what="the first alert on the wire")
        finally:
            proc.kill()
            proc.wait()
        hook.hold = 0
        sent = subprocess.run(watcher(config, state, "send"), capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
    messages = [m.splitlines()[0] for m in hook.messages]
    first = messages[0]
    assert len(set(messages)) == 3  # every alert arrived…
    assert messages.count(first) == 2 and len(messages) == 4  # …and only the one in flight twice
