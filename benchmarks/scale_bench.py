"""One daemon, many sources: start-up, steady RSS, CPU when nothing is due, and schedule lag under load.

    python benchmarks/scale_bench.py [--sources 100000] [--rate 100] [--seconds 60]

Serves the shared benchmark corpus (../shared/bench) on 127.0.0.1 and configures `--sources` sources over
its pages (names differ; pages repeat, told apart by a query the server ignores, as one source an address), each every sources/rate seconds, so that about `--rate` checks a
second fall due once the first round is spread. Then:

1. `watcher run` on a fresh state: seconds from start until the daemon logs that it is watching and until
   its first check; RSS and CPU while it checks for `--seconds`; checks a second; how late due checks
   started (p50, p99, from /metrics);
2. the same state with every source checked just now (nothing due for a day): RSS and CPU over 30 s;
3. with `--daemons 3`: one, two, then three daemons on one PostgreSQL database (a throwaway cluster, as
   the tests start one) over `--shared` sources that are always due: checks a second and lag for each.

With `--saturate` only one daemon's ceiling: `--shared` sources due every 2 s, on SQLite and then on
PostgreSQL, checks a second over `--seconds` once every source was checked once, the CPU the daemon used, and
checks a CPU-second (steadier than checks a second on a machine others share); a run of a few minutes to compare one change with the next. `--profile DIR` samples each daemon with py-spy
(installed in the venv) over those seconds and leaves its collapsed stacks in DIR.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE.parent))

from benchmarks.check_bench import ensure_corpus  # noqa: E402
from benchmarks.daemon_bench import cpu_seconds, rss_mb  # noqa: E402


def write_config(urls: list[str], port: int, sources: int, interval: float, path: Path) -> None:
    lines = [
        "settings:", "  concurrency: 16", "  per_host: {concurrency: 32, delay: 0}", "  timeout: 10",
        "  retries: 0", "sources:",
    ]  # fmt: skip
    for i in range(sources):
        lines += [
            f"  - name: s{i}",
            f"    url: http://127.0.0.1:{port}{urls[i % len(urls)]}{f'?copy={i // len(urls)}' if i >= len(urls) else ''}",
            f"    interval: {interval:g}",
            "    follow: false",
            "    robots: false",
        ]
    path.write_text("\n".join(lines) + "\n")


def metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def checks_done(m: dict[str, float]) -> float:
    return sum(v for k, v in m.items() if k.startswith("watcher_checks_total{"))


class Run:
    """`watcher run` in a process of its own, watched from outside."""

    def __init__(self, config: Path, state: str | Path, port: int, log: Path) -> None:
        cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--state", str(state), "run",
               "--http", f"127.0.0.1:{port}", "--log-format", "json"]  # fmt: skip
        self.log, self.port = log, port
        self.started = time.monotonic()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stderr=out, stdout=subprocess.DEVNULL, cwd=HERE.parent)

    def logged(self, text: str) -> bool:
        return text in self.log.read_text("utf-8", errors="replace")

    def wait_for(self, condition: object, timeout: float = 600) -> float:
        while time.monotonic() - self.started < timeout:
            if callable(condition) and condition():
                return time.monotonic() - self.started
            time.sleep(0.05)
        raise SystemExit("timed out")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def profile(self, seconds: float, out: Path) -> subprocess.Popen[bytes]:
        """py-spy (installed in the venv) sampling the daemon for `seconds`, its stacks collapsed into `out`."""
        spy = Path(sys.executable).parent / "py-spy"
        cmd = [
            str(spy),
            "record",
            "--pid",
            str(self.proc.pid),
            "-d",
            str(int(seconds)),
            "-r",
            "50",
            "-f",
            "raw",
            "-o",
            str(out),
        ]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def saturate(urls: list[str], args: argparse.Namespace, tmp: Path) -> None:
    """One daemon, `--shared` sources due every 2 s (more than it can check): its checks a second and the
    CPU it used, on SQLite and on PostgreSQL, each once every source was checked once."""
    from tests.pg import Cluster

    config = tmp / "saturate.yaml"
    write_config(urls, args.port, args.shared, 2, config)  # due far faster than one daemon checks
    cluster = Cluster()
    try:
        for name, state in (("SQLite", tmp / "sat-state"), ("PostgreSQL", cluster.new_database())):
            run = Run(config, state, args.port + 20, tmp / f"sat-{name}.log")
            run.wait_for(lambda run=run: checks_done(metrics(run.port)) >= args.shared, timeout=900)
            spy = run.profile(args.seconds, args.profile / f"{name}.txt") if args.profile else None
            before, cpu0, t0 = checks_done(metrics(run.port)), cpu_seconds(run.proc.pid), time.monotonic()
            time.sleep(args.seconds)
            m, elapsed = metrics(run.port), time.monotonic() - t0
            rate = (checks_done(m) - before) / elapsed
            cpu = (cpu_seconds(run.proc.pid) - cpu0) / elapsed * 100
            if spy:
                spy.wait()
            print(f"{name}, 1 daemon, {args.shared:,} sources due every 2 s: {rate:.0f} checks/s over {elapsed:.0f} s, "
                  f"CPU {cpu:.0f}% of a core, {rate / max(cpu, 1) * 100:.0f} checks a CPU-second")  # fmt: skip
            run.stop()
    finally:
        cluster.stop()


def shared(urls: list[str], args: argparse.Namespace, tmp: Path, seconds: float = 30.0) -> None:
    """1..N daemons on one PostgreSQL database, every source due every 10 s: how many checks a second
    they make together once every source has been checked once, and how late they start them."""
    from tests.pg import Cluster

    cluster = Cluster()
    try:
        config = tmp / "shared.yaml"
        write_config(urls, args.port, args.shared, 10, config)
        for count in range(1, args.daemons + 1):
            url = cluster.new_database()
            runs = [Run(config, url, args.port + 10 + i, tmp / f"pg{count}-{i}.log") for i in range(count)]
            for run in runs:
                run.wait_for(lambda run=run: checks_done(metrics(run.port)) >= 1)
            # Warm: every source checked once (new pages are read in full, later checks mostly answer 304).
            runs[0].wait_for(
                lambda runs=runs: sum(checks_done(metrics(r.port)) for r in runs) >= args.shared, timeout=900
            )
            before = sum(checks_done(metrics(r.port)) for r in runs)
            time.sleep(seconds)
            every = [metrics(r.port) for r in runs]
            rate = (sum(checks_done(m) for m in every) - before) / seconds
            p99 = max(m.get('watcher_schedule_lag_seconds{quantile="0.99"}', 0) for m in every)
            print(f"PostgreSQL, {count} daemon(s), {args.shared:,} sources due every 10 s: {rate:.0f} checks/s "
                  f"together, lag p99 {p99:.1f} s")  # fmt: skip
            for run in runs:
                run.stop()
    finally:
        cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--port", type=int, default=8821)
    ap.add_argument("--daemons", type=int, default=0, help="also run 1..N daemons on one PostgreSQL database")
    ap.add_argument("--shared", type=int, default=5000, help="sources for the PostgreSQL runs")
    ap.add_argument(
        "--saturate", action="store_true", help="only one daemon's ceiling, SQLite and PostgreSQL"
    )
    ap.add_argument("--profile", type=Path, help="--saturate: py-spy stacks of each daemon into this folder")
    args = ap.parse_args()
    corpus = ensure_corpus(5000, HERE / ".corpus-5000")
    urls = (corpus / "urls.txt").read_text().split()
    server = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), "--corpus", str(corpus), "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    interval = args.sources / args.rate
    try:
        time.sleep(1.0)
        if args.saturate:
            with tempfile.TemporaryDirectory() as tmp:
                saturate(urls, args, Path(tmp))
            return
        with tempfile.TemporaryDirectory() as tmp:
            config, state = Path(tmp) / "watcher.yaml", Path(tmp) / "state"
            write_config(urls, args.port, args.sources, interval, config)
            print(
                f"{args.sources:,} sources, each every {interval:g} s (about {args.rate:g} checks/s once spread)"
            )
            http = args.port + 1
            run = Run(config, state, http, Path(tmp) / "run.log")
            watching = run.wait_for(lambda: run.logged("watching "))
            first = run.wait_for(lambda: checks_done(metrics(http)) >= 1)
            print(f"start: watching after {watching:.1f} s, first check done after {first:.1f} s")
            samples, cpu0, t0 = [], cpu_seconds(run.proc.pid), time.monotonic()
            done0 = checks_done(metrics(http))
            while time.monotonic() - t0 < args.seconds:
                time.sleep(1.0)
                samples.append(rss_mb(run.proc.pid))
            m = metrics(http)
            elapsed = time.monotonic() - t0
            rate = (checks_done(m) - done0) / elapsed
            cpu = (cpu_seconds(run.proc.pid) - cpu0) / elapsed * 100
            p50, p99 = (
                m.get('watcher_schedule_lag_seconds{quantile="0.5"}', 0),
                m.get('watcher_schedule_lag_seconds{quantile="0.99"}', 0),
            )
            print(f"checking for {elapsed:.0f} s: {rate:.1f} checks/s, lag p50 {p50:.2f} s p99 {p99:.2f} s, "
                  f"RSS {samples[0]:.1f} -> {samples[-1]:.1f} MB (max {max(samples):.1f}), CPU {cpu:.0f}% of a core, {rate / max(cpu, 1) * 100:.0f} checks a CPU-second")  # fmt: skip
            run.stop()

            with sqlite3.connect(state / "watcher.db") as db:  # every source checked just now
                db.execute("UPDATE sources SET next_due=?, claimed_by=NULL",
                           [time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600 + 86400))])  # fmt: skip
            idle = Run(config, state, http, Path(tmp) / "idle.log")
            watching = idle.wait_for(lambda: idle.logged("watching "))
            time.sleep(5)
            cpu0, t0, samples = cpu_seconds(idle.proc.pid), time.monotonic(), []
            while time.monotonic() - t0 < 30:
                time.sleep(1.0)
                samples.append(rss_mb(idle.proc.pid))
            cpu = (cpu_seconds(idle.proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            checks = checks_done(metrics(http))
            print(f"nothing due: watching after {watching:.1f} s; RSS {samples[-1]:.1f} MB, CPU {cpu:.2f}% of a core, "
                  f"{checks:g} checks")  # fmt: skip
            idle.stop()
            if args.daemons:
                shared(urls, args, Path(tmp))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
