"""Alerts against real receivers: an SMTP server, apprise json:// webhooks, a real SQLite outbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from watcher import config as config_mod
from watcher import demo
from watcher.alert import AlertData, render
from watcher.alert.message import sample
from watcher.app import send_alerts
from watcher.cli import cli
from watcher.errors import ConfigError
from watcher.localsite import LocalServer
from watcher.store import Store

from .kit import NOW, demo_source, invoke, load_config, run_check, source, subscriber, write_config
from .kit import SteppedClock as Clock
from .receivers import Mailbox, Webhook


def configure(
    server: LocalServer, state: Path, *subscribers: dict[str, Any], **alerts: Any
) -> config_mod.Config:
    alerts = {"recent_days": 60, **alerts}
    path = write_config(state / "watcher.yaml", [demo_source(server)], subscribers, alerts, timeout=2)
    return config_mod.load(str(path), state=str(state))


def check(config: config_mod.Config, clock: Clock) -> None:
    run_check(config, clock)


def titles(hook: Webhook) -> list[str]:
    return [m.splitlines()[0] for m in hook.messages]


@pytest.fixture
def site(server: LocalServer) -> list[demo.DemoNotice]:
    notices = demo.sample_notices(NOW.date())
    demo.publish(server, notices)
    return notices


def test_email_arrives_with_chinese_subject_and_both_parts(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Mailbox() as box:
        config = configure(server, tmp_path, subscriber("ops", box.url, programmes=["guangfo"]))
        check(config, Clock())
        report = send_alerts(config, clock=Clock())
        assert report.sent == 1 and report.failed == 0
        (mail,) = box.messages
    assert mail["Subject"] == f"[广佛科技创新合作·申报] {site[0].title} (截止 2026-12-05)"
    assert [p.get_content_type() for p in mail.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "截止" in text and "还有 12 天" in text and "申报指南.docx" in text
    assert site[0].title in html and f'href="{server.url(site[0].path)}"' in html


def test_email_text_part_carries_the_links_one_line_each(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    """A reader of the plain-text part (a text-only client, a phone's preview) gets the addresses the HTML
    part links to, and each field on its own line, not every line followed by a blank one."""
    with Mailbox() as box:
        config = configure(server, tmp_path, subscriber("ops", box.url, programmes=["guangfo"]))
        check(config, Clock())
        assert send_alerts(config, clock=Clock()).sent == 1
        (mail,) = box.messages
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    lines = text.splitlines()
    guide = next(line for line in lines if line.startswith("附件："))
    assert guide.startswith("附件：附件1") and server.url("") in guide and ".docx" in guide.rsplit(" ", 1)[1]
    assert f"链接：原文 {server.url(site[0].path)}" in lines
    assert "" not in lines[:8], text  # heading, title and fields follow one another
    kind = lines.index(next(line for line in lines if line.startswith("类别：")))
    assert lines[kind + 1].startswith("截止：")


def test_filters_choose_who_hears_what(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    hooks = {name: Webhook() for name in ("guangfo", "selection", "keyword", "foshan", "task", "any")}
    for hook in hooks.values():
        hook.__enter__()
    try:
        subs: dict[str, dict[str, Any]] = {
            "guangfo": {"programmes": ["guangfo"]},
            "selection": {"kinds": ["遴选"]},
            "keyword": {"programmes": ["kczg"], "keywords": ["活動周"]},  # Traditional finds Simplified
            "foshan": {"regions": ["佛山"]},
            "task": {"programmes": ["guangfo/transfer", "prd/talent"]},
            "any": {"changes": False},
        }
        config = configure(server, tmp_path, *(subscriber(n, hooks[n].url, **f) for n, f in subs.items()))
        check(config, Clock())
        send_alerts(config, clock=Clock())
        got = {name: sorted(titles(hook)) for name, hook in hooks.items()}
    finally:
        for hook in hooks.values():
            hook.__exit__()
    guangfo, kczg, prd, week = (f"【新通知】{site[i].title}" for i in range(4))
    assert got["guangfo"] == [guangfo]
    assert got["selection"] == [kczg]
    assert got["keyword"] == sorted([kczg, week])
    assert got["foshan"] == []
    assert got["task"] == [guangfo]
    assert got["any"] == sorted([guangfo, kczg, prd])  # matched to some programme; the 活动周 news is not


def test_changed_notice_says_what_changed(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as all_hook, Webhook() as new_only:
        config = configure(
            server,
            tmp_path,
            subscriber("all", all_hook.url),
            subscriber("new-only", new_only.url, changes=False),
        )
        clock = Clock()
        check(config, clock)
        send_alerts(config, clock=clock)
        demo.publish(server, demo.next_round(site))
        clock.advance(hours=1)
        check(config, clock)
        send_alerts(config, clock=clock)
    changed = [m for m in all_hook.messages if m.startswith("【通知更新】")]
    assert len(changed) == 2
    deadline_change = next(m for m in changed if site[0].title in m)
    assert (
        "变化：正文、附件、截止时间" in deadline_change
        and "截止：2026-12-12（还有 19 天）" in deadline_change
    )
    assert "+申报时间" in deadline_change
    assert not any(m.startswith("【通知更新】") for m in new_only.messages)
    assert len(new_only.messages) == 4  # three first-round notices and the new one


def test_receiver_down_then_back_delivers_each_once(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook(status=503) as hook:
        config = configure(server, tmp_path, subscriber("ops", hook.url))
        clock = Clock()
        check(config, clock)
        first = send_alerts(config, clock=clock)
        assert first.sent == 0 and first.retrying == 3
        assert send_alerts(config, clock=clock).messages == 0  # backing off: nothing tried yet
        clock.advance(minutes=2)
        assert send_alerts(config, clock=clock).retrying == 3  # still down: tried again
        hook.status = 200
        clock.advance(minutes=5)
        assert send_alerts(config, clock=clock).sent == 3
        clock.advance(hours=3)
        assert send_alerts(config, clock=clock).messages == 0
    delivered = [p for p in hook.posts][-3:]
    assert len(hook.posts) == 9 and len({p["message"] for p in delivered}) == 3
    counts = Store(tmp_path).alert_counts()
    assert counts == {"sent": 3}


def test_gives_up_after_the_limit_and_tells_the_admin(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook(status=500) as hook, Webhook() as admin:
        config = configure(
            server,
            tmp_path,
            subscriber("ops", hook.url, programmes=["guangfo"]),
            retry_for="2h",
            admin=[admin.url],
        )
        clock = Clock()
        check(config, clock)
        for _ in range(17):  # four hours, a flush every quarter
            send_alerts(config, clock=clock)
            clock.advance(minutes=15)
        assert 3 <= len(hook.posts) <= 9  # exponential backoff, not every quarter hour
        assert len(admin.messages) == 1 and "未能送达 ops" in admin.messages[0]
        result = invoke(
            clock, "--state", str(tmp_path), "--config", config.path, "alerts", "--failed", "--json"
        )
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert (
        row["status"] == "failed" and "500" in row["last_error"] and row["payload"]["title"] == site[0].title
    )


def test_digest_groups_by_programme_at_its_time(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as hook:
        config = configure(server, tmp_path, subscriber("daily", hook.url, digest="08:30"))
        clock = Clock()  # 10:00: the digest is due tomorrow at 08:30
        check(config, clock)
        assert send_alerts(config, clock=clock).messages == 0
        clock.advance(hours=22, minutes=20)  # 08:20 the next day
        assert send_alerts(config, clock=clock).messages == 0
        clock.advance(minutes=15)
        report = send_alerts(config, clock=clock)
        assert report.messages == 1 and report.sent == 3
    (body,) = hook.messages
    assert body.startswith("[watcher] 2026-11-24 通知摘要：3 条")
    sections = [line for line in body.splitlines() if line.startswith("■")]
    assert sections == ["■ 广佛科技创新合作（1）", "■ 珠三角科技创新一体化（1）", "■ 科创中国（1）"]
    assert site[0].title in body and "截止 2026-12-05（还有 11 天）" in body


def test_quiet_hours_hold_immediate_alerts(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as hook:
        config = configure(server, tmp_path, subscriber("night", hook.url, quiet="22:00-07:30"))
        clock = Clock(NOW.replace(hour=23))
        check(config, clock)
        assert send_alerts(config, clock=clock).messages == 0
        clock.advance(hours=8)  # 07:00
        assert send_alerts(config, clock=clock).messages == 0
        clock.advance(minutes=45)
        assert send_alerts(config, clock=clock).sent == 3
    assert len(hook.posts) == 3


def test_deadline_reminders_once_each(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as hook:
        config = configure(server, tmp_path, subscriber("ops", hook.url, programmes=["guangfo"]))
        clock = Clock()  # the 广佛 call closes 2026-12-05, twelve days ahead
        check(config, clock)
        send_alerts(config, clock=clock)
        sent = []
        for _day in range(14):
            for _ in range(2):  # twice a day: a reminder is still sent once
                send_alerts(config, clock=clock)
            sent.append((clock.now.date().isoformat(), len(hook.posts)))
            clock.advance(days=1)
    reminders = [m for m in hook.messages if m.startswith("【截止提醒】")]
    assert len(reminders) == 2
    assert "还有 3 天" in reminders[0] and "还有 1 天" in reminders[1]
    days = [day for (day, n), (_, before) in zip(sent, [("", 1), *sent], strict=False) if n > before]
    assert days == ["2026-12-02", "2026-12-04"]


def test_no_reminder_inside_the_window_it_was_found_in(server: LocalServer, tmp_path: Path) -> None:
    notices = demo.sample_notices(NOW.date() + dt.timedelta(days=10))  # deadline 2 days after the first check
    demo.publish(server, notices)
    with Webhook() as hook:
        config = configure(server, tmp_path, subscriber("ops", hook.url, programmes=["guangfo"]))
        clock = Clock(NOW + dt.timedelta(days=10))
        check(config, clock)
        for _ in range(3):
            send_alerts(config, clock=clock)
            clock.advance(days=1)
    assert [m.splitlines()[0][:7] for m in hook.messages] == ["【新通知】关于"]


def test_a_repost_on_another_site_is_not_sent_again(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    copy = site[0]
    server.site.put(
        "/mirror/list.html", demo.render_list([copy, *site[2:]]).replace("/kjj/tzgg/", "/mirror/")
    )
    for notice in (copy, *site[2:]):
        server.site.put(notice.path.replace("/kjj/tzgg/", "/mirror/"), demo.render_notice(notice))
    with Webhook() as hook:
        config = configure(server, tmp_path, subscriber("ops", hook.url, programmes=["guangfo"]))
        mirror_url = server.url("/mirror/list.html").replace("127.0.0.1", "localhost")
        mirror = load_config(
            tmp_path, [source("mirror", mirror_url)], [subscriber("ops", hook.url, programmes=["guangfo"])]
        )
        clock = Clock()
        check(config, clock)
        send_alerts(config, clock=clock)
        clock.advance(hours=2)
        check(mirror, clock)
        send_alerts(mirror, clock=clock)
    items = {
        row["source"] for row in Store(tmp_path).query("SELECT source FROM items WHERE title=?", [copy.title])
    }
    assert items == {"kjj", "mirror"}  # both copies are tracked…
    assert titles(hook) == [f"【新通知】{copy.title}"]  # …and alerted once


def test_wecom_message_fits_2048_bytes_and_keeps_title_and_link() -> None:
    big = sample(NOW.date())
    big = AlertData(**{**big.to_json(), "programmes": big.programmes, "attachments": tuple(
        (f"附件{i}：很长很长的附件名称" * 3, f"https://example.gov.cn/f/{i}.pdf") for i in range(40)),
        "diff": "\n".join(f"+第{i}段修改后的正文内容，包括申报条件和材料要求" * 2 for i in range(30)),
        "what": ("body", "attachments")})  # fmt: skip
    message = render([big], "wecombot", NOW.date())
    assert len(message.body.encode()) <= 2048
    assert big.title in message.body and big.url in message.body and "截止" in message.body
    email_message = render([big], "mailto", NOW.date())
    assert (
        email_message.format == "html" and email_message.body.count("<a href") == 10
    )  # heading, 8 attachments, link


def test_titles_from_pages_are_escaped_in_email() -> None:
    data = AlertData(
        change="new",
        title='<script>alert("x")</script>关于申报的通知',
        url="https://a.gov.cn/?a=1&b=2",
        source="s",
    )
    body = render([data], "mailto", NOW.date()).body
    assert "<script>" not in body and "&lt;script&gt;" in body and "a=1&amp;b=2" in body


def test_secrets_are_masked_and_never_logged(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-token-9f8e7d"
    monkeypatch.setenv("HOOK_TOKEN", secret)
    with Webhook(status=500) as hook:
        url = hook.url.replace("/hook", "/hook/${HOOK_TOKEN}")
        ops = subscriber("ops", url, "json://127.0.0.1:9/?token=${HOOK_TOKEN}")
        path = write_config(tmp_path / "watcher.yaml", [demo_source(server)], [ops])
        base = ["--config", str(path), "--state", str(tmp_path / "state")]
        clock = Clock()
        listed = invoke(clock, *base, "subscribers")
        checked = invoke(clock, *base, "check")
        failed = invoke(clock, *base, "alerts", "--json")
    assert "${HOOK_TOKEN}" in listed.output and secret not in listed.output
    assert hook.posts, "the webhook was tried"
    for out in (checked.output, failed.output):
        assert secret not in out
    assert "500" in failed.output


def test_notify_test_says_which_channel_accepted(tmp_path: Path) -> None:
    with Webhook() as good, Mailbox() as box:
        path = tmp_path / "watcher.yaml"
        dead = "json://127.0.0.1:9/nowhere"
        path.write_text(f"subscribers:\n  - name: ok\n    urls: ['{good.url}', '{box.url}']\n"
                        f"  - name: half\n    urls: ['{good.url}', '{dead}']\n")  # fmt: skip
        runner = CliRunner()
        ok = runner.invoke(cli, ["--config", str(path), "notify-test", "ok"])
        half = runner.invoke(cli, ["--config", str(path), "notify-test", "half"])
        missing = runner.invoke(cli, ["--config", str(path), "notify-test", "nobody"])
        assert len(box.messages) == 1 and "测试消息" in str(box.messages[0]["Subject"])
    assert ok.exit_code == 0 and ok.output.count("✓") == 2
    assert half.exit_code == 1 and "✓" in half.output and "✗ json://127.0.0.1:9/no****" in half.output
    assert missing.exit_code == 2
    assert len(good.posts) == 2 and "广佛科技创新合作" in good.posts[0]["message"]


def test_dry_run_prints_the_messages_and_changes_nothing(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as hook:
        ops = subscriber("ops", hook.url)
        path = write_config(tmp_path / "watcher.yaml", [demo_source(server)], [ops], alerts={})  # 14 days
        state = tmp_path / "state"
        result = invoke(Clock(), "--config", str(path), "--state", str(state), "check", "--dry-run")
        assert result.exit_code == 0, result.output
        assert hook.posts == []
    assert result.output.count("── would send to json://127.0.0.1") == 2  # the two live calls
    assert f"【新通知】{site[0].title}" in result.output and "dry run, not sent" in result.output
    assert (
        not (state / "watcher.db").exists()
        or Store(state).query("SELECT count(*) AS n FROM items")[0]["n"] == 0
    )


def test_subscribers_add_and_remove_keep_the_file_valid(tmp_path: Path) -> None:
    path = tmp_path / "watcher.yaml"
    path.write_text("# my sources\nsources:\n  - name: kjj   # the bureau\n    url: https://kjj.gz.gov.cn/\n")
    runner = CliRunner()
    base = ["--config", str(path)]
    added = runner.invoke(cli, [*base, "subscribers", "add", "park", "--url", "wecombot://${KEY}",
                                "--programme", "kczg", "--kind", "遴选", "--digest", "08:30"], env={"KEY": "k"})  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "# the bureau" in path.read_text()
    (sub,) = config_mod.load(str(path), text=path.read_text().replace("${KEY}", "k")).subscribers
    assert sub.name == "park" and sub.programmes == ("kczg",) and sub.kinds == ("遴选",) and sub.digest
    bad = runner.invoke(
        cli, [*base, "subscribers", "add", "x", "--url", "json://h", "--programme", "nope"], env={"KEY": "k"}
    )
    assert (
        bad.exit_code == 2
        and "no programme with id 'nope'" in bad.output
        and "x" not in path.read_text().split("park")[1]
    )
    removed = runner.invoke(cli, [*base, "subscribers", "remove", "park"], env={"KEY": "k"})
    assert removed.exit_code == 0 and "park" not in path.read_text() and "# my sources" in path.read_text()


@pytest.mark.parametrize(
    ("entry", "line", "field", "message"),
    [
        ("  - name: a\n    urls: [json://h]\n    colour: red", 5, "subscribers[0].colour", "unknown key"),
        ("  - name: a\n    urls: [json://h]\n    digest: '25:00'", 5, "subscribers[0].digest", "08:30"),
        ("  - name: a\n    urls: [json://h]\n    quiet: '22:00'", 5, "subscribers[0].quiet", "22:00-07:30"),
        ("  - name: a\n    urls: [json://h]\n    kinds: [申请]", 5, "subscribers[0].kinds", "unknown kind"),
        (
            "  - name: a\n    urls: [json://h]\n    programmes: [guangfo/x]",
            5,
            "subscribers[0].programmes[0]",
            "no task",
        ),
        (
            "  - name: a\n    urls: [json://h]\n    sources: [nope]",
            5,
            "subscribers[0].sources[0]",
            "no source",
        ),
        ("  - name: a\n    urls: ['wecombot://${UNSET_FOR_TEST}']", 4, "subscribers[0].urls[0]", "not set"),
        ("  - name: a\n    urls: [not-a-url]", 4, "subscribers[0].urls[0]", "apprise URL"),
        ("  - name: a", 3, "subscribers[0]", "needs 'urls'"),
    ],
)
def test_subscriber_errors_name_file_line_and_field(entry: str, line: int, field: str, message: str) -> None:
    text = f"sources: []\nsubscribers:\n{entry}\n"
    with pytest.raises(ConfigError) as info:
        config_mod.load("watcher.yaml", text=text)
    assert (info.value.path, info.value.line, info.value.field) == ("watcher.yaml", line, field)
    assert message in info.value.message


def test_removed_notices_are_alerted_only_where_asked(
    server: LocalServer, site: list[demo.DemoNotice], tmp_path: Path
) -> None:
    with Webhook() as hook:
        ops = subscriber("ops", hook.url, programmes=["guangfo"])
        config = load_config(tmp_path, [demo_source(server, alert_removed=True)], [ops])
        clock = Clock()
        check(config, clock)
        send_alerts(config, clock=clock)
        server.site.put(demo.LIST_PATH, demo.render_list(site[1:]))  # the 广佛 call leaves the list
        clock.advance(hours=1)
        check(config, clock)
        send_alerts(config, clock=clock)
    assert titles(hook) == [f"【新通知】{site[0].title}", f"【已撤下】{site[0].title}"]
