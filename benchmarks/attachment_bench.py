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


def check_with_attachments(notices: int, read_them: bool) -> tuple[float, float, int]:
    """A cold check of one list of `notices` recent notices, each with a guide (DOCX) and a table (XLSX)
    of its own: wall seconds, CPU seconds of this process and its workers, attachments parsed."""
    import datetime as dt
    import resource
    import tempfile

    from watcher import app
    from watcher import config as config_mod
    from watcher.demo import docx, xlsx
    from watcher.localsite import LocalServer

    today = dt.date.today().isoformat()
    with LocalServer() as server, tempfile.TemporaryDirectory() as state:
        rows = []
        for i in range(notices):
            path, title = f"/n/{i}.html", f"关于组织申报第{i}批科技计划项目的通知"
            rows.append(f'<li><a href="{path}">{title}</a><span>{today}</span></li>')
            guide = docx(
                [f"第{i}批申报指南", f"申报截止时间：2026年12月{1 + i % 28}日"]
                + [f"第{k}条 要求{i}" for k in range(60)]
            )
            table = xlsx(
                [["序号", "单位", "项目"]] + [[str(k), f"单位{i}-{k}", "联合攻关"] for k in range(40)]
            )
            links = f'<a href="/f/{i}.docx">申报指南.docx</a><a href="/f/{i}.xlsx">汇总表.xlsx</a>'
            server.site.put(
                path,
                f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
                f"<p>发布日期：{today}</p><div><p>{'各有关单位：现将有关事项通知如下。' * 5}</p>{links}</div></body></html>",
            )
            server.site.put(f"/f/{i}.docx", guide, content_type="application/octet-stream")
            server.site.put(f"/f/{i}.xlsx", table, content_type="application/octet-stream")
        server.site.put("/list.html", f"<html><body><ul>{''.join(rows)}</ul></body></html>")
        text = (
            f"settings:\n  per_host: {{concurrency: 8, delay: 0}}\n  read_attachments: {str(read_them).lower()}\n"
            f"sources:\n  - name: s\n    url: {server.url('/list.html')}\n    max_follow: {notices}\n    robots: false\n"
        )
        config = config_mod.load("bench.yaml", state=state, text=text)

        def cpu() -> float:
            own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

        async def run() -> int:
            async with app.open_checker(config) as checker:
                await checker.check_all()
                return checker.attachments.parsed

        started, cpu_before = time.perf_counter(), cpu()
        parsed = asyncio.run(run())
        return time.perf_counter() - started, cpu() - cpu_before, parsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--notices", type=int, default=100)
    args = parser.parse_args()
    for read_them in (False, True):
        wall, cpu, parsed = check_with_attachments(args.notices, read_them)
        print(
            f"cold check, {args.notices} new notices with 2 attachments each, attachments "
            f"{'read' if read_them else 'not read'}: {wall:.1f} s wall, {cpu:.1f} s CPU, {parsed} parsed"
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
