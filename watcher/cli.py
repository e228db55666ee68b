"""The command line: a thin skin over the library. Each command parses, calls, prints."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from . import config as config_mod
from .errors import ConfigError, WatcherError
from .extract import extract as extract_page
from .fetch import Fetcher, FetchSettings, decode
from .models import Extracted, NotModified, Page


class Context:
    def __init__(self, config_path: str | None, state: str | None) -> None:
        self.config_path, self.state = config_path, state
        self._config: config_mod.Config | None = None

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
    click.echo(json.dumps(value, ensure_ascii=False, indent=1))


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


# ---------------------------------------------------------------- extract


def read_target(target: str, base_url: str | None) -> tuple[str, str, str]:
    """(text, encoding, base URL) for a URL or a FILE; raises WatcherError on failure."""
    if target.startswith(("http://", "https://")):
        return (*asyncio.run(_fetch_one(target)), base_url or target)
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise WatcherError(exc.strerror or "unreadable file") from exc
    text, encoding = decode(body)
    return text, encoding, base_url or path.resolve().as_uri()


async def _fetch_one(url: str) -> tuple[str, str]:
    async with Fetcher(FetchSettings(per_host_delay=0, robots=False, retries=0)) as fetcher:
        page = await fetcher.get(url)
    assert not isinstance(page, NotModified)
    return page.text, page.encoding


@cli.command()
@click.argument("target")
@click.option("--base-url", help="Resolve relative links against this URL (for a FILE).")
@click.option("--kind", type=click.Choice(config_mod.SOURCE_KINDS), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
def extract(target: str, base_url: str | None, kind: str, as_json: bool) -> None:
    """Show what watcher reads on a page (URL or FILE)."""
    try:
        text, encoding, base = read_target(target, base_url)
        result = extract_page(text, base, encoding, kind=kind, now=_now())
    except WatcherError as exc:
        fail(f"cannot read {target}: {exc}")
        return
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(render_extracted(result))


def _now() -> Any:
    import datetime as dt

    from .models import BEIJING

    return dt.datetime.now(BEIJING)


def render_extracted(x: Extracted) -> str:
    lines = [f"{x.kind} page · {x.encoding} · {x.url}"]
    for label, value in (
        ("title", x.title),
        ("date", x.date.iso if x.date else None),
        ("publisher", x.publisher),
        ("tag", x.tag),
        ("deadline", x.deadline.iso if x.deadline else None),
        ("doc number", x.doc_number),
    ):
        if value:
            lines.append(f"  {label:<10} {value}")
    for a in x.attachments:
        lines.append(f"  attachment {a.name} <{a.url}>")
    for heading, links in (("items", x.items), ("related", x.related)):
        if links:
            lines.append(f"{heading} ({len(links)}):")
            for i, link in enumerate(links, 1):
                tag = f"【{link.tag}】" if link.tag else ""
                lines.append(f"  {i:>3}. {link.date.iso if link.date else '          '}  {tag}{link.title}")
                lines.append(f"       {link.url}")
    if x.text:
        lines.append("text:")
        lines.extend("  " + line for line in x.text.splitlines())
    return "\n".join(lines)


def main() -> None:
    cli()


__all__ = ["Page", "cli", "main"]
