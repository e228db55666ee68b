"""sources.yaml: values as YAML types them, and every error naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher import config as config_mod
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
    ],
)
def test_errors_name_file_line_and_field(edit: tuple[str, str], line: int, field: str, message: str) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        config_mod.load("w.yaml", text=text)
    assert (info.value.path, info.value.line, info.value.field) == ("w.yaml", line, field)
    assert message in info.value.message


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
