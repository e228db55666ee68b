"""sources.yaml: values as YAML types them, and every error naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import config as config_mod
from watcher import secrets
from watcher.cli import cli
from watcher.errors import ConfigError

GOOD = """settings:
  concurrency: 4
  per_host: {concurrency: 2, delay: 0.5}
sources:
  - name: kjj
    url: https://kjj.gz.gov.cn/tzgg/
    interval: 30m
    follow: no
    headers: {Referer: https://kjj.gz.gov.cn/}
  - name: fs
    url: http://www.foshan.gov.cn/gkmlpt/index
    kind: gkmlpt
    allowed_domains: foshan.gov.cn
"""


def test_values_are_typed_and_defaults_filled() -> None:
    config = config_mod.load("w.yaml", state="st", text=GOOD)
    kjj, fs = config.sources
    assert (config.settings.concurrency, config.settings.per_host_concurrency) == (4, 2)
    assert config.settings.per_host_delay == 0.5 and config.settings.state == "st"
    assert (kjj.kind, kjj.interval, kjj.follow, kjj.depth) == ("auto", 1800.0, False, 1)
    assert kjj.headers == (("Referer", "https://kjj.gz.gov.cn/"),)
    assert "gz.gov.cn" in kjj.allowed_domains and "foshan.gov.cn" in kjj.allowed_domains
    assert fs.allowed_domains == ("foshan.gov.cn",) and fs.kind == "gkmlpt"


@pytest.mark.parametrize(
    ("edit", "line", "field", "message"),
    [
        (("    interval: 30m", "    interval: soon"), 7, "sources[0].interval", "duration"),
        (("    follow: no", "    folow: no"), 8, "sources[0].folow", "unknown key"),
        (("    url: https://kjj.gz.gov.cn/tzgg/", "    url: kjj.gz.gov.cn"), 6, "sources[0].url", "http://"),
        (("    url: https://kjj.gz.gov.cn/tzgg/\n", ""), 5, "sources[0]", "needs 'url'"),
        (("  - name: fs", "  - name: kjj"), 10, "sources[1].name", "duplicate"),
        (("    kind: gkmlpt", "    kind: rss"), 12, "sources[1].kind", "one of auto"),
        (("  concurrency: 4", "  concurrency: 0"), 2, "settings.concurrency", "more than zero"),
        (("{concurrency: 2, delay: 0.5}", "{concurrency: two}"), 3, "settings.per_host.concurrency", "whole"),
        (("    follow: no", "    follow: 1"), 8, "sources[0].follow", "true or false"),
        (("settings:", "setings:"), 1, "setings", "unknown section"),
        (("    headers: {Referer", "    headers: [Referer"), 9, "(syntax)", ""),
        (
            ("    kind: gkmlpt", "    kind: gkmlpt\n    encoding: gbkk"),
            13,
            "sources[1].encoding",
            "unknown encoding",
        ),
        (
            ("http://www.foshan.gov.cn/gkmlpt/index", "https://kjj.gz.gov.cn/tzgg/"),
            11,
            "sources[1].url",
            "the same URL as source 'kjj'",
        ),
        (
            ("  concurrency: 4", "  state: postgresql://w:${WATCHER_TEST_UNSET}@db/w"),
            2,
            "settings.state",
            "WATCHER_TEST_UNSET is not set",
        ),
    ],
)
def test_errors_name_file_line_and_field(edit: tuple[str, str], line: int, field: str, message: str) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        config_mod.load("w.yaml", text=text)
    assert (info.value.path, info.value.line, info.value.field) == ("w.yaml", line, field)
    assert message in info.value.message


def test_the_state_url_takes_variables_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TEST_PGPW", "s3cret")
    monkeypatch.delenv("WATCHER_STATE", raising=False)
    text = GOOD.replace("  concurrency: 4", "  state: postgresql://w:${WATCHER_TEST_PGPW}@db/w")
    assert config_mod.load("w.yaml", text=text).settings.state == "postgresql://w:s3cret@db/w"
    assert config_mod.load("w.yaml", text=GOOD.replace("concurrency: 4", "state: ${WATCHER_TEST_PGPW}"))


def test_secrets_come_from_files_named_by_their_file_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker and Compose secrets are files: `${NAME}` reads NAME, else the file NAME_FILE names (its
    newline dropped); PostgreSQL's PGPASSWORD likewise, for libpq."""
    (tmp_path / "key").write_text("abc123\n")
    monkeypatch.setenv("WATCHER_TEST_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.delenv("WATCHER_TEST_KEY", raising=False)
    text = (
        GOOD + "subscribers:\n  - name: ops\n    urls: ['json://127.0.0.1/hook?token=${WATCHER_TEST_KEY}']\n"
    )
    (channel,) = config_mod.load("w.yaml", text=text).subscribers[0].channels
    assert channel.url.endswith("token=abc123") and channel.scrub(channel.url).endswith("token=****")
    monkeypatch.setenv("WATCHER_TEST_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(
        ConfigError, match=r"w.yaml:16: subscribers\[0\].urls\[0\]: WATCHER_TEST_KEY_FILE=.*No such file"
    ):
        config_mod.load("w.yaml", text=text)
    env = {"PGPASSWORD_FILE": str(tmp_path / "key")}
    secrets.export(environ=env)
    assert env["PGPASSWORD"] == "abc123"


def test_a_configuration_that_cannot_be_written_is_left_as_it_was(tmp_path: Path) -> None:
    """As under a read-only mount (here the file beside it, which the edit writes first, cannot be made,
    even by root): one line saying so, the file untouched."""
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD)
    (tmp_path / "sources.yaml.tmp").mkdir()
    args = ["--config", str(path), "--state", str(tmp_path / "s"), "subscribers", "add", "b"]
    added = CliRunner().invoke(cli, [*args, "--url", "json://127.0.0.1/hook"])
    assert added.exit_code == 2 and "not written" in added.output and "read-write" in added.output
    assert path.read_text() == GOOD


def test_an_apprise_url_apprise_cannot_use_fails_validation(tmp_path: Path) -> None:
    """Checked by apprise's own parser, when asked (`--validate`, `subscribers add`): the error names file,
    line and field, and says what apprise found wrong."""
    path = tmp_path / "sources.yaml"
    path.write_text(
        GOOD + "subscribers:\n  - name: ops\n    urls: ['json://127.0.0.1/hook', 'tgram://abc']\n"
    )
    args = ["--config", str(path), "--state", str(tmp_path / "s")]
    result = CliRunner().invoke(cli, [*args, "sources", "--validate"])
    assert result.exit_code == 2, result.output
    assert f"{path}:16: subscribers[0].urls[1]: apprise cannot use this URL" in result.output
    assert "Telegram" in result.output
    added = CliRunner().invoke(cli, [*args, "subscribers", "add", "b", "--url", "nosuchservice://x"])
    assert added.exit_code == 2 and "not written" in added.output and "apprise cannot use" in added.output
    assert "nosuchservice" not in path.read_text()
    path.write_text(GOOD + "subscribers:\n  - name: ops\n    urls: ['json://127.0.0.1/hook']\n")
    assert CliRunner().invoke(cli, [*args, "sources", "--validate"]).exit_code == 0


def test_anchors_and_single_document() -> None:
    aliased = GOOD.replace("kind: gkmlpt", "kind: &k list")
    aliased = aliased.replace("allowed_domains: foshan.gov.cn", "allowed_domains: foshan.gov.cn\n  - name: c\n"
                              "    url: https://c.gz.gov.cn/\n    kind: *k")  # fmt: skip
    assert config_mod.load("w.yaml", text=aliased).sources[2].kind == "list"
    with pytest.raises(ConfigError, match=r"w.yaml:\d+: \(syntax\)"):
        config_mod.load("w.yaml", text="sources: []\n---\nsources: []\n")
    with pytest.raises(ConfigError, match=r"w.yaml:2: \(syntax\)"):  # an empty first document too
        config_mod.load("w.yaml", text="---\n---\nsources: []\n")
    with pytest.raises(ConfigError, match=r"w.yaml:1: defaults: unknown section"):  # anchors or not
        config_mod.load("w.yaml", text="defaults: &d {kind: list}\n" + GOOD)


def test_cli_exits_2_and_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace("interval: 30m", "interval: -5"))
    result = CliRunner().invoke(cli, ["--config", str(path), "--state", str(tmp_path / "s"), "check"])
    assert result.exit_code == 2
    assert f"{path}:7: sources[0].interval: must be more than zero" in result.output


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (GOOD.replace("interval: 30m", "interval: .inf"), 7, "sources[0].interval", "1 second to a year"),
        (GOOD.replace("interval: 30m", "interval: 0.000001"), 7, "sources[0].interval", "1 second to a year"),
        (
            GOOD.replace("  concurrency: 4", "  concurrency: 4\n  retries: 1000000"),
            3,
            "settings.retries",
            "0 to 10",
        ),
        (GOOD.replace("follow: no", "max_follow: 10000000"), 8, "sources[0].max_follow", "1 to 10000"),
        (GOOD.replace("  concurrency: 4", "  timeout: .nan"), 2, "settings.timeout", "a number"),
        (
            GOOD.replace("{Referer: https://kjj.gz.gov.cn/}", '{X-A: "a\\r\\nHost: evil"}'),
            9,
            "sources[0].headers",
            "line break",
        ),
        (
            GOOD + "subscribers:\n  - {name: a, urls: ['json://x'], reminders: [100000000]}\n",
            15,
            "subscribers[0].reminders",
            "1 to 365",
        ),
        (GOOD + "alerts:\n  recent_days: 99999999\n", 15, "alerts.recent_days", "0 to 3650"),
        (GOOD + "subscribers: []\nsubscribers: []\n", 15, "(syntax)", "duplicate key 'subscribers'"),
    ],
)
def test_values_are_bounded_where_they_are_validated(text: str, line: int, field: str, message: str) -> None:
    """What passes `sources --validate` never crashes at run time: numbers within bounds, no line breaks in
    headers, no second section silently replacing the first."""
    with pytest.raises(ConfigError) as info:
        config_mod.load("w.yaml", text=text)
    assert (info.value.line, info.value.field) == (line, field), info.value
    assert message in info.value.message


def test_a_billion_laughs_fails_fast_with_its_line() -> None:
    import time

    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 10)]
    for place in ("sources: [*a9]", "? *a9\n: x"):
        started = time.process_time()
        with pytest.raises(ConfigError, match=r"w.yaml:\d+: \(syntax\): aliases expand the document"):
            config_mod.load("w.yaml", text="\n".join([*lines, place]) + "\n")
        assert time.process_time() - started < 1.0


def test_a_long_file_without_aliases_is_read_whole() -> None:
    """50,000 sources are 250,000 values written out: as many as the file shows, read in full."""
    sources = "".join(
        f"  - name: s{i}\n    url: http://kjj{i % 50}.gz.gov.cn/tzgg/{i}.html\n" for i in range(50_000)
    )
    config = config_mod.load("w.yaml", text=f"sources:\n{sources}")
    assert len(config.sources) == 50_000 and config.sources[-1].name == "s49999"


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(GOOD.encode() + "  - name: 佛山\n".encode("gbk"))
    with pytest.raises(ConfigError) as info:
        config_mod.load(str(path))
    assert info.value.line == 14 and "not UTF-8" in info.value.message


def test_a_file_with_a_nul_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace("  - name: fs", "  - name: f\x00s"), "utf-8")
    with pytest.raises(ConfigError) as info:
        config_mod.load(str(path))
    assert info.value.line == 10 and "#x0000" in info.value.message
