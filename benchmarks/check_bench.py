"""Wall time, CPU time and peak RSS of `watcher check` over the shared benchmark corpus, as a ratio to a
bare fetch-and-parse loop run beside it.

    python benchmarks/check_bench.py [--n 5000] [--before DIR]

Builds the corpus with ../shared/bench/make_corpus.py (once), serves it with ../shared/bench/serve.py on
127.0.0.1, watches every URL as its own source (as the reference figures do), and runs three checks,
each in a fresh process: cold, unchanged re-check, and re-check after the server switches to round 2.
Before each check the same pass runs through the reference: a bare aiohttp + selectolax loop (fetch every
page with the same concurrency, conditional GET from the second pass on, decode, parse, take the links),
with no state but its validators. Ratios are watcher's wall time over the loop's in the same run, so a
loaded machine slows both alike. Peak RSS is the highest sum over a process and all its children
(sampled from /proc every 10 ms), so work moved into worker processes is counted. Prints correctness
(changes found, false alerts) for watcher and the loop's answers by status. Per-host limits are lifted:
one local host serves everything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
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
    lines = ["settings:", f"  concurrency: {CONCURRENCY}", f"  per_host: {{concurrency: {CONCURRENCY}, delay: 0}}",
             "sources:"]  # fmt: skip
    for i, u in enumerate(urls):
        lines += [
            f"  - name: s{i}",
            f"    url: http://127.0.0.1:{port}{u}",
            "    follow: false",
            "    robots: false",
        ]
    path.write_text("\n".join(lines) + "\n")


# The reference: what fetching and parsing every page costs with nothing else. Validators are kept in a
# JSON file between passes (each pass is a fresh process, like watcher's).
BARE_LOOP = """
import asyncio, json, os, sys, time
import aiohttp
from selectolax.lexbor import LexborHTMLParser

base, urls_file, etags_file, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t, cpu = time.perf_counter(), time.process_time()
urls = open(urls_file).read().split()
etags = json.load(open(etags_file)) if os.path.exists(etags_file) else {}
status, changed, links = {}, [], 0

async def one(session, url):
    global links
    headers = {"If-None-Match": etags[url]} if url in etags else {}
    async with session.get(base + url, headers=headers) as r:
        body = await r.read()
        status[r.status] = status.get(r.status, 0) + 1
        if r.status != 200:
            return
        etags[url] = r.headers.get("ETag", "")
        changed.append(url)
        text = body.decode(r.charset or "utf-8", "replace")
        tree = LexborHTMLParser(text)
        links += sum(1 for a in tree.css("a[href]") if a.attributes.get("href"))

async def main():
    todo = list(reversed(urls))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker():
            while todo:
                await one(session, todo.pop())
        await asyncio.gather(*(worker() for _ in range(concurrency)))

asyncio.run(main())
json.dump(etags, open(etags_file, "w"))
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - cpu,
                  "status": status, "changed": sorted(changed), "links": links}))
"""
CONCURRENCY = 16


class TreeRSS:
    """The highest resident size summed over a process and its descendants, sampled from /proc."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 1024 / 1024

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_statm(p) for p in _tree(self.pid)) * page)
            time.sleep(self.every)


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def _statm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def run_child(args: list[str], cwd: Path | None = None) -> dict[str, object]:
    """A child process reporting JSON on its last line, with the peak RSS of its whole process tree."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    rss = TreeRSS(proc.pid)
    out, err = proc.communicate()
    peak = rss.stop()
    if proc.returncode:
        raise SystemExit(f"{args[:2]} failed ({proc.returncode}):\n{err[-3000:]}")
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["tree_mb"] = peak
    return result


def bare(port: int, urls: Path, etags: Path) -> dict[str, object]:
    return run_child([sys.executable, "-c", BARE_LOOP, f"http://127.0.0.1:{port}", str(urls), str(etags),
                      str(CONCURRENCY)])  # fmt: skip


def phase(config: Path, state: Path, tree: Path | None = None) -> dict[str, object]:
    """One check in a child process; it reports its own wall and CPU (its workers' included). `tree`: a
    directory holding another `watcher` package (a before to compare with), imported instead."""
    code = (
        "import asyncio,json,resource,time,sys\n"
        "from watcher import config as c\nfrom watcher.app import check_sources\n"
        "def used():\n"
        " s,c=resource.getrusage(resource.RUSAGE_SELF),resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        " return s.ru_utime+s.ru_stime+c.ru_utime+c.ru_stime\n"
        "t=time.perf_counter();cpu=used()\n"
        "s0=resource.getrusage(resource.RUSAGE_SELF);cpu0=s0.ru_utime+s0.ru_stime\n"
        f"cfg=c.load({str(config)!r}, state={str(state)!r})\n"
        "res=asyncio.run(check_sources(cfg))\n"
        "main=resource.getrusage(resource.RUSAGE_SELF)\n"
        "out={'wall':time.perf_counter()-t,'cpu':used()-cpu,'cpu_main':main.ru_utime+main.ru_stime-cpu0,"
        "'rss_mb':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024,"
        "'changed':sorted(r.name for r in res if r.count('changed')),"
        "'with_new':sorted(r.name for r in res if r.count('new')),"
        "'with_removed':sorted(r.name for r in res if r.count('removed')),"
        "'errors':sum(1 for r in res if r.status in ('error','blocked'))}\n"
        "print(json.dumps(out))\n"
    )
    return run_child([sys.executable, "-c", code], cwd=tree)


PASSES = ("first check", "unchanged (304s)", "10% changed")


def run_once(
    corpus: Path, port: int, before: Path | None = None
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """The three passes, each through the bare loop and then watcher (and the `before` tree's watcher on a
    state of its own, when given), from round 1 and empty state."""
    loop, checks, befores = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        config, state, etags = Path(tmp) / "bench.yaml", Path(tmp) / "state", Path(tmp) / "etags.json"
        write_config(corpus, port, config)
        for label in PASSES:
            rnd = 2 if label == PASSES[2] else 1
            round_is(port, rnd)
            loop.append(bare(port, corpus / "urls.txt", etags))
            if before is not None:
                befores.append(phase(config, Path(tmp) / "state-before", before))
            checks.append(phase(config, state))
            if round_is(port) != rnd:  # the machine is shared: someone signalled every serve.py
                raise SystemExit(f"the server left round {rnd} during {label!r}: figures void, run again")
    return loop, checks, befores


def wait_for(port: int, seconds: float = 60.0) -> None:
    """The server reads the whole corpus before it listens: several seconds for 5,000 pages on a busy machine."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            round_is(port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def round_is(port: int, switch: int | None = None) -> int:
    """The server's round, after switching it to `switch` when given."""
    url = f"http://127.0.0.1:{port}/__round" + (f"/{switch}" if switch else "")
    return int(json.loads(urllib.request.urlopen(url).read())["round"])


def report(
    corpus: Path,
    loop: list[dict[str, object]],
    checks: list[dict[str, object]],
    befores: list[dict[str, object]],
) -> None:
    urls = (corpus / "urls.txt").read_text().split()
    name_of = {u: f"s{i}" for i, u in enumerate(urls)}
    cold, unchanged, mutated = checks
    expected = {name_of[u] for u in (corpus / "expected_changed.txt").read_text().split()}
    noticed = set(mutated["changed"]) | set(mutated["with_new"])  # type: ignore[arg-type]
    # A list page whose entries only shifted (one fell to the next page) has no new or changed notice:
    # what changed is which entries it lists, recorded as "removed from the list" (not alerted).
    shifted = set(mutated["with_removed"]) - noticed  # type: ignore[arg-type]
    found = noticed | shifted
    differ = {u for u in urls if (corpus / "round1" / u.lstrip("/")).read_bytes()
              != (corpus / "round2" / u.lstrip("/")).read_bytes()}  # fmt: skip
    print(f"{'pass':<26}{'bare loop s':>12}{'watcher s':>11}{'ratio':>7}{'cpu s (main)':>14}{'loop cpu':>9}"
          f"{'RSS MB (all procs)':>20}{'loop RSS':>9}{'errors':>7}")  # fmt: skip
    for label, ref, r in zip(PASSES, loop, checks, strict=True):
        ratio = float(r["wall"]) / float(ref["wall"])  # type: ignore[arg-type]
        print(f"{label:<26}{ref['wall']:>12.2f}{r['wall']:>11.2f}{ratio:>6.1f}x{r['cpu']:>7.1f} ({r['cpu_main']:>4.1f}){ref['cpu']:>9.1f}"
              f"{r['tree_mb']:>20.0f}{ref['tree_mb']:>9.0f}{r['errors']:>7}")  # fmt: skip
    for label, ref, r in zip(PASSES, loop, befores, strict=False):
        ratio = float(r["wall"]) / float(ref["wall"])  # type: ignore[arg-type]
        print(f"{'  before: ' + label:<26}{'':>12}{r['wall']:>11.2f}{ratio:>6.1f}x{r['cpu']:>7.1f} ({r['cpu_main']:>4.1f})"
              f"{'':>9}{r['tree_mb']:>20.0f}{'':>9}{r['errors']:>7}")  # fmt: skip
    quiet = len(unchanged["changed"]) + len(unchanged["with_new"]) + len(unchanged["with_removed"])  # type: ignore[arg-type]
    exact = found == expected and quiet == 0 and not any(r["errors"] for r in checks)
    print(
        f"watcher {'EXACT' if exact else 'NOT EXACT'}: changes found {len(found & expected)}/{len(expected)} "
        f"({len(noticed & expected)} new or changed notices, {len(shifted & expected)} lists whose entries "
        f"shifted, recorded as removals); false: {len(found - expected)}; reported on the unchanged re-check: "
        f"{quiet}; first-check errors {cold['errors']}"
    )
    answers = [set(ref["changed"]) for ref in loop]  # type: ignore[arg-type]
    bare_exact = answers[0] == set(urls) and not answers[1] and answers[2] == differ
    print(f"bare loop {'EXACT' if bare_exact else 'NOT EXACT'}: 200s {len(answers[0])}/{len(urls)}, "
          f"{len(answers[1])}/0 on the unchanged pass, {len(answers[2])}/{len(differ)} pages whose bytes "
          f"changed; answers {[ref['status'] for ref in loop]}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--port", type=int, default=8811)  # pick a free one: others may bench too
    ap.add_argument("--before", type=Path, help="a directory holding another watcher package, run beside")
    ap.add_argument(
        "--repeat", type=int, default=1, help="run the three passes this many times (noisy machines)"
    )
    args = ap.parse_args()
    corpus = ensure_corpus(args.n, HERE / f".corpus-{args.n}")
    n_urls = len((corpus / "urls.txt").read_text().split())
    server = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), "--corpus", str(corpus), "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(args.port)
        print(f"corpus: {n_urls} URLs, each its own source ({os.cpu_count()} cores, one local server, "
              f"concurrency {CONCURRENCY} for both)")  # fmt: skip
        for i in range(args.repeat):
            loop, checks, befores = run_once(corpus, args.port, args.before)
            print(f"-- run {i + 1} of {args.repeat}")
            report(corpus, loop, checks, befores)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
