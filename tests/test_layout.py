"""A list source remembers where its list stands; a template change is a health event, not alerts.

A local site moves through rounds: the same column, then a sidebar that outgrows the list (the
remembered region still wins), then a new template with the list elsewhere (the admin is told, nobody
else is alerted, nothing counts as removed), then a fresh notice in the new template (alerted as usual).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from watcher import config as config_mod
from watcher.app import send_alerts
from watcher.localsite import LocalServer
from watcher.models import SourceResult
from watcher.store import Store

from . import kit
from .kit import NOW
from .receivers import Webhook

LIST = "/kjj/tzgg/index.html"


def entry(n: int, day: dt.date) -> tuple[str, str, str]:
    return f"/kjj/tzgg/content/post_{n}.html", f"关于组织申报第{n}批科技计划项目的通知", day.isoformat()


def column(entries: list[tuple[str, str, str]], template: str, sidebar: int = 0) -> bytes:
    rows = "".join(f'<li><a href="{u}">{t}</a><span>{d}</span></li>' for u, t, d in entries)
    side = "".join(
        f'<li><a href="/news/{i}.html">本局第{i}条工作动态消息</a><span>{NOW.date()}</span></li>'
        for i in range(sidebar)
    )
    if template == "old":
        main = f'<div class="main"><div class="news_list"><ul>{rows}</ul></div></div>'
    else:
        main = f'<section id="content"><table class="lists"><tbody><tr><td><ul class="x">{rows}</ul></td></tr></tbody></table></section>'
    aside = f'<div class="hot"><ul>{side}</ul></div>' if sidebar else ""
    return f"<html><head><title>通知公告</title></head><body>{main}{aside}</body></html>".encode()


def notice(title: str) -> bytes:
    return kit.notice_page(title).encode()


def publish(
    server: LocalServer, entries: list[tuple[str, str, str]], template: str, sidebar: int = 0
) -> None:
    server.site.put(LIST, column(entries, template, sidebar))
    for url, title, _ in entries:
        server.site.put(url, notice(title))
    for i in range(sidebar):
        server.site.put(f"/news/{i}.html", notice(f"本局第{i}条工作动态消息"))


def run(config: config_mod.Config) -> SourceResult:
    return kit.run_check(config)["kjj"]


def test_layout_change_is_a_health_event(server: LocalServer, tmp_path: Path) -> None:
    today = NOW.date()
    entries = [entry(n, today - dt.timedelta(days=n)) for n in range(1, 6)]
    with Webhook() as hook, Webhook() as admin:
        office = kit.subscriber("office", hook.url, keywords=["科技计划"])
        alerts = {"recent_days": 60, "admin": [admin.url]}
        path = kit.write_config(
            tmp_path / "watcher.yaml", [kit.source("kjj", server.url(LIST))], [office], alerts
        )
        config = config_mod.load(str(path), state=str(tmp_path))
        publish(server, entries, "old")
        first = run(config)
        assert first.count("new") == 5 and not first.layout_changed
        region = Store(tmp_path).source_row("kjj").region  # type: ignore[union-attr]
        assert region == "div.main > div.news_list > ul"
        send_alerts(config, clock=lambda: NOW)
        assert len(hook.messages) == 5

        # A sidebar of twelve dated links now outscores the five entries: the remembered region wins.
        publish(server, entries, "old", sidebar=12)
        second = run(config)
        assert second.changes == [] and not second.layout_changed

        # A new template: the list moved. Recorded, the admin told, nobody else alerted, nothing removed.
        moved = [entry(6, today), *entries]
        publish(server, moved, "new")
        third = run(config)
        assert third.layout_changed and third.count("removed") == 0
        assert [c.title for c in third.changes if c.kind == "new"] == [moved[0][1]]
        store = Store(tmp_path)
        events = store.query("SELECT kind, message FROM events WHERE kind='layout_changed'")
        assert len(events) == 1 and "now from section#content" in events[0]["message"]
        assert store.source_row("kjj").region.startswith("section#content")  # type: ignore[union-attr]
        send_alerts(config, clock=lambda: NOW)
        assert len(admin.messages) == 1 and "页面结构变化" in admin.messages[0]
        assert len(hook.messages) == 5  # the entry first seen in the moved region alerted nobody

        # The new template is now the remembered one: a fresh notice is alerted as usual.
        publish(server, [entry(7, today), *moved], "new")
        fourth = run(config)
        assert not fourth.layout_changed and fourth.count("new") == 1
        send_alerts(config, clock=lambda: NOW)
        assert len(hook.messages) == 6 and entry(7, today)[1] in hook.messages[-1]
        assert len(admin.messages) == 1
