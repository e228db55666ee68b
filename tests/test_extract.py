"""Every fixture page is served by a real local HTTP server, fetched, decoded and extracted; the fields
must match the fixture's YAML. One parametrised test, one YAML per page."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml

from watcher.errors import FetchError, WatcherError
from watcher.extract import extract
from watcher.fetch import Fetcher, FetchSettings
from watcher.localsite import LocalServer
from watcher.models import Extracted, NotModified

from .conftest import FIXTURES
from .kit import NOW

ROOT = Path(__file__).resolve().parent.parent

CASES = sorted((FIXTURES / "expected").glob("*.yaml"))


def page_bytes(case: dict[str, Any]) -> bytes:
    if case.get("generate") == "huge":
        chunk = "<p>关于组织申报2025年度科技计划项目的通知，请各单位认真组织申报。</p>\n".encode()
        return b"<html><body>" + chunk * (30 * 1024 * 1024 // len(chunk) + 1) + b"</body></html>"
    return (FIXTURES / "pages" / case["page"]).read_bytes()


async def fetch_and_extract(url: str) -> Extracted:
    settings = FetchSettings(per_host_delay=0, robots=False, retries=0, allow_private=("127.0.0.1",))
    async with Fetcher(settings) as fetcher:
        page = await fetcher.get(url)
    assert not isinstance(page, NotModified)
    return extract(page.text, url, page.encoding, now=NOW)


def check_links(got: list[dict[str, Any]], want: list[dict[str, Any]], base: str) -> None:
    for position, expected in enumerate(want):
        expected = dict(expected)
        index = expected.pop("index", position)
        actual = got[index]
        for key, value in expected.items():
            if key == "url":
                value = urljoin(base, value)
            assert actual[key] == value, f"entry {index} {key}: {actual[key]!r} != {value!r}"


def check_fields(result: dict[str, Any], expect: dict[str, Any], url: str) -> None:
    for key, value in expect.items():
        if key.endswith("_count"):
            assert len(result[key[: -len("_count")]]) == value, key
        elif key in ("items", "related", "attachments"):
            if value == []:
                assert result[key] == []
            else:
                check_links(result[key], value, url)
        elif key == "text_contains":
            for needle in value:
                assert needle in result["text"], f"text lacks {needle!r}"
        elif key == "text_once":
            for needle in value:
                assert result["text"].count(needle) == 1, f"{needle!r} not exactly once"
        elif key == "text_excludes":
            for needle in value:
                assert needle not in result["text"], f"text holds {needle!r}"
        else:
            assert result[key] == value, f"{key}: {result[key]!r} != {value!r}"


@pytest.mark.parametrize("case_path", CASES, ids=[p.stem for p in CASES])
def test_fixture(case_path: Path, server: LocalServer) -> None:
    case = yaml.safe_load(case_path.read_text(encoding="utf-8"))
    server.site.put(
        case["path"], page_bytes(case), status=case.get("status", 200), content_type=case["content_type"]
    )
    url = server.url(case["path"])
    if "error" in case:
        with pytest.raises(WatcherError) as info:
            asyncio.run(fetch_and_extract(url))
        reason = info.value.reason if isinstance(info.value, FetchError) else str(info.value)
        status = getattr(info.value, "status", "error")
        assert case["error"] in (status, reason) or case["error"] in reason
        return
    result = asyncio.run(fetch_and_extract(url))
    out = result.to_json()
    out["doc_number"] = result.doc_number
    check_fields(out, case["expect"], url)


def test_cli_json_shape(server: LocalServer) -> None:
    """`watcher extract URL --json` prints exactly the documented keys."""
    server.site.put("/n.html", (FIXTURES / "pages" / "call_notice.html").read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "extract", server.url("/n.html"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    assert list(data) == [
        "url", "kind", "encoding", "title", "date", "publisher", "tag", "deadline", "deadline_from",
        "attachments", "items", "related", "text",
    ]  # fmt: skip
    assert data["kind"] == "notice" and data["deadline"] == "2025-04-25"  # the paper date, after online
    assert data["related"][0] == {
        "title": "关于推进广佛科技创新合作的工作方案",
        "url": server.url("/gkmlpt/content/5/5512001/post_5512001.html"),
        "date": "2020-04-03",
        "tag": None,
    }


def test_cli_file_with_base_url() -> None:
    page = FIXTURES / "pages" / "gz_list.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "watcher",
            "extract",
            str(page),
            "--base-url",
            "https://www.gz.gov.cn/x/",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    items = json.loads(proc.stdout)["items"]
    assert items[0]["url"] == "https://www.gz.gov.cn/gzjg/tzgg/content/post_10012345.html"


def test_cli_unreadable_page_is_one_line_error(server: LocalServer) -> None:
    server.site.put("/gone.html", b"", status=500)
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "extract", server.url("/gone.html")], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "HTTP 500" in proc.stderr
    assert proc.stderr.count(server.url("/gone.html")) == 1  # the address once, not again in the reason


@pytest.mark.parametrize(
    "text",
    [
        "关于组织申报（2026年）：第一批，ＡＢＣ１２３",
        "全角　空格",
        "①②③ ㈠ ㍿",
        "ｅ\u0301 and e\u0301",
        "plain ascii",
        "",
    ],
)
def test_fast_nfkc_equals_unicodedata(text: str) -> None:
    import unicodedata

    from watcher.normalize import nfkc

    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_cli_explain_names_the_list_region(server: LocalServer) -> None:
    """`--explain` on a real list served locally: the region taken, its entries, and its runner-up."""
    page = ROOT / "tests" / "realpages" / "blind" / "list_antu_lyj_docs.html"
    server.site.put("/xxgk/bmwj/index.html", page.read_bytes())
    regions = explain(server.url("/xxgk/bmwj/index.html")).split(
        "regions that could be the list (best first):"
    )[1]
    first = regions.strip().splitlines()[0]
    assert "13 entries, 13 dated" in first and first.endswith("div.d_960_3 > ul")
    assert "吉林省安图县林业局-安图县林业局深化改革创新优化营商环境实施方案" in regions


def test_cli_explain_offers_selectors_when_a_notice_has_lists(server: LocalServer) -> None:
    """A notice with lists beside it: the candidates are shown with a ready `selectors:` snippet."""
    page = ROOT / "tests" / "realpages" / "blind" / "notice_gmw_opinion.html"
    server.site.put("/n.html", page.read_bytes())
    out = explain(server.url("/n.html"))
    assert out.startswith("notice page")
    assert 'read from:\n  title      <h1 class="u-title"> (agrees with <title>)\n' in out
    assert "  date       <meta name=publishdate>\n" in out
    assert "  selectors:\n    items: " in out


def explain(url: str) -> str:
    argv = [sys.executable, "-m", "watcher", "extract", url, "--explain"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def test_cli_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    """`watcher extract FILE` reads under the same size cap as a fetch (a 1M-link file once took 2 GB)."""
    page = tmp_path / "big.html"
    page.write_bytes(b"<html><body>" + b'<a href="/x">x</a>' * 700_000 + b"</body></html>")
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "extract", str(page)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "byte cap" in proc.stderr and "Traceback" not in proc.stderr


def test_pages_built_to_be_slow_are_too_complex_alone() -> None:
    """Nesting that the parser would take the square of (100,000 <div>s: 23 s), and a list past the CPU
    budget: each a clear error, quickly; lists nested two deep stay linear."""
    import time

    from watcher.errors import ExtractError

    deep = "<html><body>" + "<div>" * 100_000 + '<a href="/x">关于申报科技项目的通知</a>' + "</div>" * 100_000
    started = time.process_time()
    with pytest.raises(ExtractError, match="too complex: elements nested 100000 deep"):
        extract(deep, "http://a.gov.cn/", "utf-8")
    assert time.process_time() - started < 1.0
    rows = "".join(
        f'<li><a href="/h/{i}.html">第{i}条科技计划项目申报通知</a><span>2026-11-01</span></li>'
        for i in range(40_000)
    )
    with pytest.raises(ExtractError, match=r"too complex: more than 0\.2 s"):
        extract(f"<html><body><ul>{rows}</ul></body></html>", "http://a.gov.cn/", "utf-8", cpu_seconds=0.2)
    groups = "".join(
        "<li>分组<ul>" + "".join(f'<li><a href="/a/{g}_{i}.html">第{g}组第{i}条科技项目通知</a><span>2026-11-01</span></li>' for i in range(2000)) + "</ul></li>"
        for g in range(10)
    )  # fmt: skip
    started = time.process_time()
    assert (
        len(extract(f"<html><body><ul>{groups}</ul></body></html>", "http://a.gov.cn/", "utf-8").items)
        == 20_000
    )
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize(
    "cell",
    [
        '<div class="date"><span>{d:02d}</span><span>2020-11</span></div>{a}',
        '{a}<div class="date"><p>2020.11</p><p>{d:02d}</p></div>',
    ],
)
def test_a_date_printed_in_pieces_is_read(cell: str) -> None:
    """A list that prints the day in one element and the year and month in another."""
    rows = "".join(
        "<li>" + cell.format(d=d, a=f'<a href="/t/{d}.html">关于第{d}批科技计划项目申报的通知</a>') + "</li>"
        for d in (7, 5, 3)
    )
    x = extract(f"<html><body><ul>{rows}</ul></body></html>", "http://a.gov.cn/tzgg/", "utf-8", now=NOW)
    assert x.kind == "list" and [link.date.iso for link in x.items if link.date] == [
        "2020-11-07",
        "2020-11-05",
        "2020-11-03",
    ]


def test_a_feed_is_known_after_a_comment_or_stylesheet() -> None:
    rss = (
        '<!-- generated --><?xml-stylesheet type="text/xsl" href="/rss.xsl"?>\n<rss version="2.0"><channel>'
        "<title>通知公告</title><item><title>关于组织申报科技计划项目的通知</title><link>http://a.gov.cn/t/1.html</link>"
        "</item></channel></rss>"
    )
    x = extract(rss, "http://a.gov.cn/rss.xml", "utf-8")
    assert x.kind == "list" and [link.title for link in x.items] == ["关于组织申报科技计划项目的通知"]


@pytest.mark.parametrize(
    ("page_title", "heading"),
    [
        ("新闻动态--中国地理学会官网", "中国地理学会2019年学术年会在京召开"),
        ("习近平主持召开座谈会-中国科普网", None),
    ],
)
def test_a_title_with_the_site_or_column_attached(page_title: str, heading: str | None) -> None:
    """<title> as 'column--site' gives way to the headline; 'headline-site' loses the site's name."""
    head = f'<div class="article-title">{heading}</div>' if heading else ""
    page = (
        f"<html><head><title>{page_title}</title></head><body>{head}<div class='info'>发布时间：2019-05-18</div>"
        f"<div id='zoom'><p>{'会议内容。' * 60}</p></div></body></html>"
    )
    x = extract(page, "http://www.example.org.cn/news/1.html", "utf-8")
    assert (
        x.kind == "notice"
        and x.title == (heading or "习近平主持召开座谈会")
        and x.date
        and x.date.iso == "2019-05-18"
    )
