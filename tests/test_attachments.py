"""Attachments read: real files of each format, hostile ones, and what their text does for deadlines,
classification, search, the archive and diffs. Real local server, real worker processes, real SQLite file,
a real webhook receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from watcher import app, queries
from watcher import config as config_mod
from watcher.attachments.formats import Unreadable
from watcher.attachments.formats import read as read_bytes
from watcher.attachments.worker import Limits, Parsed, Workers, parse
from watcher.localsite import LocalServer
from watcher.models import SourceResult, VersionRow
from watcher.store import Store

from . import documents, kit
from .kit import NOW
from .receivers import Webhook

REAL = Path(__file__).parent / "attachments"
SOURCES = yaml.safe_load((REAL / "SOURCES.yaml").read_text("utf-8"))
TITLE = "关于组织申报2026年度科技计划项目的通知"
GUIDE = "/kjj/attach/2026/申报指南.docx"


def read(data: bytes, limits: Limits | None = None) -> Parsed:
    return asyncio.run(parse(data, limits or Limits(seconds=20, memory_mb=768)))


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_real_attachments_are_read(name: str) -> None:
    facts = SOURCES[name]
    got = read((REAL / name).read_bytes())
    assert got.error is None and got.kind == facts["kind"]
    assert facts["phrase"] in got.text
    assert got.pages == facts.get("pages")


def test_a_docx_posted_as_wps_is_read_as_what_it_is() -> None:
    got = read((REAL / "notes.docx").read_bytes())  # the same bytes its repository also posts as test.wps
    assert got.kind == "docx" and "1\t2\t3" in got.text  # a table row on one line


def test_made_documents_with_chinese_text() -> None:
    guide = read(
        documents.docx(["广佛科技创新合作专项申报指南", "申报截止时间：2026年12月5日"], [["单位", "联系人"]])
    )
    sheet = read(documents.xlsx([["序号", "推荐单位"], ["1", "佛山市南海区科技局"]]))
    pdf = read(documents.pdf(["珠三角科技创新一体化项目申报指南", "受理截止时间：2026年12月8日"]))
    assert "申报截止时间：2026年12月5日" in guide.text and "单位\t联系人" in guide.text
    assert sheet.kind == "xlsx" and "佛山市南海区科技局" in sheet.text and sheet.pages == 1
    assert pdf.kind == "pdf" and "珠三角科技创新一体化" in pdf.text and pdf.pages == 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: documents.zip_bomb_docx(), "zip bomb: its parts inflate to 2,147,483,648 bytes"),
        (lambda: documents.pdf(["内部资料"], password="secret"), "encrypted PDF"),
        (documents.scanned_pdf, "no text layer (a scan?) in 1 page(s)"),
        (lambda: documents.pdf(["广佛科技创新合作专项申报指南"] * 30)[:1500], "damaged PDF"),
        (
            lambda: b"Rar!\x1a\x07\x00" + b"\x00" * 100,
            "rar file: watcher reads PDF, DOC, DOCX, WPS, XLS and XLSX",
        ),
        (lambda: b"\x00\x01binary junk" * 50, "not a format watcher reads"),
    ],
    ids=["zip-bomb", "encrypted", "scan", "truncated", "rar", "junk"],
)
def test_a_hostile_or_broken_file_gives_a_reason(make: Any, reason: str) -> None:
    got = read(make())
    assert got.text == "" and got.error is not None and reason in got.error


def test_mutated_files_give_text_or_a_reason_never_an_exception() -> None:
    """600 random mutations of the real files (bytes flipped, cut, inserted): each reads, or is Unreadable.
    Before the catch-all, 3,200 mutants gave 376 other exceptions (zipfile, zlib, PDFium, calamine panics)."""
    rng = random.Random(7)
    originals = [p.read_bytes() for p in sorted(REAL.iterdir()) if p.suffix != ".yaml"]
    outcomes: Counter[str] = Counter()
    for i in range(600):
        data = bytearray(originals[i % len(originals)])
        for _ in range(rng.randint(1, 20)):
            at = rng.randrange(len(data))
            if rng.random() < 0.6:
                data[at] = rng.randrange(256)
            elif rng.random() < 0.5:
                del data[at : at + rng.randint(1, 200)]
            else:
                data[at:at] = rng.randbytes(rng.randint(1, 50))
        try:
            read_bytes(bytes(data))
            outcomes["read"] += 1
        except Unreadable:
            outcomes["unreadable"] += 1
    assert outcomes["read"] + outcomes["unreadable"] == 600 and outcomes["unreadable"] > 0


def test_the_memory_limit_ends_the_worker_not_the_caller() -> None:
    """Calamine holds a whole sheet: 200,000 rows take about 270 MB to read, over a 120 MB limit; the
    worker is killed at the limit, the caller gets the reason at once and goes on."""
    rows = [[f"第{i}行", "佛山市科学技术局推荐的项目名称" * 4] for i in range(200_000)]
    started = time.monotonic()
    got = read(documents.xlsx(rows), Limits(seconds=30, memory_mb=120))
    assert (got.text, got.error) == ("", "needs more than 120 MB of memory to read")
    assert time.monotonic() - started < 10
    assert read(documents.xlsx(rows[:10])).error is None  # and the next one is read


def test_workers_are_kept_between_files_and_replaced_after_a_failure() -> None:
    small = [documents.docx([f"第{i}号文件"]) for i in range(3)]
    big = documents.xlsx([[f"第{i}行", "佛山市科学技术局推荐的项目名称" * 4] for i in range(200_000)])

    async def run() -> None:
        workers = Workers(Limits(seconds=20, memory_mb=120), size=1)
        try:
            assert "第0号文件" in (await workers.parse(small[0])).text
            (first,) = workers.kept
            assert "第1号文件" in (await workers.parse(small[1])).text and workers.kept == [first]
            assert "memory" in str((await workers.parse(big)).error) and workers.kept == []
            assert "第2号文件" in (await workers.parse(small[2])).text and workers.kept != [first]
        finally:
            await workers.aclose()

    asyncio.run(run())


# ---------------------------------------------------------------- in a check


def notice_page(title: str, body: str, attachments: list[tuple[str, str]], date: str = "2026-11-20") -> str:
    return kit.notice_page(title, [body], date=date, attachments=attachments)


OLDER = ("/kjj/tzgg/t0.html", "关于公布2026年度第一批科技计划项目评审结果的公示")


def publish(server: LocalServer, pages: dict[str, str], files: dict[str, bytes]) -> None:
    """A list of the given notices (each linking to every file) and an older notice without attachments."""
    rows = "".join(
        f'<li><a href="{path}">{title}</a><span>{date}</span></li>'
        for (path, title), date in [*((p, "2026-11-20") for p in pages.items()), (OLDER, "2026-10-09")]
    )
    server.site.put("/kjj/tzgg/index.html", f"<html><body><ul>{rows}</ul></body></html>")
    server.site.put(OLDER[0], notice_page(OLDER[1], BODY, [], date="2026-10-09"))
    for path, title in pages.items():
        server.site.put(path, notice_page(title, BODY, [(p.rsplit("/", 1)[-1], p) for p in files]))
    for path, data in files.items():
        server.site.put(path, data, content_type="application/octet-stream")


BODY = "各有关单位：为做好本年度项目申报工作，现将有关事项通知如下，具体要求详见附件。" * 3


def load(
    server: LocalServer, state: str | Path, hook: Webhook | None = None, **settings: Any
) -> config_mod.Config:
    subscribers = [kit.subscriber("ops", hook.url, keywords=["组织申报"])] if hook else []
    return kit.load_config(
        state, [kit.source("kjj", server.url("/kjj/tzgg/index.html"))], subscribers, **settings
    )


def check(config: config_mod.Config, now: dt.datetime = NOW) -> tuple[SourceResult, int]:
    """One check; what it found, and how many attachments a worker read."""

    async def run() -> tuple[SourceResult, int]:
        async with app.open_checker(config, clock=lambda: now) as checker:
            (result,) = await checker.check_all()
            return result, checker.attachments.parsed

    return asyncio.run(run())


def current(config: config_mod.Config) -> VersionRow:
    """The current version of the notice with attachments (the one dated 2026-11-20)."""
    with Store(config.settings.state) as store:
        (row,) = store.query(
            "SELECT version_id FROM items WHERE date='2026-11-20' AND version_id IS NOT NULL"
        )
        version = store.version(row["version_id"])
    assert version is not None
    return version


def test_a_deadline_only_in_the_guide_is_found_alerted_and_reminded(server: LocalServer, state: str) -> None:
    guide = documents.docx(["一、申报要求", "申报截止时间：2026年12月5日17:00"])
    publish(server, {"/kjj/tzgg/t1.html": TITLE}, {GUIDE: guide})
    with Webhook() as hook:
        config = load(server, state, hook=hook)
        result, parsed = check(config)
        assert [c.kind for c in result.changes] == ["new", "new"] and parsed == 1
        version = current(config)
        assert (version.deadline, version.deadline_from) == ("2026-12-05", "附件1")
        app.send_alerts(config, clock=lambda: NOW)
        assert "2026-12-05（还有 12 天）（见附件1）" in hook.messages[0]
        app.send_alerts(config, clock=lambda: NOW + dt.timedelta(days=10))  # two days before
        assert len(hook.messages) == 2 and hook.messages[1].startswith("【截止提醒】")
        assert "截止：2026-12-05（还有 2 天）（见附件1）" in hook.messages[1]


def test_a_programme_named_only_in_the_guide_is_matched(server: LocalServer, tmp_path: Path) -> None:
    guide = documents.pdf(
        [
            "广佛科技创新合作专项申报指南",
            "支持广佛科技创新合作，推进广佛科技合作。",
            "重点支持广佛科技创新合作项目。",
        ]
    )
    publish(server, {"/kjj/tzgg/t2.html": TITLE}, {"/kjj/attach/guide.pdf": guide})
    config = load(server, tmp_path)
    check(config)
    (match,) = (current(config).classification or {})["matches"]
    assert match["programme"] == "guangfo"
    assert {r["field"] for r in match["reasons"]} == {"附件1 guide.pdf"}


def test_a_replaced_guide_shows_its_changed_lines(server: LocalServer, state: str) -> None:
    lines = ["一、申报对象", "广州、佛山两地企业", "申报截止时间：2026年12月5日", "二、联系方式"]
    publish(server, {"/kjj/tzgg/t3.html": TITLE}, {GUIDE: documents.docx(lines)})
    with Webhook() as hook:
        config = load(server, state, hook=hook)
        check(config)
        lines[2] = "申报截止时间：2026年12月12日"  # the guide is replaced at the same address
        server.site.put(GUIDE, documents.docx(lines), content_type="application/octet-stream")
        later = NOW + dt.timedelta(days=2)  # past the day within which attachments are trusted unread
        result, parsed = check(config, later)
        assert [(c.kind, c.what) for c in result.changes] == [("changed", ("attachments", "deadline"))]
        assert parsed == 1
        app.send_alerts(config, clock=lambda: later)
    changed = hook.messages[-1]
    assert "附件1 申报指南.docx 变化：" in changed
    assert "-申报截止时间：2026年12月5日" in changed and "+申报截止时间：2026年12月12日" in changed
    with Store(config.settings.state) as store:
        history = store.versions_of(current(config).item_key)
    assert [v.deadline for v in history] == ["2026-12-05", "2026-12-12"]
    assert (
        "附件1 申报指南.docx 变化：\n-申报截止时间：2026年12月5日\n+申报截止时间：2026年12月12日"
        in history[1].diff
    )


def test_an_unchanged_attachment_is_not_fetched_or_parsed_again(server: LocalServer, state: str) -> None:
    publish(server, {"/kjj/tzgg/t4.html": TITLE}, {GUIDE: documents.docx(["申报截止时间：2026年12月5日"])})
    config = load(server, state)
    assert check(config)[1] == 1
    hits = server.site.hits[GUIDE]

    # The notice page changes within the day: its attachment is asked for again, answers 304, not parsed.
    server.site.put("/kjj/tzgg/t4.html", notice_page(TITLE, BODY + "（更新）", [("申报指南.docx", GUIDE)]))
    result, parsed = check(config, NOW + dt.timedelta(hours=1))
    assert [c.what for c in result.changes] == [("body",)] and parsed == 0
    assert server.site.hits[GUIDE] == hits + 1 and server.site.statuses[304] >= 1

    # Nothing changed and it was read within the day: not even asked for.
    server.site.put(
        "/kjj/tzgg/t4.html",
        notice_page(TITLE, BODY + "（更新）", [("申报指南.docx", GUIDE)]),
        conditional=False,
    )
    result, parsed = check(config, NOW + dt.timedelta(hours=2))
    assert result.changes == [] and parsed == 0 and server.site.hits[GUIDE] == hits + 1

    # The same bytes at another address are not parsed again either.
    copy = "/kjj/attach/copy.docx"
    server.site.put(copy, server.site.routes[GUIDE].body, content_type="application/octet-stream")
    server.site.put("/kjj/tzgg/t4.html", notice_page(TITLE, BODY, [("申报指南.docx", copy)]))
    result, parsed = check(config, NOW + dt.timedelta(hours=3))
    assert parsed == 0 and server.site.hits[copy] == 1
    with Store(config.settings.state) as store:
        assert store.query("SELECT count(*) AS n FROM attachment_files") == [{"n": 1}]


def test_hostile_attachments_fail_alone(server: LocalServer, tmp_path: Path) -> None:
    files = {
        GUIDE: documents.docx(["申报截止时间：2026年12月5日"]),
        "/a/bomb.docx": documents.zip_bomb_docx(),
        "/a/secret.pdf": documents.pdf(["内部"], password="secret"),
        "/a/scan.pdf": documents.scanned_pdf(),
        "/a/broken.pdf": documents.pdf(["申报指南"] * 30)[:1500],
        "/a/files.rar": b"Rar!\x1a\x07\x00" + b"\x00" * 64,
        "/a/huge.pdf": b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024),
    }
    publish(server, {"/kjj/tzgg/t5.html": TITLE}, files)
    page = notice_page(TITLE, BODY, [(p.rsplit("/", 1)[-1], p) for p in [*files, "/a/gone.pdf"]])
    server.site.put("/kjj/tzgg/t5.html", page)  # and one more link, to a file that is not there
    config = load(server, tmp_path, max_attachment_bytes=2_500_000)
    result, _ = check(config)
    assert result.status == "ok" and [c.kind for c in result.changes] == ["new", "new"]
    version = current(config)
    errors = {a["name"]: a.get("error") for a in version.attachments}
    assert errors["申报指南.docx"] is None and version.deadline == "2026-12-05"
    assert "zip bomb" in errors["bomb.docx"]
    assert "encrypted PDF" in errors["secret.pdf"]
    assert "no text layer" in errors["scan.pdf"]
    assert "damaged PDF" in errors["broken.pdf"]
    assert "rar file" in errors["files.rar"]
    assert "byte cap" in errors["huge.pdf"]
    assert errors["gone.pdf"] == "HTTP 404"


def test_attachment_text_is_searched_and_archived(server: LocalServer, tmp_path: Path) -> None:
    sheet = documents.xlsx([["序号", "推荐单位", "项目名称"], ["1", "顺德区科技局", "智能装备联合实验室"]])
    publish(server, {"/kjj/tzgg/t6.html": TITLE}, {"/kjj/attach/推荐汇总表.xlsx": sheet})
    config = load(server, tmp_path)
    check(config)
    store = Store(config.settings.state)
    assert [r["title"] for r in queries.search(store, "智能裝備聯合實驗室")] == [
        TITLE
    ]  # Traditional finds it
    (attachment,) = current(config).attachments
    archived = store.attachment_file(attachment["sha"])
    assert archived is not None and archived["data"] == sheet and "顺德区科技局" in archived["text"]
    assert (attachment["kind"], attachment["size"], attachment["pages"]) == ("xlsx", len(sheet), 1)


def test_an_attachment_host_that_fails_is_read_next_time_without_a_second_alert(
    server: LocalServer, tmp_path: Path
) -> None:
    publish(server, {"/kjj/tzgg/t7.html": TITLE}, {GUIDE: documents.docx(["申报说明"])})
    guide = server.site.routes[GUIDE].body
    server.site.put(GUIDE, b"busy", status=503)
    with Webhook() as hook:
        config = load(server, tmp_path, hook=hook)
        result, _ = check(config)
        assert [c.kind for c in result.changes] == ["new", "new"] and "attachment: HTTP 503" in result.errors[
            0
        ]
        server.site.put(GUIDE, guide, content_type="application/octet-stream")
        result, parsed = check(config, NOW + dt.timedelta(minutes=30))
        assert result.changes == [] and result.errors == [] and parsed == 1
        app.send_alerts(config, clock=lambda: NOW + dt.timedelta(minutes=30))
        assert len(hook.messages) == 1
    assert current(config).attachments[0]["kind"] == "docx"


def test_cli_extract_and_classify_read_attachments(server: LocalServer) -> None:
    guide = documents.pdf(
        ["广佛科技创新合作专项申报指南", "广佛科技创新合作。广佛科技合作。", "申报截止时间：2026年12月5日"]
    )
    publish(server, {"/kjj/tzgg/t8.html": TITLE}, {"/kjj/attach/guide.pdf": guide})
    url = server.url("/kjj/tzgg/t8.html")
    shown = watcher("extract", url, "--attachments").stdout
    assert "deadline   2026-12-05 (in 附件1)" in shown
    assert f"pdf · {len(guide):,} bytes · 1 pages" in shown and "| 广佛科技创新合作专项申报指南" in shown
    classified = watcher("classify", url).stdout
    assert "广佛科技创新合作 (guangfo)" in classified and "in 附件1 guide.pdf" in classified


def watcher(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args], capture_output=True, text=True, timeout=120, check=True
    )
