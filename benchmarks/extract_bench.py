"""Pages a second for fetch + decode + extract + normalize, with the raw selectolax parse rate beside it.

    python benchmarks/extract_bench.py [--n 1000]

Uses the shared corpus generator and server (../shared/bench), all on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from watcher.charset import decode
from watcher.extract import extract
from watcher.fetch import Fetcher, FetchSettings
from watcher.models import NotModified
from watcher.normalize import fold

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "bench"


def corpus(n: int) -> Path:
    out = HERE / f".corpus-{n}"
    if not (out / "meta.json").exists():
        subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), "--n", str(n), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def offline(paths: list[str], root: Path) -> None:
    bodies = [(root / "round1" / p.lstrip("/")).read_bytes() for p in paths]
    texts = [decode(b) for b in bodies]
    start = time.process_time()
    for text, _ in texts:
        LexborHTMLParser(text)
    parse = time.process_time() - start
    start = time.process_time()
    for (text, enc), path in zip(texts, paths, strict=True):
        x = extract(text, "http://127.0.0.1" + path, enc)
        fold(x.text)
    work = time.process_time() - start
    kb = sum(len(b) for b in bodies) / len(bodies) / 1024
    print(f"{len(paths)} pages, mean {kb:.0f} KB")
    print(
        f"raw selectolax parse:       {len(paths) / parse:8.0f} pages/s ({parse / len(paths) * 1e3:.2f} ms CPU a page)"
    )
    print(f"extract + normalize:        {len(paths) / work:8.0f} pages/s ({work / len(paths) * 1e3:.2f} ms CPU a page, "
          f"{work / len(paths) * 1e3 * 30 / kb:.2f} ms scaled to a 30 KB page)")  # fmt: skip
    grown = [grow(text, 30 * 1024) for text, _ in texts]
    start = time.process_time()
    for text, path in zip(grown, paths, strict=True):
        x = extract(text, "http://127.0.0.1" + path, "utf-8")
        fold(x.text)
    big = time.process_time() - start
    kb30 = sum(len(t.encode()) for t in grown) / len(grown) / 1024
    print(f"extract + normalize, {kb30:.0f} KB: {len(paths) / big:8.0f} pages/s ({big / len(paths) * 1e3:.2f} ms CPU a page; "
          "the same pages with their body paragraphs repeated, each numbered, to 30 KB)")  # fmt: skip


_PARA = re.compile(r"<p>([^<]{20,})</p>")


def grow(text: str, size: int) -> str:
    """A longer notice: the page's own body paragraphs again, numbered so none is a duplicate."""
    paras = _PARA.findall(text)
    at = text.find("</p>", text.find('id="zoom"'))
    if not paras or at < 0:
        return text
    extra, n = [], 0
    while len(text.encode()) + sum(len(e.encode()) for e in extra) < size:
        n += 1
        extra.append(f"<p>（{n}）{paras[n % len(paras)]}</p>")
    return text[: at + 4] + "".join(extra) + text[at + 4 :]


async def online(paths: list[str], port: int) -> None:
    settings = FetchSettings(
        per_host_concurrency=16, per_host_delay=0, robots=False, allow_private=("127.0.0.1",)
    )
    gate = asyncio.Semaphore(16)
    async with Fetcher(settings) as fetcher:

        async def one(path: str) -> None:
            async with gate:
                page = await fetcher.get(f"http://127.0.0.1:{port}{path}")
            assert not isinstance(page, NotModified)
            fold(extract(page.text, page.url, page.encoding).text)

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(p) for p in paths))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"fetch + decode + extract + normalize, 16 in flight: {len(paths) / wall:.0f} pages/s "
          f"({wall:.1f} s wall, {cpu / len(paths) * 1e3:.2f} ms CPU a page)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--port", type=int, default=8812)
    args = ap.parse_args()
    root = corpus(args.n)
    paths = (root / "urls.txt").read_text().split()
    offline(paths, root)
    server = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), "--corpus", str(root), "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(1.0)
        asyncio.run(online(paths, args.port))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
