"""The command line as a new user meets it: outside the repository, with typos, with the database down."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import demo
from watcher.cli import cli
from watcher.localsite import LocalServer

from . import kit


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory without sources.yaml, and no configuration in the user's directory or the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    for name in ("WATCHER_CONFIG", "WATCHER_STATE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_configuration_names_the_paths_tried_and_how_to_choose_one(elsewhere: Path) -> None:
    result = CliRunner().invoke(cli, ["items"])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert (
        str(elsewhere / "sources.yaml") in out and str(elsewhere / "home-config/watcher/sources.yaml") in out
    )
    assert "--config" in out and "WATCHER_CONFIG" in out and "watcher init" in out
    named = CliRunner().invoke(cli, ["--config", "nowhere.yaml", "items"])
    assert named.exit_code == 2 and str(elsewhere / "nowhere.yaml") in named.output
    assert "home-config" not in named.output  # a named file is the only one tried


def test_classify_and_programmes_need_no_configuration(elsewhere: Path) -> None:
    text = "关于组织申报2026年度广佛科技创新合作专项项目的通知\n\n广佛两市联合攻关，申报截止2026年12月5日。"
    result = CliRunner().invoke(cli, ["classify", "--text", text])
    assert result.exit_code == 0, result.output
    assert "(guangfo)" in result.output and "deadline 2026-12-05" in result.output
    listed = CliRunner().invoke(cli, ["programmes"])
    assert listed.exit_code == 0 and "guangfo" in listed.output


def test_an_unknown_source_lists_the_known_names(server: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"sources:\n  - name: kjj\n    url: {server.url(demo.LIST_PATH)}\n  - name: fs\n    url: {server.url('/fs')}\n"
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "--state", str(tmp_path / "s"), "check", "kjjj"])
    assert result.exit_code == 2
    assert "no such source: kjjj (the sources are: fs, kjj)" in result.output


def test_postgresql_unreachable_is_not_told_to_restore_a_sqlite_backup(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: kjj\n    url: http://127.0.0.1:9/\n")
    url = f"postgresql://watcher:s3cret@127.0.0.1:{free_port()}/watcher"
    result = CliRunner().invoke(cli, ["--config", str(path), "--state", url, "items"])
    assert result.exit_code == 2
    assert "state restore" not in result.output and "s3cret" not in result.output
    assert "PostgreSQL" in result.output and "WATCHER_STATE" in result.output


def test_a_new_user_goes_from_init_to_a_first_alert(server: LocalServer, elsewhere: Path) -> None:
    """`watcher init`, `watcher sources add URL`, `watcher check` and nothing else (the starter's own source
    is on the internet: only the added one is checked)."""
    notices = demo.sample_notices(kit.real_today())  # `check` runs on the system's clock here
    demo.publish(server, notices)
    dates = sorted(n.date for n in notices)
    runner = CliRunner()
    made = runner.invoke(cli, ["init"])
    assert made.exit_code == 0, made.output
    assert "watcher sources add URL" in made.output and "watcher check" in made.output
    path = elsewhere / "sources.yaml"
    starter = path.read_text("utf-8")
    assert all(f"#   {pid} " in starter for pid in ("guangfo", "prd", "gz-hub", "kczg"))
    assert (
        runner.invoke(cli, ["init"]).exit_code == 2 and path.read_text("utf-8") == starter
    )  # never overwritten
    path.write_text(starter.replace("settings:\n", "settings:\n  per_host: {delay: 0}\n"), "utf-8")

    url = server.url(demo.LIST_PATH)
    added = runner.invoke(cli, ["sources", "add", url])
    assert added.exit_code == 0, added.output
    assert f"list page · utf-8 · {url}" in added.output
    assert (
        f"4 entries, 4 dated ({dates[0]} to {dates[-1]})" in added.output
        and "region: div.news_list > ul (4 entries" in added.output
    )
    assert "added local-tzgg to" in added.output
    text = path.read_text("utf-8")
    assert "# watcher's configuration, written by `watcher init`" in text and "name: local-tzgg" in text
    again = runner.invoke(cli, ["sources", "add", url, "--name", "again"])
    assert again.exit_code != 0 and "exists already" in again.output

    checked = runner.invoke(cli, ["check", "local-tzgg"])
    assert checked.exit_code == 0, checked.output
    assert (
        "【新通知】关于组织申报" in checked.output and "附件：附件1：" in checked.output
    )  # the console subscriber
    listed = runner.invoke(cli, ["sources"])
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if line.startswith("local-tzgg"))
    assert row.split()[1:4] == ["auto", "1h", "in"] and "ok now" in row  # next check (in 55m-1h), last result


GBK_PAGE = """<html><head><meta charset="utf-8"><title>通知公告</title></head><body>
<div class="side"><h3>热点</h3><ul><li><a href="/s/1.html">关于公布2026年度高新技术企业名单的通知</a><span>2026-10-01</span></li>
<li><a href="/s/2.html">关于公布2026年度科技企业孵化器名单的通知</a><span>2026-10-02</span></li></ul></div>
<div class="list"><ul>{}</ul></div></body></html>"""


def test_extract_source_tries_a_configured_source_with_its_settings(
    server: LocalServer, tmp_path: Path
) -> None:
    rows = "".join(f'<li><a href="/n/{i}.html">关于组织申报第{i}批科技项目的通知</a><span>2026-11-{10 + i}</span></li>'
                   for i in range(5))  # fmt: skip
    server.site.put("/gbk.html", GBK_PAGE.format(rows).encode("gbk"))  # GBK bytes under a utf-8 declaration
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"sources:\n  - name: wrong\n    url: {server.url('/gbk.html')}\n    encoding: gbk\n    kind: list\n"
        f"    selectors: {{items: 'div.side li'}}\n    headers: {{Referer: 'https://kjj.example.cn/'}}\n"
    )
    runner = CliRunner()
    tried = runner.invoke(
        cli, ["--config", str(path), "--state", str(tmp_path / "s"), "extract", "--source", "wrong"]
    )
    assert tried.exit_code == 0, tried.output
    assert "list page · gb18030" in tried.output and "items (2):" in tried.output
    assert (
        "高新技术企业名单" in tried.output and "科技项目" not in tried.output
    )  # its selectors chose the side list
    assert server.site.request_headers["/gbk.html"]["referer"] == "https://kjj.example.cn/"  # its headers
    bare = runner.invoke(cli, ["extract", server.url("/gbk.html")])
    assert "items (5):" in bare.output and "科技项目" in bare.output  # the page's own list, without them
    assert "referer" not in server.site.request_headers["/gbk.html"]
    missing = runner.invoke(cli, ["--config", str(path), "extract", "--source", "nope"])
    assert missing.exit_code == 2 and "the sources are: wrong" in missing.output
