"""The command group, its context and the helpers every command shares."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import config as config_mod
from .. import state as state_mod
from ..clock import Clock, system_clock
from ..errors import ConfigError, SecretError, StateError, StoreError, outcome_of
from ..programmes import load_programmes
from ..secrets import export, secret
from ..state import DB_NAME
from ..store import Store, explain


class Context:
    def __init__(
        self, config_path: str | None, state: str | None, fresh: bool = False, clock: Clock = system_clock
    ) -> None:
        self.config_path, self.state, self.fresh, self.clock = config_path, state, fresh, clock
        self._config: config_mod.Config | None = None

    @property
    def config_file(self) -> str:
        return config_mod.find_config(self.config_path)

    @property
    def programmes(self) -> tuple[Any, ...]:
        """The configured programmes; the bundled ones when no configuration was named or found (`classify`
        and `programmes` work anywhere)."""
        if self.config_path is None and not Path(self.config_file).exists():
            return load_programmes()
        return self.config.tracked_programmes

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = self.load()
            shared = state_mod.is_database_url(self._config.settings.state)
            if (
                self.fresh
                and not shared
                and (aside := state_mod.start_over(Path(self._config.settings.state)))
            ):
                click.echo(f"starting over: the old database is kept as {aside}", err=True)
        return self._config

    def load(self, check_urls: bool = False) -> config_mod.Config:
        """The configuration read now (exit 2 on an error); `check_urls`: apprise parses each alert URL."""
        try:
            return config_mod.load(self.config_path, self.state, check_urls=check_urls)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    def writer(self, command: str) -> contextlib.AbstractContextManager[None]:
        """The state's write lock for a command that writes (see watcher.state)."""
        return state_mod.writer(
            self.config.settings.state, command, waiting=lambda m: click.echo(m, err=True), clock=self.clock
        )


class Commands(click.Group):
    """Errors about the state (busy, lost, damaged, read-only, full, unreachable) end a command with one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StateError as exc:
            click.echo(f"error: {outcome_of(exc).message}", err=True)
            ctx.exit(2)
        except StoreError as exc:
            obj = ctx.obj if isinstance(ctx.obj, Context) else None
            state = obj.config.settings.state if obj else None
            path = Path(state) / DB_NAME if state and not state_mod.is_database_url(state) else None
            click.echo(f"error: {explain(exc, path)}", err=True)
            ctx.exit(2)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="WATCHER_CONFIG", help="Configuration file [./sources.yaml].")
@click.option("--state", envvar="WATCHER_STATE", help="State directory [./state/].")
@click.option("--fresh", is_flag=True, help="Start the state over when its database was lost (kept aside).")
@click.version_option(package_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, state: str | None, fresh: bool) -> None:
    """watcher: notice monitoring and change alerts for government S&T programmes."""
    try:  # NAME_FILE for a secret (Docker's /run/secrets/…): the state's URL, libpq's PGPASSWORD
        state = state or secret("WATCHER_STATE")
        export()
    except SecretError as exc:
        fail(str(exc), 2)
    # A program embedding the CLI (the tests) may hand it a clock as `obj`; otherwise the system's.
    clock = ctx.obj if callable(ctx.obj) else system_clock
    ctx.obj = Context(config_path, state, fresh, clock)


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


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def no_such_source(config: config_mod.Config, names: str, shown: int = 20) -> NoReturn:
    """Exit 2 naming the sources there are (the first `shown` of a long file)."""
    known = sorted(s.name for s in config.sources)
    listed = ", ".join(known[:shown]) + (f" and {len(known) - shown} more" if len(known) > shown else "")
    fail(
        f"no such source: {names} ({f'the sources are: {listed}' if known else 'no source is configured'})", 2
    )


def open_store(obj: Context) -> Store:
    """The state, closed when the command ends (a PostgreSQL connection is not left to the collector)."""
    return click.get_current_context().with_resource(Store(obj.config.settings.state))
