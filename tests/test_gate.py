"""No request to internal addresses: every kind of request watcher makes goes through one gate. The
"internal" host here is a second loopback address, 127.0.0.2, with its own server counting every hit;
the source lives on 127.0.0.1, its own host, which is allowed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watcher.localsite import LocalServer
from watcher.models import SourceResult

from . import kit


def notice(title: str) -> str:
    return kit.notice_page(title, ["各有关单位：现将有关事项通知如下。" * 8])


@pytest.fixture
def internal() -> Iterator[LocalServer]:
    with LocalServer(host="127.0.0.2") as server:
        server.site.put("/secret.html", notice("内网里的一条通知公告不应被抓取"))
        server.site.put("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        yield server


def run(
    server: LocalServer,
    state: Path,
    list_path: str,
    robots: bool = False,
    settings: dict[str, Any] | None = None,
    **options: Any,
) -> SourceResult:
    kjj = kit.source("kjj", server.url(list_path), robots=robots, **options)
    config = kit.load_config(state, [kjj], timeout=2, **(settings or {}))
    return kit.run_check(config)["kjj"]


def listing(server: LocalServer, hrefs: list[str]) -> None:
    rows = "".join(
        f'<li><a href="{h}">第{i}条科技计划项目申报通知</a><span>2026-11-2{i}</span></li>'
        for i, h in enumerate(hrefs)
    )
    server.site.put("/list.html", f"<html><body><ul>{rows}</ul></body></html>")
    server.site.put("/ok.html", notice("第0条科技计划项目申报通知"))


@pytest.mark.parametrize("robots", [False, True])
def test_list_entries_to_internal_addresses_are_refused(
    server: LocalServer, internal: LocalServer, tmp_path: Path, robots: bool
) -> None:
    port = internal.httpd.server_address[1]
    listing(server, ["/ok.html", internal.url("/secret.html"), f"http://2130706434:{port}/secret.html",
                     f"http://[::ffff:127.0.0.2]:{port}/secret.html"])  # fmt: skip
    result = run(server, tmp_path, "/list.html", robots=robots)
    assert result.status == "ok" and [c.title for c in result.changes] == ["第0条科技计划项目申报通知"]
    refused = [e for e in result.errors if "refused" in e and "internal address" in e]
    assert len(refused) == 3, result.errors
    assert internal.site.hits == {} and internal.site.connections == 0  # not one request, robots.txt included


def test_a_redirect_hop_to_an_internal_address_is_refused(
    server: LocalServer, internal: LocalServer, tmp_path: Path
) -> None:
    listing(server, ["/ok.html", "/moved.html"])
    server.site.put("/moved.html", b"", status=302, headers={"Location": internal.url("/secret.html")})
    result = run(server, tmp_path, "/list.html")
    assert any("moved.html" in e and "refused: 127.0.0.2 is an internal address" in e for e in result.errors)
    assert internal.site.connections == 0


def test_gkmlpt_entries_go_through_the_gate(
    server: LocalServer, internal: LocalServer, tmp_path: Path
) -> None:
    articles = [
        {
            "title": "关于内网地址的一条通知公告",
            "url": internal.url("/secret.html"),
            "first_publish_time": 1764000000,
        }
    ]
    server.site.put("/gkmlpt/api/all/0", json.dumps({"articles": articles}), content_type="application/json")
    result = run(server, tmp_path, "/gkmlpt/api/all/0")
    assert result.changes == [] and any("internal address" in e for e in result.errors)
    assert internal.site.connections == 0


def test_allow_private_lets_an_intranet_host_in(
    server: LocalServer, internal: LocalServer, tmp_path: Path
) -> None:
    listing(server, ["/ok.html", internal.url("/secret.html")])
    result = run(server, tmp_path, "/list.html", settings={"allow_private": ["127.0.0.2"]})
    assert sorted(c.title for c in result.changes) == sorted(
        ["第0条科技计划项目申报通知", "内网里的一条通知公告不应被抓取"]
    )
    assert internal.site.hits["/secret.html"] == 1


def test_related_notices_and_feed_entries_go_through_the_gate(
    server: LocalServer, internal: LocalServer, tmp_path: Path
) -> None:
    """A notice's 相关通知 pointing inside, and an RSS item pointing inside: refused, never requested."""
    related = (
        '<div class="xgwj"><div class="hd">相关通知</div><ul>'
        f'<li><a href="{internal.url("/secret.html")}">关于内网里另一条科技通知公告的通知</a><span>2026-11-02</span></li>'
        '<li><a href="/ok.html">关于外网上另一条科技通知公告的通知</a><span>2026-11-03</span></li></ul></div>'
    )
    page = notice("关于组织申报科技计划项目的通知").replace("</body>", related + "</body>")
    server.site.put("/kjj/tzgg/202611/t20261120_1.html", page)
    server.site.put("/ok.html", notice("关于外网上另一条科技通知公告的通知"))
    server.site.put(
        "/list.html",
        '<html><body><ul><li><a href="/kjj/tzgg/202611/t20261120_1.html">关于组织申报科技计划项目的通知</a>'
        '<span>2026-11-20</span></li><li><a href="/ok.html">关于外网上另一条科技通知公告的通知</a>'
        "<span>2026-11-03</span></li></ul></body></html>",
    )
    # allowed_domains lets the related link through its own check: the gate still stops it.
    result = run(server, tmp_path / "a", "/list.html", allowed_domains=["127.0.0.1", "127.0.0.2"])
    assert result.status == "ok" and any("internal address" in e for e in result.errors), result.errors
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>通知</title><item><title>内网条目</title>'
        f"<link>{internal.url('/secret.html')}</link></item><item><title>脚本条目</title>"
        "<link>javascript:alert(1)</link></item></channel></rss>"
    )
    server.site.put("/feed.xml", rss, content_type="application/rss+xml")
    feed = run(server, tmp_path / "b", "/feed.xml")
    assert feed.changes == [] and any("internal address" in e for e in feed.errors), feed.errors
    assert internal.site.connections == 0
