"""The command line as a new user meets it: outside the repository, with typos, with the database down."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import demo
from watcher.cli import cli
from watcher.localsite import LocalServer


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
