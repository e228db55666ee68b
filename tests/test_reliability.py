"""Never lose an alert without a crash: revisions behind a 304, bad entries, long lists. Real local server,
real SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from watcher import config as config_mod
from watcher import demo
from watcher.app import send_alerts
from watcher.localsite import LocalServer
from watcher.models import SourceResult
from watcher.store import Store

from . import kit
from .kit import NOW, notice_page
from .receivers import Webhook


def load(server: LocalServer, state: str | Path, url: str, **options: Any) -> config_mod.Config:
    return kit.load_config(state, [kit.source("kjj", url, **options)], timeout=2)


def run(config: config_mod.Config) -> SourceResult:
    (result,) = kit.run_check(config).values()
    return result


def read_keys(state: str | Path) -> set[str]:
    """Items that have been read (have a version)."""
    with Store(state) as store:
        return {r["key"] for r in store.query("SELECT key FROM items WHERE version_id IS NOT NULL")}


def test_a_revision_behind_a_304_is_found(server: LocalServer, state: str) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    config = load(server, state, server.url(demo.LIST_PATH))
    assert run(config).count("new") == 4

    call = notices[0]  # the deadline moves; the list page stays byte for byte the same
    call.paragraphs[3] = call.paragraphs[3].replace("17:00", "17:00（截止时间顺延至月底）")
    demo.publish(server, notices)
    before = server.site.statuses[304]
    result = run(config)
    assert result.status == "not_modified" and server.site.statuses[304] > before
    assert [(c.kind, c.title) for c in result.changes] == [("changed", call.title)]
    assert run(config).changes == []  # and once only


def test_a_bad_entry_is_skipped_and_named(server: LocalServer, tmp_path: Path) -> None:
    good = [f"/kjj/tzgg/202611/t202611{d:02d}_{d}.html" for d in (20, 21, 22)]
    rows = [
        *(f'<li><a href="{u}">关于组织申报第{i}批科技计划项目的通知</a><span>2026-11-2{i}</span></li>'
          for i, u in enumerate(good)),
        '<li><a href="http://127.0.0.1:99999/x.html">端口不存在的一条通知公告</a><span>2026-11-20</span></li>',
        '<li><a href="http://[::1/bad.html">地址写坏了的一条通知公告</a><span>2026-11-20</span></li>',
        '<li><a href="javascript:alert(1)">脚本链接冒充的一条通知公告</a><span>2026-11-20</span></li>',
    ]  # fmt: skip
    server.site.put("/list.html", f"<html><body><ul>{''.join(rows)}</ul></body></html>")
    body = "<p>" + "各有关单位：现将有关事项通知如下。" * 8 + "</p>"
    for i, u in enumerate(good):
        page = f"<html><head><title>关于组织申报第{i}批科技计划项目的通知</title></head><body><h1>关于组织申报第{i}批科技计划项目的通知</h1>{body}</body></html>"
        if i == 1:  # a charset that names a codec, not a character set, over bytes that are not UTF-8
            page = page.replace("<head>", '<head><meta charset="rot13">').replace("各有关", "\xff各有关")
            server.site.put(u, page.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
        else:
            server.site.put(u, page)
    config = load(server, tmp_path, server.url("/list.html"))
    result = run(config)
    assert result.status == "ok" and result.count("new") == 3
    assert any("99999" in e for e in result.errors)
    assert not any("javascript" in (c.url or "") for c in result.changes)


def test_gkmlpt_entry_with_an_impossible_timestamp(server: LocalServer, tmp_path: Path) -> None:
    articles = [
        {"title": "关于开展科技计划项目申报工作的通知", "url": "/gkmlpt/content/1/1/post_1.html",
         "first_publish_time": 1e20},
        {"title": "关于公布科技计划项目立项名单的公示", "url": "javascript:alert(document.cookie)",
         "first_publish_time": 1764000000},
    ]  # fmt: skip
    server.site.put(
        "/gkmlpt/api/all/0", json.dumps({"total": 2, "articles": articles}), content_type="application/json"
    )
    server.site.put(
        "/gkmlpt/content/1/1/post_1.html",
        "<html><body><h1>关于开展科技计划项目申报工作的通知</h1><p>"
        + "现将有关事项通知如下。" * 10
        + "</p></body></html>",
    )
    result = run(load(server, tmp_path, server.url("/gkmlpt/api/all/0")))
    assert result.status == "ok" and [c.title for c in result.changes] == [
        "关于开展科技计划项目申报工作的通知"
    ]


def test_entries_past_max_follow_are_read_in_later_checks(server: LocalServer, state: str) -> None:
    today = NOW.date()
    notices = [
        demo.DemoNotice(9000 + i, f"关于第{i}批科技创新项目申报的通知", (today - dt.timedelta(days=i)).isoformat(),
                        ["各有关单位：" + "现将有关事项通知如下。" * 6])
        for i in range(12)
    ]  # fmt: skip
    demo.publish(server, notices)
    config = load(server, state, server.url(demo.LIST_PATH), max_follow=5)
    read: list[int] = []
    for _ in range(3):
        run(config)
        read.append(len(read_keys(state)))
        with Store(state) as store:
            assert len(store.items_on_list("kjj")) == 12  # every entry is on the list, read or not
    assert read == [5, 10, 12]
    assert run(config).changes == []


def subscribed(server: LocalServer, folder: Path, state: str, url: str, hook: Webhook) -> config_mod.Config:
    office = kit.subscriber("office", hook.url, keywords=["科技"], changes=True)
    path = kit.write_config(folder / "watcher.yaml", [kit.source("kjj", url)], [office], timeout=2)
    return config_mod.load(str(path), state=str(state))


def test_a_notice_citing_a_known_document_number_is_its_own_notice(
    server: LocalServer, tmp_path: Path, state: str
) -> None:
    number = "穗科规字〔2026〕3号"
    policy = "广州市科学技术局关于印发科技创新券管理办法的通知"
    reading = "《广州市科技创新券管理办法》政策解读"
    entries = [("/kjj/tzgg/202611/t20261120_1.html", policy), ("/kjj/tzgg/202611/t20261125_2.html", reading)]
    server.site.put(
        "/kjj/tzgg/index.html",
        "<html><body><ul>"
        + "".join(
            f'<li><a href="{u}">{t}</a><span>2026-11-2{i}</span></li>' for i, (u, t) in enumerate(entries)
        )
        + "</ul></body></html>",
    )
    server.site.put(
        entries[0][0],
        notice_page(policy, [number, "各有关单位：现将《广州市科技创新券管理办法》印发给你们。" * 3]),
    )
    server.site.put(
        entries[1][0],
        notice_page(reading, [f"一、制定依据：{number}。", "创新券用于支持科技型中小企业购买科技服务。" * 3]),
    )
    with Webhook() as hook:
        config = subscribed(server, tmp_path, state, server.url("/kjj/tzgg/index.html"), hook)
        assert run(config).count("new") == 2
        send_alerts(config, clock=lambda: NOW)
        assert len(hook.messages) == 2
        assert any(reading in m for m in hook.messages) and any(policy in m for m in hook.messages)


def test_a_revision_that_flips_back_is_alerted_each_time(
    server: LocalServer, tmp_path: Path, state: str
) -> None:
    url = "/kjj/tzgg/202611/t20261120_9.html"
    title = "关于组织申报科技计划项目的通知"
    server.site.put(
        "/kjj/tzgg/index.html",
        f'<html><body><ul><li><a href="{url}">{title}</a><span>2026-11-20</span></li><li><a href="/x/t20261101_1.html">另一条科技通知公告的标题</a><span>2026-11-01</span></li></ul></body></html>',
    )
    server.site.put("/x/t20261101_1.html", notice_page("另一条科技通知公告的标题", ["不变的正文内容。" * 10]))
    deadlines = ["申报截止时间：2026年12月5日。", "申报截止时间：2026年12月12日。"]
    with Webhook() as hook:
        config = subscribed(server, tmp_path, state, server.url("/kjj/tzgg/index.html"), hook)
        for round_ in range(4):
            server.site.put(
                url, notice_page(title, ["各有关单位：现组织申报科技计划项目。" * 3, deadlines[round_ % 2]])
            )
            run(config)
        send_alerts(config, clock=lambda: NOW)
    with Store(state) as store:
        (row,) = store.query("SELECT key FROM items WHERE url LIKE ?", [f"%{url}"])
        history = store.versions_of(row["key"])
    assert [v.change for v in history] == ["new", "changed", "changed", "changed"]
    assert len([m for m in hook.messages if title in m]) == 4


def test_a_slow_server_holds_its_source_for_twice_the_timeout_at_most(
    server: LocalServer, tmp_path: Path
) -> None:
    """Retries included: 1 s timeout, 2 retries, a server that answers after 4 s. Each attempt used to get
    the whole budget (three times 2 s, plus the waits between them)."""
    server.site.put("/slow.html", "<html><body>late</body></html>", delay=4.0)
    server.site.put("/fast.html", "<html><body>at once</body></html>")
    # A check of a page that answers at once, in the same conditions, is what the run costs besides waiting
    # (start-up, the store): the slow page may add at most the budget of twice the timeout to that.
    started = time.monotonic()
    run(
        kit.load_config(
            tmp_path / "fast", [kit.source("fast", server.url("/fast.html"))], timeout=1, retries=2
        )
    )
    overhead = time.monotonic() - started
    config = kit.load_config(tmp_path, [kit.source("slow", server.url("/slow.html"))], timeout=1, retries=2)
    started = time.monotonic()
    result = run(config)
    elapsed = time.monotonic() - started
    assert result.status == "error" and "timed out" in (result.error or "")
    assert elapsed < overhead + 2.0 + 0.5, (elapsed, overhead)  # retries used to make it 3 × 2 s and more


def test_a_body_shorter_than_its_content_length_fails_that_entry_alone(
    server: LocalServer, tmp_path: Path
) -> None:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    route = server.site.routes[notices[1].path]
    server.site.put(notices[1].path, route.body, declared=len(route.body) + 4000)  # the server stops short
    result = run(load(server, tmp_path, server.url(demo.LIST_PATH)))
    assert result.status == "ok" and result.count("new") == 3
    assert any(notices[1].path in e and "payload is not completed" in e for e in result.errors), result.errors
