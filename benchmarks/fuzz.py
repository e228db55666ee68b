"""Random mutations of real pages through decoding and extraction: nothing but the project's own errors.

    python benchmarks/fuzz.py [--n 100000] [--seed 1] [--out .fuzz-failures]     (make fuzz)

The seeds are the real-page corpus and the fixture pages. Each mutant is bytes: flips, cuts, repeats,
spliced hostile fragments (javascript: and file: links, ports past 65535, broken IPv6 hosts, impossible
dates and timestamps, odd charsets, deep nesting, NULs, stray UTF-16). Every mutant is decoded and read
(`extract`, 2 s CPU budget). Anything raised that is not a WatcherError is a failure: its bytes are saved
under --out to reproduce. Prints mutants, failures by exception, the slowest page and the pages over the
budget.
"""

from __future__ import annotations

import argparse
import random
import time
import traceback
from collections import Counter
from pathlib import Path

from watcher.charset import decode
from watcher.errors import WatcherError
from watcher.extract import extract

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = [
    b'<a href="javascript:alert(1)">\xe5\x85\xb3\xe4\xba\x8e\xe7\x94\xb3\xe6\x8a\xa5\xe7\x9a\x84\xe9\x80\x9a\xe7\x9f\xa5</a>',
    b'<a href="http://127.0.0.1:99999/x.html">\xe7\xab\xaf\xe5\x8f\xa3\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8\xe7\x9a\x84\xe9\x80\x9a\xe7\x9f\xa5</a>',
    b'<a href="http://[::1/x">\xe5\x9d\x8f\xe5\x9c\xb0\xe5\x9d\x80\xe7\x9a\x84\xe9\x80\x9a\xe7\x9f\xa5\xe5\x85\xac\xe5\x91\x8a</a>',
    b'<a href="file:///etc/passwd">\xe6\x96\x87\xe4\xbb\xb6\xe9\x93\xbe\xe6\x8e\xa5\xe7\x9a\x84\xe9\x80\x9a\xe7\x9f\xa5</a>',
    b'<a href="//[fe80::1%25eth0]/a.pdf">a.pdf</a>', b'<a href="http://\xe2\x84\x80.com/x">x</a>',
    b"<span>9999-99-99</span>", b"<span>2026-02-30</span>", b"<span>0000\xe5\xb9\xb41\xe6\x9c\x881\xe6\x97\xa5</span>",
    b"<span>[13-45]</span>", b"<span>99999999\xe5\xb9\xb4\xe5\x89\x8d</span>", b"<span>4/31/2020 25:61:61 PM</span>",
    b'<meta charset="rot13">', b'<meta charset="utf-32">', b'<meta http-equiv="content-type" content="text/html; charset=x-nonsense">',
    b'<meta name="PubDate" content="99999-1-1">', b'<meta name="ArticleTitle" content="<b>',
    b"<div>" * 700, b"<ul><li>" * 300, b"</div>" * 50, b"<table><tr><td>" * 200, b"\x00\x00", b"\xff\xfe",
    b"\xe5\x85", b"<!--", b"<script>", b"<![CDATA[", b"&#xFFFFFFFF;", b"&#0;", b"<a href=x title='" + b"A" * 5000 + b"'>",
    b"\xe7\x9b\xb8\xe5\x85\xb3\xe9\x80\x9a\xe7\x9f\xa5", b"\xe6\x88\xaa\xe6\xad\xa2\xe6\x97\xb6\xe9\x97\xb4\xef\xbc\x9a2026\xe5\xb9\xb413\xe6\x9c\x8840\xe6\x97\xa5",
    b'{"articles": [{"title": "x", "url": "javascript:x", "first_publish_time": 1e308}]}',
    b'<?xml version="1.0"?><rss><channel><item><title>t</title><link>javascript:x</link><pubDate>Mon, 99 Foo 99999</pubDate></item></channel></rss>',
]  # fmt: skip


def seeds() -> list[bytes]:
    pages = sorted((ROOT / "tests" / "realpages").glob("*.html")) + sorted(
        (ROOT / "tests" / "fixtures" / "pages").glob("*")
    )
    return [p.read_bytes()[:200_000] for p in pages if p.is_file() and p.stat().st_size < 5_000_000]


def mutate(page: bytes, rng: random.Random) -> bytes:
    data = bytearray(page)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip bytes
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1:  # cut a range
            del data[at : at + rng.randint(1, 4000)]
        elif op == 2:  # repeat a range
            chunk = data[at : at + rng.randint(1, 2000)]
            data[at:at] = chunk * rng.randint(2, 20)
        elif op in (3, 4):  # splice a hostile fragment
            data[at:at] = rng.choice(HOSTILE)
        elif op == 5:  # truncate
            del data[at:]
        else:  # a run of random bytes
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / ".fuzz-failures"))
    args = ap.parse_args()
    rng, pages = random.Random(args.seed), seeds()
    failures: Counter[str] = Counter()
    own: Counter[str] = Counter()
    slowest, over, started = 0.0, 0, time.monotonic()
    out = Path(args.out)
    for _ in range(args.n):
        mutant = mutate(rng.choice(pages), rng)
        cpu = time.process_time()
        try:
            text, encoding = decode(mutant)
            extract(text, rng.choice(["http://kjj.gz.gov.cn/tzgg/index.html", "https://a.gov.cn/x/t20260101_1.html"]),
                    encoding, kind=rng.choice(["auto", "auto", "auto", "list", "notice", "feed", "gkmlpt"]))  # fmt: skip
        except WatcherError as exc:
            own[str(exc).split(":")[0][:40]] += 1
        except Exception as exc:
            key = f"{type(exc).__name__}: {traceback.extract_tb(exc.__traceback__)[-1].name}"
            if not failures[key]:
                out.mkdir(exist_ok=True)
                (out / f"{len(failures)}-{type(exc).__name__}.bin").write_bytes(mutant)
            failures[key] += 1
        spent = time.process_time() - cpu
        slowest = max(slowest, spent)
        over += spent > 2.5  # the 2 s budget, and decoding
    print(f"{args.n:,} mutants of {len(pages)} pages in {time.monotonic() - started:.0f} s")
    print(f"exceptions other than the project's own: {sum(failures.values())}")
    for key, count in failures.most_common():
        print(f"  {count:>6}  {key}")
    print(f"project's own errors (expected for broken input): {sum(own.values())}, e.g. {own.most_common(3)}")
    print(f"slowest page {slowest * 1e3:.0f} ms CPU; pages over the budget: {over}")


if __name__ == "__main__":
    main()
