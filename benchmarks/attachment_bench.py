"""Attachments: each reader on the real files in tests/attachments and on made ones, in process and
through the worker process; the libraries compared where they are installed; what the parsers would cost
the daemon's memory if they were imported there.

    python benchmarks/attachment_bench.py [--repeat 5]

The alternatives (pdfminer.six, pypdf, openpyxl, python-docx) are not dependencies: install them beside
watcher to see the comparison (`pip install pdfminer.six pypdf openpyxl python-docx`).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import documents  # noqa: E402
from watcher.attachments.formats import read  # noqa: E402
from watcher.attachments.worker import Limits, parse  # noqa: E402
from watcher.clock import system_clock  # noqa: E402
from watcher.clock import today as clock_today  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: imports and caches
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def files() -> dict[str, bytes]:
    real = {
        p.name: p.read_bytes()
        for p in sorted((ROOT / "tests" / "attachments").iterdir())
        if p.suffix != ".yaml"
    }
    lines = ["广佛科技创新合作专项申报指南", "申报截止时间：2026年12月5日"] + [
        f"第{i}条 申报要求说明" for i in range(400)
    ]
    made = {
        "made guide.docx": documents.docx(lines),
        "made sheet.xlsx": documents.xlsx(
            [[str(i), "佛山市南海区科技局", "智能装备联合实验室"] for i in range(2000)]
        ),
        "made guide.pdf": documents.pdf(lines[:38]),
    }
    return {**real, **made}


def alternatives() -> dict[str, Callable[[bytes], str]]:
    out: dict[str, Callable[[bytes], str]] = {}
    try:
        from pdfminer.high_level import extract_text

        out["pdf pdfminer.six"] = lambda b: extract_text(io.BytesIO(b))
    except ImportError:
        pass
    try:
        import pypdf

        out["pdf pypdf"] = lambda b: "\n".join(
            p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(b)).pages
        )
    except ImportError:
        pass
    try:
        import openpyxl

        def by_openpyxl(b: bytes) -> str:
            book = openpyxl.load_workbook(io.BytesIO(b), read_only=True, data_only=True)
            return "\n".join(
                "\t".join(str(c) for c in row if c is not None)
                for ws in book.worksheets
                for row in ws.iter_rows(values_only=True)
            )

        out["xlsx openpyxl"] = by_openpyxl
    except ImportError:
        pass
    try:
        import docx

        def by_python_docx(b: bytes) -> str:
            return "\n".join(p.text for p in docx.Document(io.BytesIO(b)).paragraphs)

        out["docx python-docx"] = by_python_docx
    except ImportError:
        pass
    return out


def rss_after(code: str) -> float:
    """Resident MB of a fresh interpreter after running `code`."""
    probe = (
        code
        + "\nfrom pathlib import Path\nprint([l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmRSS')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.split()[-1]) / 1024


def check_with_attachments(notices: int, read_them: bool) -> tuple[float, float, int, float, float]:
    """A cold check of one list of `notices` recent notices, each with two of the real attachments (PDF,
    DOC, WPS, DOCX, XLSX, XLS in turn), made distinct by a trailing comment so that each is read: wall
    seconds, CPU seconds of the checking process and its workers, attachments parsed, peak RSS MB of the
    checking process and of the largest worker."""
    import tempfile

    from watcher.localsite import LocalServer

    real = [p for p in sorted((ROOT / "tests" / "attachments").iterdir()) if p.suffix != ".yaml"]
    today = clock_today(system_clock).isoformat()
    body = "各有关单位：现将有关事项通知如下。" * 5
    with LocalServer() as server, tempfile.TemporaryDirectory() as state:
        rows = []
        for i in range(notices):
            path, title = f"/n/{i}.html", f"关于组织申报第{i}批科技计划项目的通知"
            rows.append(f'<li><a href="{path}">{title}</a><span>{today}</span></li>')
            links = []
            for k in range(2):
                file = real[(2 * i + k) % len(real)]
                data = file.read_bytes() + f"\n%{i}-{k}\n".encode()
                server.site.put(f"/f/{i}-{k}{file.suffix}", data, content_type="application/octet-stream")
                links.append(f'<a href="/f/{i}-{k}{file.suffix}">附件{k + 1}{file.suffix}</a>')
            page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>发布日期：{today}</p>"
            server.site.put(path, page + f"<div><p>{body}</p>{''.join(links)}</div></body></html>")
        server.site.put("/list.html", f"<html><body><ul>{''.join(rows)}</ul></body></html>")
        text = (
            f"settings:\n  per_host: {{concurrency: 8, delay: 0}}\n  read_attachments: {str(read_them).lower()}\n"
            f"sources:\n  - name: s\n    url: {server.url('/list.html')}\n    max_follow: {notices}\n    robots: false\n"
        )
        (Path(state) / "bench.yaml").write_text(text, "utf-8")
        return _check_in_child(Path(state) / "bench.yaml", Path(state) / "state")


_CHILD = """
import asyncio, json, resource, sys, time
from watcher import app, config
cfg = config.load(sys.argv[1], state=sys.argv[2])
async def run():
    async with app.open_checker(cfg) as checker:
        await checker.check_all()
        return checker.attachments.parsed
t = time.perf_counter()
parsed = asyncio.run(run())
own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([time.perf_counter() - t, own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
                  parsed, own.ru_maxrss / 1024, kids.ru_maxrss / 1024]))
"""


def _check_in_child(config: Path, state: Path) -> tuple[float, float, int, float, float]:
    """The check in a process of its own, so that its peak RSS is the checker's alone."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(config), str(state)], capture_output=True, text=True,
                         check=True, cwd=ROOT)  # fmt: skip
    wall, cpu, parsed, own, worker = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu, int(parsed), own, worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--notices", type=int, default=100)
    args = parser.parse_args()
    for read_them in (False, True):
        wall, cpu, parsed, own, worker = check_with_attachments(args.notices, read_them)
        rate = f", {parsed / wall:.0f} attachments/s" if parsed else ""
        print(
            f"cold check, {args.notices} new notices with 2 real attachments each, attachments "
            f"{'read' if read_them else 'not read'}: {wall:.1f} s wall, {cpu:.1f} s CPU, {parsed} parsed{rate}; "
            f"peak RSS {own:.1f} MB checking, {worker:.1f} MB in the largest worker"
        )
    others = alternatives()
    print(
        f"{'file':<18} {'kind':<5} {'bytes':>9} {'chars':>8} {'read ms':>8} {'new worker ms':>14}  alternatives (ms)"
    )
    for name, data in files().items():
        reading = read(data)
        in_process = timed(lambda data=data: read(data), args.repeat)
        worker = timed(lambda data=data: asyncio.run(parse(data, Limits())), max(1, args.repeat // 2))
        compared = [
            f"{label.split()[1]} {timed(lambda fn=fn, data=data: fn(data), args.repeat):.1f}"
            for label, fn in others.items()
            if label.split()[0] == reading.kind
        ]
        print(
            f"{name:<18} {reading.kind:<5} {len(data):>9,} {len(reading.text):>8,} {in_process:>8.1f} {worker:>14.1f}  "
            + ", ".join(compared)
        )
    base = rss_after("import watcher.pipeline, watcher.attachments")
    loaded = rss_after(
        "import watcher.pipeline, watcher.attachments, pypdfium2, python_calamine, olefile\n"
        "from watcher.attachments.formats import read"
    )
    print(
        f"daemon-side modules {base:.1f} MB RSS; with the parsers imported {loaded:.1f} MB (+{loaded - base:.1f} MB, paid only in the worker)"
    )


if __name__ == "__main__":
    main()
