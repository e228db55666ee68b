"""`watcher run` as a real process against local servers, with short intervals."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watcher import demo
from watcher.localsite import LocalServer
from watcher.store import Store

from . import kit
from .kit import DaemonProcess as Daemon
from .receivers import Webhook, wait_for


def write_config(path: Path, server: LocalServer, hook: Webhook, *extra: dict[str, Any]) -> None:
    kit.write_config(
        path, [kit.demo_source(server, interval="2s"), *extra], [kit.subscriber("ops", hook.url)]
    )


@pytest.fixture
def running(server: LocalServer, tmp_path: Path) -> Iterator[tuple[Daemon, Webhook, LocalServer]]:
    demo.publish(server, demo.sample_notices(kit.real_today()))  # the daemon runs on the system's clock
    with Webhook() as hook:
        write_config(tmp_path / "watcher.yaml", server, hook)
        daemon = Daemon(tmp_path / "watcher.yaml", tmp_path / "state")
        try:
            yield daemon.start(), hook, server
        finally:
            daemon.stop()


def test_checks_on_schedule_sends_alerts_and_reports_health(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    daemon, hook, _server = running
    wait_for(lambda: len(daemon.checks_of("kjj")) >= 3, what="three checks of kjj")
    wait_for(lambda: len(hook.posts) == 3, what="the three alerts")
    status, body = kit.get(daemon.url("/healthz"))
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["failing"] == [] and health["last_success"]
    checks = daemon.checks_of("kjj")  # (the spacing of checks is tested on a stepped clock: test_schedule)
    assert checks[0]["new"] == 4 and all(c["new"] == 0 for c in checks[1:])
    assert {c["status"] for c in checks[1:]} == {"not_modified"}
    status, text = kit.get(daemon.url("/metrics"))
    assert status == 200 and 'watcher_checks_total{outcome="not_modified"}' in text
    assert 'watcher_items_total{change="new"} 4' in text and 'watcher_alerts_total{status="sent"} 3' in text
    assert "watcher_check_seconds_bucket" in text and 'watcher_outbox_alerts{status="pending"} 0' in text
    page, feed = kit.get(daemon.url("/")), kit.get(daemon.url("/feeds/all.xml"))
    assert (
        page[0] == 200 and demo.sample_notices(kit.real_today())[0].title in page[1]
    )  # on the daemon's port
    assert feed[0] == 200 and feed[1].count("<entry>") == 4
    assert Store(daemon.state).alert_counts() == {"sent": 3}  # nothing left to send: nothing twice


def test_sighup_reloads_and_a_broken_file_is_rejected(running: tuple[Daemon, Webhook, LocalServer]) -> None:
    daemon, _hook, server = running
    server.site.put("/other/list.html", demo.render_list(demo.sample_notices(kit.real_today())[2:]))
    good = daemon.config.read_text("utf-8")
    other = kit.source("other", server.url("/other/list.html"), interval="2s", follow=False)
    write_config(daemon.config, server, _hook, other)
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.checks_of("other"), what="the new source checked after SIGHUP")
    daemon.config.write_text(good.replace("interval: 2s", "interval: soon"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(
        lambda: any("reload rejected" in str(line["message"]) for line in daemon.lines()), what="rejection"
    )
    rejected = next(
        str(line["message"]) for line in daemon.lines() if "reload rejected" in str(line["message"])
    )
    assert "watcher.yaml:" in rejected and "sources[0].interval" in rejected
    before = len(daemon.checks_of("other"))
    wait_for(lambda: len(daemon.checks_of("other")) > before, what="the old configuration still running")
    assert kit.get(daemon.url("/healthz"))[0] == 200


def test_a_changed_interval_and_a_pause_steer_the_running_daemon(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    """An interval lengthened on SIGHUP moves the stored due time (it stayed before); shortened back, the
    source is due again at once; `watcher sources pause`, run beside the daemon, stops its checks and
    `resume` brings them back, without a reload."""
    daemon, _hook, _server = running
    wait_for(lambda: len(daemon.checks_of("kjj")) >= 2, what="checks every 2 s")
    good = daemon.config.read_text("utf-8")
    daemon.config.write_text(good.replace("interval: 2s", "interval: 1h"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: any("new interval" in str(line["message"]) for line in daemon.lines()), what="moved")
    settled = len(daemon.checks_of("kjj"))
    time.sleep(5)
    assert len(daemon.checks_of("kjj")) <= settled + 2  # a check in flight writes with the old interval
    daemon.config.write_text(good, "utf-8")
    daemon.signal(signal.SIGHUP)
    now_checked = len(daemon.checks_of("kjj"))
    wait_for(lambda: len(daemon.checks_of("kjj")) > now_checked, what="checks every 2 s again")

    def cli(*args: str) -> Any:
        return kit.watcher(daemon.config, daemon.state, *args, timeout=60)

    assert cli("sources", "pause", "kjj").returncode == 0
    paused = len(daemon.checks_of("kjj"))
    time.sleep(5)
    assert len(daemon.checks_of("kjj")) <= paused + 1  # one in flight at the pause may finish
    listed = cli("sources").stdout
    assert "paused" in next(line for line in listed.splitlines() if line.startswith("kjj"))
    assert cli("sources", "resume", "kjj").returncode == 0
    resumed = len(daemon.checks_of("kjj"))
    wait_for(lambda: len(daemon.checks_of("kjj")) > resumed, what="checks after resume")


def test_check_beside_a_running_daemon_asks_it_to_check_now(
    running: tuple[Daemon, Webhook, LocalServer],
) -> None:
    """`watcher check kjj` refused while the daemon held the state; now it makes the source due in the store,
    the daemon checks it within a second or two, and the command prints that check's result."""
    daemon, _hook, server = running
    wait_for(lambda: daemon.checks_of("kjj"), what="the first check")
    good = daemon.config.read_text("utf-8")
    daemon.config.write_text(good.replace("interval: 2s", "interval: 1h"), "utf-8")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: any("new interval" in str(line["message"]) for line in daemon.lines()), what="moved")
    time.sleep(2)  # a check in flight at the reload has written
    before = len(daemon.checks_of("kjj"))
    demo.publish(server, demo.next_round(demo.sample_notices(kit.real_today())))
    asked = kit.watcher(daemon.config, daemon.state, "check", "kjj", "--wait", "60", timeout=90)
    assert asked.returncode == 0, asked.stderr
    assert "asked `watcher run` (pid" in asked.stderr
    row = next(line for line in asked.stdout.splitlines() if line.startswith("kjj"))
    assert row.split()[1] == "ok" and int(row.split()[2]) == 1 and int(row.split()[3]) >= 2  # new, changed
    assert len(daemon.checks_of("kjj")) == before + 1  # the daemon's check, not one of its own


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
    # Killed once the outbox holds them as sent: a kill between a delivery and its mark would send that
    # alert again, by design (at least once), which is chaos.py's to count, not this test's.
    wait_for(lambda: Store(daemon.state).alert_counts() == {"sent": 3}, what="the first alerts marked sent")
    daemon.signal(signal.SIGKILL)
    assert daemon.proc is not None
    daemon.proc.wait()
    notices = demo.sample_notices(kit.real_today())
    demo.publish(server, demo.next_round(notices))  # a new notice and two revisions while it is down
    daemon.start()
    wait_for(lambda: len(hook.posts) == 6, what="the alerts of the changes made while it was down")
    wait_for(lambda: Store(daemon.state).alert_counts() == {"sent": 6}, what="every alert marked sent")
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
        heavy = kit.source("heavy", server.url("/heavy.html"), interval="3s", follow=False)
        config = kit.write_config(
            tmp_path / "watcher.yaml",
            [heavy],
            [kit.subscriber("ops", hook.url)],
            timeout=30,
            max_bytes=50_000_000,
        )
        daemon = Daemon(config, tmp_path / "state").start()
        try:
            wait_for(lambda: server.site.hits["/heavy.html"] >= 1, what="the heavy page fetched")
            slowest = 0.0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not daemon.checks_of("heavy"):
                started = time.monotonic()
                assert kit.get(daemon.url("/healthz"))[0] == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.05)
            (check, *_) = daemon.checks_of("heavy")
            # Held by the reading, /healthz would wait about as long as the check took (seconds of CPU);
            # relative to it, the bound holds on a loaded machine too.
            assert slowest < max(1.0, float(check["seconds"]) / 3), (slowest, check["seconds"])
        finally:
            daemon.stop()
