"""`watcher run` as a real process against local servers, with short intervals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher import demo
from watcher.localsite import LocalServer

from .receivers import Webhook, free_port, wait_for


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


class Daemon:
    def __init__(self, config: Path, state: Path) -> None:
        self.config, self.state, self.port = config, state, free_port()
        self.log = state.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        cmd = [sys.executable, "-m", "watcher", "--config", str(self.config), "--state", str(self.state),
               "run", "--http", f"127.0.0.1:{self.port}", "--log-format", "json"]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stderr=log, stdout=subprocess.DEVNULL)
        wait_for(lambda: get(self.url("/healthz"))[0] == 200, what="/healthz")
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text("utf-8").splitlines() if line.startswith("{")]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_config(path: Path, server: LocalServer, hook: Webhook, extra: str = "") -> None:
    path.write_text(
        f"settings:\n  per_host: {{concurrency: 2, delay: 0}}\n  timeout: 5\n  retries: 0\n"
        f"sources:\n  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n    interval: 2s\n{extra}"
        f"subscribers:\n  - name: ops\n    urls: ['{hook.url}']\nalerts:\n  recent_days: 60\n",
        "utf-8",
    )


@pytest.fixture
def running(server: LocalServer, tmp_path: Path) -> Iterator[tuple[Daemon, Webhook, LocalServer]]:
    demo.publish(server, demo.sample_notices())
    with Webhook() as hook:
        write_config(tmp_path / "watcher.yaml", server, hook)
        daemon = Daemon(tmp_path / "watcher.yaml", tmp_path / "state")
        try:
            yield daemon.start(), hook, server
        finally:
            daemon.stop()


def checks_of(daemon: Daemon, source: str) -> list[dict[str, object]]:
    return [line for line in daemon.lines() if line.get("source") == source and "status" in line]


def test_checks_on_schedule_sends_alerts_and_reports_health(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    daemon, hook, _server = running
    wait_for(lambda: len(checks_of(daemon, "kjj")) >= 3, what="three checks of kjj")
    wait_for(lambda: len(hook.posts) == 3, what="the three alerts")
    status, body = get(daemon.url("/healthz"))
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["failing"] == [] and health["last_success"]
    checks = checks_of(daemon, "kjj")
    assert checks[0]["new"] == 4 and all(c["new"] == 0 for c in checks[1:])
    assert {c["status"] for c in checks[1:]} == {"not_modified"}
    gaps = [b - a for a, b in zip(times(daemon, "kjj"), times(daemon, "kjj")[1:], strict=False)]
    assert all(1.5 <= g <= 3.0 for g in gaps), gaps  # every 2 s, with up to 10% jitter
    status, text = get(daemon.url("/metrics"))
    assert status == 200 and 'watcher_checks_total{outcome="not_modified"}' in text
    assert 'watcher_items_total{change="new"} 4' in text and 'watcher_alerts_total{status="sent"} 3' in text
    assert "watcher_check_seconds_bucket" in text and 'watcher_outbox_alerts{status="pending"} 0' in text
    page, feed = get(daemon.url("/")), get(daemon.url("/feeds/all.xml"))
    assert page[0] == 200 and demo.sample_notices()[0].title in page[1]  # the page on the daemon's port
    assert feed[0] == 200 and feed[1].count("<entry>") == 4
    time.sleep(1)
    assert len(hook.posts) == 3  # and nothing twice


def times(daemon: Daemon, source: str) -> list[float]:
    from datetime import datetime

    return [datetime.fromisoformat(str(c["time"])).timestamp() for c in checks_of(daemon, source)]


def test_sighup_reloads_and_a_broken_file_is_rejected(running: tuple[Daemon, Webhook, LocalServer]) -> None:
    daemon, _hook, server = running
    server.site.put("/other/list.html", demo.render_list(demo.sample_notices()[2:]))
    good = daemon.config.read_text("utf-8")
    extra = (
        f"  - name: other\n    url: {server.url('/other/list.html')}\n    interval: 2s\n    follow: false\n"
    )
    daemon.config.write_text(good.replace("subscribers:", extra + "subscribers:"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: checks_of(daemon, "other"), what="the new source checked after SIGHUP")
    daemon.config.write_text(good.replace("interval: 2s", "interval: soon"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(
        lambda: any("reload rejected" in str(line["message"]) for line in daemon.lines()), what="rejection"
    )
    rejected = next(
        str(line["message"]) for line in daemon.lines() if "reload rejected" in str(line["message"])
    )
    assert "watcher.yaml:" in rejected and "sources[0].interval" in rejected
    before = len(checks_of(daemon, "other"))
    wait_for(lambda: len(checks_of(daemon, "other")) > before, what="the old configuration still running")
    assert get(daemon.url("/healthz"))[0] == 200


def test_a_changed_interval_and_a_pause_steer_the_running_daemon(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    """An interval lengthened on SIGHUP moves the stored due time (it stayed before); shortened back, the
    source is due again at once; `watcher sources pause`, run beside the daemon, stops its checks and
    `resume` brings them back, without a reload."""
    daemon, _hook, _server = running
    wait_for(lambda: len(checks_of(daemon, "kjj")) >= 2, what="checks every 2 s")
    good = daemon.config.read_text("utf-8")
    daemon.config.write_text(good.replace("interval: 2s", "interval: 1h"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: any("new interval" in str(line["message"]) for line in daemon.lines()), what="moved")
    settled = len(checks_of(daemon, "kjj"))
    time.sleep(5)
    assert len(checks_of(daemon, "kjj")) <= settled + 2  # a check in flight writes with the old interval
    daemon.config.write_text(good, "utf-8")
    daemon.signal(signal.SIGHUP)
    now_checked = len(checks_of(daemon, "kjj"))
    wait_for(lambda: len(checks_of(daemon, "kjj")) > now_checked, what="checks every 2 s again")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "watcher", "--config", str(daemon.config), "--state", str(daemon.state)]
        return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)

    assert cli("sources", "pause", "kjj").returncode == 0
    paused = len(checks_of(daemon, "kjj"))
    time.sleep(5)
    assert len(checks_of(daemon, "kjj")) <= paused + 1  # one in flight at the pause may finish
    listed = cli("sources").stdout
    assert "paused" in next(line for line in listed.splitlines() if line.startswith("kjj"))
    assert cli("sources", "resume", "kjj").returncode == 0
    resumed = len(checks_of(daemon, "kjj"))
    wait_for(lambda: len(checks_of(daemon, "kjj")) > resumed, what="checks after resume")


def test_check_beside_a_running_daemon_asks_it_to_check_now(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    """`watcher check kjj` refused while the daemon held the state; now it makes the source due in the store,
    the daemon checks it within a second or two, and the command prints that check's result."""
    daemon, _hook, server = running
    wait_for(lambda: checks_of(daemon, "kjj"), what="the first check")
    good = daemon.config.read_text("utf-8")
    daemon.config.write_text(good.replace("interval: 2s", "interval: 1h"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: any("new interval" in str(line["message"]) for line in daemon.lines()), what="moved")
    time.sleep(2)  # a check in flight at the reload has written
    before = len(checks_of(daemon, "kjj"))
    demo.publish(server, demo.next_round(demo.sample_notices()))
    cmd = [sys.executable, "-m", "watcher", "--config", str(daemon.config), "--state", str(daemon.state)]
    asked = subprocess.run([*cmd, "check", "kjj", "--wait", "60"], capture_output=True, text=True, timeout=90)
    assert asked.returncode == 0, asked.stderr
    assert "asked `watcher run` (pid" in asked.stderr
    row = next(line for line in asked.stdout.splitlines() if line.startswith("kjj"))
    assert row.split()[1] == "ok" and int(row.split()[2]) == 1 and int(row.split()[3]) >= 2  # new, changed
    assert len(checks_of(daemon, "kjj")) == before + 1  # the daemon's check, not one of its own


def test_sigterm_exits_cleanly_within_ten_seconds(running: tuple[Daemon, Webhook, LocalServer]) -> None:
    daemon, _hook, server = running
    server.site.put(demo.LIST_PATH, server.site.routes[demo.LIST_PATH].body, delay=30)  # a check in flight
    wait_for(lambda: server.site.hits[demo.LIST_PATH] >= 2, what="a check in flight")
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.proc is not None
    assert daemon.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 10
    assert any(line["message"] == "stopped" for line in daemon.lines())


def test_kill_9_and_restart_loses_nothing_and_sends_nothing_twice(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    daemon, hook, server = running
    wait_for(lambda: len(hook.posts) == 3, what="the first alerts")
    daemon.signal(signal.SIGKILL)
    assert daemon.proc is not None
    daemon.proc.wait()
    notices = demo.sample_notices()
    demo.publish(server, demo.next_round(notices))  # a new notice and two revisions while it is down
    daemon.start()
    wait_for(lambda: len(hook.posts) == 6, what="the alerts of the changes made while it was down")
    time.sleep(2.5)
    firsts = [m.splitlines()[0] for m in hook.messages]
    assert len(firsts) == len(set(firsts)) == 6
    assert os.path.exists(daemon.state / "watcher.db")


def heavy_list(entries: int) -> str:
    rows = "".join(
        f'<li><a href="/h/{i}.html">第{i}条科技计划项目申报通知公告</a><span>2026-11-01</span></li>'
        for i in range(entries)
    )
    return f"<html><body><ul>{rows}</ul></body></html>"


def test_healthz_answers_while_a_heavy_page_is_read(server: LocalServer, tmp_path: Path) -> None:
    """A list big enough to take the reader seconds of CPU: the daemon answers /healthz meanwhile, and
    the page ends as 'too complex' (its CPU budget) or read, never holding the event loop."""
    server.site.put("/heavy.html", heavy_list(120_000))
    with Webhook() as hook:
        config = tmp_path / "watcher.yaml"
        config.write_text(
            f"settings:\n  per_host: {{concurrency: 2, delay: 0}}\n  timeout: 30\n  retries: 0\n  max_bytes: 50000000\n"
            f"sources:\n  - name: heavy\n    url: {server.url('/heavy.html')}\n    interval: 3s\n    follow: false\n"
            f"subscribers:\n  - name: ops\n    urls: ['{hook.url}']\n",
            "utf-8",
        )
        daemon = Daemon(config, tmp_path / "state").start()
        try:
            wait_for(lambda: server.site.hits["/heavy.html"] >= 1, what="the heavy page fetched")
            slowest = 0.0
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and not checks_of(daemon, "heavy"):
                started = time.monotonic()
                assert get(daemon.url("/healthz"))[0] == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.05)
            assert slowest < 1.0, slowest
        finally:
            daemon.stop()
