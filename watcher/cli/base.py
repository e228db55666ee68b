"""The command group, its context and the helpers every command shares."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable
from typing import Any

import click

from .. import config as config_mod
from ..errors import ConfigError
from ..models import BEIJING
from ..store import Store


class Context:
    def __init__(self, config_path: str | None, state: str | None) -> None:
        self.config_path, self.state = config_path, state
        self._config: config_mod.Config | None = None

    @property
    def config_file(self) -> str:
        return self.config_path or config_mod.DEFAULT_CONFIG

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            try:
                self._config = config_mod.load(self.config_path, self.state)
            except ConfigError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(2)
        return self._config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="WATCHER_CONFIG", help="Configuration file [./sources.yaml].")
@click.option("--state", envvar="WATCHER_STATE", help="State directory [./state/].")
@click.version_option(package_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, state: str | None) -> None:
    """watcher: notice monitoring and change alerts for government S&T programmes."""
    ctx.obj = Context(config_path, state)


def echo_json(value: Any) -> None:
    """Written as it is encoded, 64 K characters at a time: `check --json` over 5,000 sources never holds
    the whole text."""
    chunks: list[str] = []
    size = 0
    for chunk in _JSON.iterencode(value):
        chunks.append(chunk)
        size += len(chunk)
        if size > 65536:
            click.echo("".join(chunks), nl=False)
            chunks, size = [], 0
    click.echo("".join(chunks))


_JSON = json.JSONEncoder(ensure_ascii=False, indent=1)


def echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def now() -> dt.datetime:
    return dt.datetime.now(BEIJING)


def open_store(obj: Context) -> Store:
    return Store(obj.config.settings.state)
