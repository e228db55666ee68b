"""The idle daemon: RSS and CPU of `watcher run` with 500 sources on their own intervals, between checks.

python benchmarks/daemon_bench.py [--sources 500] [--seconds 30]

Sources point at a local server; intervals are 6 h so that, with start-up spread, the daemon is idle
between the rare checks, which is its normal state.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher import demo
from watcher.clock import system_clock, today
from watcher.localsite import LocalServer


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--http", action="store_true", help="also serve /healthz, /metrics and the page")
    args = parser.parse_args()
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        demo.publish(server, demo.sample_notices(today(system_clock)))
        sources = "".join(
            f"  - name: s{i}\n    url: {server.url(demo.LIST_PATH)}?s={i}\n    interval: 6h\n"
            for i in range(args.sources)
        )
        config = Path(tmp) / "watcher.yaml"
        config.write_text(f"settings:\n  per_host: {{delay: 0}}\nsources:\n{sources}")
        cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--state", f"{tmp}/state", "run"]
        if args.http:
            cmd += ["--http", "127.0.0.1:0"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(5)  # start-up: imports, configuration, 500 jobs
            rss0, cpu0, t0 = rss_mb(proc.pid), cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.seconds)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
        print(f"{args.sources} sources{' with --http' if args.http else ''}, idle for {args.seconds:.0f} s: RSS {rss0:.1f} -> {rss:.1f} MB, "
              f"CPU {cpu * 100:.2f}% of a core (targets: under 60 MB, under 1%)")  # fmt: skip


if __name__ == "__main__":
    main()
