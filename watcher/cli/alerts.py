"""Commands over alerts and subscribers: alerts, send, notify-test, subscribers."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from .. import app, report
from .. import config as config_mod
from ..alert import Delivery, Subscriber, render
from ..alert.message import sample
from ..clock import today
from ..errors import ConfigError
from ..models import AlertRow
from .base import Context, cli, echo_json, fail, open_store


def audience(obj: Context) -> tuple[Subscriber, ...]:
    return app.planner_of(obj.config).audience


def channel_names(obj: Context) -> dict[tuple[str, str], str]:
    """(subscriber, channel key) → the channel's masked URL, for display."""
    planner = app.planner_of(obj.config)
    subs = [*planner.audience, *([planner.admin] if planner.admin else [])]
    return {(s.name, c.key): c.masked for s in subs for c in s.channels}


@cli.command()
@click.option("--pending", "status", flag_value="pending", help="Only alerts waiting to be sent.")
@click.option("--failed", "status", flag_value="failed", help="Only alerts that could not be delivered.")
@click.option("--sent", "status", flag_value="sent", help="Only delivered alerts.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def alerts(obj: Context, status: str | None, limit: int, as_json: bool) -> None:
    """List alerts in the outbox, newest first: pending, sent and failed, with the last error."""
    store = open_store(obj)
    rows = store.alerts(status, limit)
    names = channel_names(obj)
    if as_json:  # the row's columns, with the channel's name and the payload decoded
        echo_json([{**asdict(r), "channel": channel_of(names, r), "payload": payload_of(r)} for r in rows])
        return
    table = [((r.created or "")[:16], r.status, r.subscriber, channel_of(names, r), r.reason,
              payload_of(r).get("title", ""), r.attempts, r.last_error or "") for r in rows]  # fmt: skip
    click.echo(
        report.table(["created", "status", "subscriber", "channel", "why", "title", "tries", "error"], table)
    )
    counts = store.alert_counts()
    click.echo(", ".join(f"{counts.get(s, 0)} {s}" for s in ("pending", "sent", "failed")))


def channel_of(names: dict[tuple[str, str], str], row: AlertRow) -> str:
    return names.get((row.subscriber or "", row.channel or ""), "(no longer configured)")


def payload_of(row: AlertRow) -> dict[str, Any]:
    """The alert's AlertData as JSON (what `--json` prints; its title is the table's)."""
    payload: dict[str, Any] = json.loads(row.payload or "{}")
    return payload


@cli.command()
@click.pass_obj
def send(obj: Context) -> None:
    """Deliver the pending alerts that are due (and the deadline reminders due today)."""
    with obj.writer("send"):
        result = app.send_alerts(obj.config, obj.clock)
    click.echo(str(result))
    for error in result.errors[:10]:
        click.echo(f"! {error}", err=True)
    sys.exit(1 if result.failed else 0)


@cli.command("notify-test")
@click.argument("name")
@click.pass_obj
def notify_test(obj: Context, name: str) -> None:
    """Send a sample alert to every channel of subscriber NAME; exit 0 only if every one accepted it."""
    sub = next((s for s in audience(obj) if s.name == name), None)
    if sub is None:
        fail(f"no subscriber named {name!r}", 2)
        return
    failures = 0
    for channel in sub.channels:
        day = today(obj.clock)
        message = render([sample(day)], channel.scheme, day)
        error = Delivery()(channel, message)
        failures += error is not None
        click.echo(f"{'✓' if error is None else '✗'} {channel.masked}: {error or 'accepted'}")
    sys.exit(1 if failures else 0)


@cli.group(invoke_without_command=True)
@click.pass_context
def subscribers(ctx: click.Context) -> None:
    """List the subscribers, their filters and their channels (secrets masked)."""
    if ctx.invoked_subcommand:
        return
    obj: Context = ctx.obj
    from ..web.access import feed_token, page_password

    password = page_password()
    if not obj.config.subscribers:
        click.echo("no subscribers: alerts go to the console (add one with `watcher subscribers add`)")
    for s in obj.config.subscribers:
        filters = [f"{label} {', '.join(v)}" for label, v in (("programmes", s.programmes), ("kinds", s.kinds),
                   ("regions", s.regions), ("sources", s.sources), ("keywords", s.keywords)) if v]  # fmt: skip
        mode = f"digest at {s.digest:%H:%M}" if s.digest else "immediate"
        quiet = f", quiet {s.quiet.start:%H:%M}-{s.quiet.end:%H:%M}" if s.quiet else ""
        click.echo(f"{s.name}: {mode}{quiet}; {'; '.join(filters) or 'every programme'}")
        for c in s.channels:
            click.echo(f"    {c.masked}")
        if password:  # the page needs a password: this feed opens with its own token
            feed = f"/feeds/subscribers/{s.name}.xml"
            click.echo(f"    feed {quote(feed)}?token={feed_token(password, feed)}")


@subscribers.command("add")
@click.argument("name")
@click.option(
    "--url", "urls", multiple=True, required=True, help="An apprise URL; ${ENV} allowed. Repeatable."
)
@click.option("--programme", "programmes", multiple=True, help="A programme id, or id/task. Repeatable.")
@click.option("--kind", "kinds", multiple=True, help="申报, 遴选, 公示, 下达, 政策解读… Repeatable.")
@click.option("--region", "regions", multiple=True, help="A city or district. Repeatable.")
@click.option("--source", "sources", multiple=True, help="A source name. Repeatable.")
@click.option("--keyword", "keywords", multiple=True, help="Also alert notices with this word. Repeatable.")
@click.option("--digest", help="Send a daily digest at this time (HH:MM) instead of each alert at once.")
@click.option("--quiet", help="Hold immediate alerts during this window, such as 22:00-07:30.")
@click.pass_obj
def subscribers_add(obj: Context, /, name: str, **options: Any) -> None:
    """Add a subscriber to the configuration file (validated before it is written)."""
    entry: dict[str, Any] = {"name": name}
    for key, value in options.items():
        if value:
            entry[key] = list(value) if isinstance(value, tuple) else value

    def add(data: Any) -> None:
        if any(s.get("name") == name for s in data.get("subscribers") or []):
            raise click.ClickException(f"a subscriber named {name!r} exists already")
        data.setdefault("subscribers", []).append(entry)

    edit_config(obj, add)
    click.echo(f"added {name} to {obj.config_file}")


@subscribers.command("remove")
@click.argument("name")
@click.pass_obj
def subscribers_remove(obj: Context, name: str) -> None:
    """Remove a subscriber from the configuration file; its pending alerts will not be sent."""

    def remove(data: Any) -> None:
        subs = data.get("subscribers") or []
        index = next((i for i, s in enumerate(subs) if s.get("name") == name), None)
        if index is None:
            raise click.ClickException(f"no subscriber named {name!r}")
        del subs[index]
        if not subs:
            del data["subscribers"]

    edit_config(obj, remove)
    click.echo(f"removed {name} from {obj.config_file}")


def edit_config(obj: Context, change: Callable[[Any], None]) -> None:
    """Round-trip the YAML (comments kept, through ruamel.yaml), validate the result, replace atomically."""
    from ruamel.yaml import YAML

    path = Path(obj.config_file)
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    data = yaml.load(path.read_text("utf-8") if path.exists() else "") or {}
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    try:
        config_mod.load(str(path), obj.state, text=out.getvalue(), check_urls=True)
    except ConfigError as exc:
        fail(f"not written: {exc}", 2)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(out.getvalue(), "utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a container's read-only mount, say: the file is as it was
        fail(f"not written: {path.parent} cannot be written ({exc.strerror}, uid {os.getuid()}); mount the "
             "configuration's directory read-write, or edit the file where it lives", 2)  # fmt: skip
