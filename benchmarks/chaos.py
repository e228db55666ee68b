"""kill -9 at random moments of checks, sends and the daemon; then count what reached the receiver.

    python benchmarks/chaos.py [--kills 200] [--seed 1]      (make chaos)

Everything on 127.0.0.1: a local site that gains a notice each round and revises one every third round,
a webhook receiver that records every POST and sometimes takes 100 ms to answer, and `watcher check`,
`watcher send` or `watcher run` started and killed with SIGKILL after a random delay, twice a round.
Each round ends with a check that is not killed, so every state of the site is seen once. At the end the
outbox is drained and the receiver's messages are matched against what the site published:

  kills, alerts expected, lost, delivered more than once, integrity failures (PRAGMA quick_check)

A duplicate is allowed only for an alert in flight at a kill (posted, not yet marked sent).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from watcher import demo
from watcher.clock import system_clock, today
from watcher.errors import succeeded
from watcher.localsite import LocalServer


class Receiver:
    """Records every POST body; one answer in five waits 100 ms."""

    def __init__(self, rng: random.Random) -> None:
        self.posts: list[str] = []
        owner, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    owner.posts.append(json.loads(body or b"{}").get("message", ""))
                    slow = rng.random() < 0.2
                if slow:
                    time.sleep(0.1)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.httpd.server_address[1]}/hook"


class Site:
    """The local site: a notice more each round, a deadline moved every third round."""

    def __init__(self, server: LocalServer) -> None:
        self.server, self.notices, self.expected = server, [], Counter[tuple[str, str]]()
        self.today = today(system_clock)  # the processes it kills run on the system clock

    def step(self, round_: int) -> None:
        n = demo.DemoNotice(
            50000 + round_, f"关于第{round_}批广佛科技创新合作项目申报的通知", self.today.isoformat(),
            ["各有关单位：现组织申报广佛科技创新合作项目。", f"申报截止时间：{self._deadline(0)}。"],
        )  # fmt: skip
        self.notices.insert(0, n)
        self.expected[(n.title, "new")] += 1
        if round_ % 3 == 2 and len(self.notices) > 1:
            old = self.notices[1]
            old.paragraphs[1] = f"申报截止时间：{self._deadline(round_)}。"
            self.expected[(old.title, "changed")] += 1
        demo.publish(self.server, self.notices[:40])

    def _deadline(self, shift: int) -> str:
        day = self.today + dt.timedelta(days=30 + shift)
        return f"{day.year}年{day.month}月{day.day}日"


def watcher(config: Path, state: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", "--config", str(config), "--state", str(state), *args]


def kill_at_random(cmd: list[str], rng: random.Random) -> bool:
    """Start, wait a random moment, SIGKILL; True when the process was still running."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.2, 1.4))
    alive = proc.poll() is None
    proc.kill()
    proc.wait()
    return alive


def observe(config: Path, state: Path) -> int:
    """The round's check that is not killed, again until it reads every entry: a notice whose page failed
    to load (the local server is busy too) is not seen in this state of the site, and a revision of it
    next round would be its first sighting, a new notice rather than a change. Returns the retries."""
    for attempt in range(5):
        done = subprocess.run(watcher(config, state, "check", "--json"), capture_output=True, text=True)
        try:
            sources = json.loads(done.stdout)["sources"]
        except (ValueError, KeyError):
            continue
        if all(succeeded(s["status"]) and not s["error"] for s in sources):
            return attempt
    return 5


def integrity(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def received(posts: list[str]) -> Counter[tuple[str, str]]:
    got: Counter[tuple[str, str]] = Counter()
    for message in posts:
        for line in message.splitlines():
            if "关于第" in line and "的通知" in line:
                title = line[line.index("关于第") : line.index("的通知") + 3]
                got[(title, "changed" if "更新" in message.split("\n", 1)[0] else "new")] += 1
                break
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, LocalServer() as server:
        receiver, site = Receiver(rng), Site(server)
        state, config = Path(tmp) / "state", Path(tmp) / "watcher.yaml"
        config.write_text(
            f"settings:\n  per_host: {{concurrency: 4, delay: 0}}\n  timeout: 5\n  retries: 0\n"
            f"sources:\n  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n    interval: 1s\n    max_follow: 50\n"
            f"subscribers:\n  - name: ops\n    urls: ['{receiver.url}']\n    keywords: [广佛]\n    changes: true\n"
            f"alerts:\n  recent_days: 60\n",
            "utf-8",
        )
        kills = bad = round_ = retried = 0
        while kills < args.kills:
            site.step(round_)
            for _ in range(2):
                command = rng.choice([["check"], ["send"], ["run"]])
                kills += kill_at_random(watcher(config, state, *command), rng)
            if (state / "watcher.db").exists() and not integrity(state / "watcher.db"):
                bad += 1
            retried += observe(config, state)
            round_ += 1
        for _ in range(3):  # drain: whatever a kill left pending goes out now
            subprocess.run(
                watcher(config, state, "send"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        time.sleep(0.3)
        got = received(receiver.posts)
        expected = site.expected
        lost = sum(max(0, n - got[k]) for k, n in expected.items())
        twice = sum(max(0, got[k] - n) for k, n in expected.items())
    print(
        f"rounds {round_}, kills {kills} (processes killed while running), {time.monotonic() - started:.0f} s; "
        f"unkilled checks run again after an entry failed to load: {retried}"
    )
    print(f"alerts expected {sum(expected.values())} ({sum(n for (_, kind), n in expected.items() if kind == 'new')} new, "
          f"{sum(n for (_, kind), n in expected.items() if kind == 'changed')} changed)")  # fmt: skip
    print(f"lost {lost}, delivered more than once {twice}, integrity failures {bad}")
    for key, n in sorted(expected.items()):
        if got[key] != n:
            print(f"  {key[1]:<8} {key[0]}: expected {n}, received {got[key]}")


if __name__ == "__main__":
    main()
