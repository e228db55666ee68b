"""The outbox sender: throughput to a local json:// webhook, and memory with 10,000 pending alerts.

python benchmarks/alert_bench.py [--alerts 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.receivers import Webhook
from watcher import config as config_mod
from watcher.alert.message import sample
from watcher.app import open_sender
from watcher.clock import system_clock, today
from watcher.models import AlertRow
from watcher.store import Store, now_iso


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(store: Store, count: int, channel: str) -> None:
    now = now_iso(system_clock())
    payload = json.dumps(sample(today(system_clock)).to_json(), ensure_ascii=False)
    rows = [
        AlertRow(f"bench{i:08d}", "bench", channel, item_key=f"k{i}", reason="new", status="pending", attempts=0,
                 created=now, due=now, payload=payload)
        for i in range(count)
    ]  # fmt: skip
    store.add_alerts(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    with Webhook() as hook, tempfile.TemporaryDirectory() as state:
        text = f"subscribers:\n  - name: bench\n    urls: ['{hook.url}']\n"
        config = config_mod.load("bench.yaml", state=state, text=text)
        channel = config.subscribers[0].channels[0].key
        store = Store(state)
        fill(store, args.alerts, channel)
        store.close()
        before = rss_mb()
        with open_sender(config) as sender:
            started, cpu = time.perf_counter(), time.process_time()
            due = sender.store.due_alerts(now_iso(sender.clock()))
            listed = rss_mb()
            report = sender.flush()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"pending alerts: {len(due):,}; peak RSS {before:.0f} MB before the sender, {listed:.0f} MB with "
              f"the due list loaded, {rss_mb():.0f} MB after sending")  # fmt: skip
        print(f"sent {report.sent:,} to a local json:// webhook in {wall:.1f} s: {report.sent / wall:,.0f} alerts/s, "
              f"{cpu / max(1, report.sent) * 1000:.2f} ms CPU each; received {len(hook.posts):,}")  # fmt: skip


if __name__ == "__main__":
    main()
