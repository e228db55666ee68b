"""Wall time, CPU time and peak RSS of `watcher check` over the shared benchmark corpus.

    python benchmarks/check_bench.py [--n 5000] [--corpus DIR]

Builds the corpus with ../shared/bench/make_corpus.py (once), serves it with ../shared/bench/serve.py on
127.0.0.1, watches every URL as its own source (as the reference figures do), and runs three checks,
each in a fresh process: cold, unchanged re-check, and re-check after the server switches to round 2.
Prints figures and correctness (changes found, false alerts). Per-host limits are lifted: one local host
serves everything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"


def ensure_corpus(n: int, out: Path) -> Path:
    if not (out / "meta.json").exists():
        subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), "--n", str(n), "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def write_config(corpus: Path, port: int, path: Path) -> None:
    urls = (corpus / "urls.txt").read_text().split()
    lines = ["settings:", "  concurrency: 16", "  per_host: {concurrency: 16, delay: 0}", "sources:"]
    for i, u in enumerate(urls):
        lines += [
            f"  - name: s{i}",
            f"    url: http://127.0.0.1:{port}{u}",
            "    follow: false",
            "    robots: false",
        ]
    path.write_text("\n".join(lines) + "\n")


def phase(config: Path, state: Path) -> dict[str, object]:
    """One check in a child process; it reports its own wall, CPU and peak RSS."""
    code = (
        "import asyncio,json,resource,time,sys\n"
        "from watcher import config as c\nfrom watcher.app import check_sources\n"
        "t=time.perf_counter();cpu=time.process_time()\n"
        f"cfg=c.load({str(config)!r}, state={str(state)!r})\n"
        "res=asyncio.run(check_sources(cfg))\n"
        "out={'wall':time.perf_counter()-t,'cpu':time.process_time()-cpu,"
        "'rss_mb':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024,"
        "'changed':sorted(r.name for r in res if r.count('changed')),"
        "'with_new':sorted(r.name for r in res if r.count('new')),"
        "'with_removed':sorted(r.name for r in res if r.count('removed')),"
        "'errors':sum(1 for r in res if r.status in ('error','blocked'))}\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--port", type=int, default=8811)
    args = ap.parse_args()
    corpus = ensure_corpus(args.n, HERE / f".corpus-{args.n}")
    urls = (corpus / "urls.txt").read_text().split()
    name_of = {u: f"s{i}" for i, u in enumerate(urls)}
    server = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), "--corpus", str(corpus), "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(1.0)
        with tempfile.TemporaryDirectory() as tmp:
            config, state = Path(tmp) / "bench.yaml", Path(tmp) / "state"
            write_config(corpus, args.port, config)
            cold = phase(config, state)
            unchanged = phase(config, state)
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/__round/2").read()
            mutated = phase(config, state)
    finally:
        server.terminate()
    expected = {name_of[u] for u in (corpus / "expected_changed.txt").read_text().split()}
    noticed = set(mutated["changed"]) | set(mutated["with_new"])  # type: ignore[arg-type]
    # A list page whose entries only shifted (one fell to the next page) has no new or changed notice:
    # what changed is which entries it lists, recorded as "removed from the list" (not alerted).
    shifted = set(mutated["with_removed"]) - noticed  # type: ignore[arg-type]
    found = noticed | shifted
    print(f"corpus: {len(urls)} URLs watched, {len(expected)} changed in round 2 "
          f"({os.cpu_count()} cores, one local server)")  # fmt: skip
    print(f"{'run':<22}{'wall s':>8}{'cpu s':>8}{'peak RSS MB':>13}{'errors':>8}")
    for label, r in (("cold check", cold), ("unchanged re-check", unchanged), ("after 10% mutated", mutated)):
        print(f"{label:<22}{r['wall']:>8.1f}{r['cpu']:>8.1f}{r['rss_mb']:>13.1f}{r['errors']:>8}")
    quiet = len(unchanged["changed"]) + len(unchanged["with_new"]) + len(unchanged["with_removed"])  # type: ignore[arg-type]
    print(
        f"changes found: {len(found & expected)}/{len(expected)} ({len(noticed & expected)} new or changed "
        f"notices, {len(shifted & expected)} lists whose entries shifted, recorded as removals); "
        f"false: {len(found - expected)}; reported on the unchanged re-check: {quiet}"
    )
    print(
        "reference (shared/bench README, same machine class): urlwatch 2.29 23.5 s cold, 57.1 s unchanged, 220-262 MB"
    )


if __name__ == "__main__":
    main()
