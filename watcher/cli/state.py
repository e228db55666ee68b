"""Commands over the state: check, sources, items, history, search, and the offline demo."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from .. import app, queries, report
from .. import config as config_mod
from .. import state as state_mod
from ..alert import Channel, Delivery, Message
from ..clock import today
from ..models import SourceResult
from ..store import MIGRATIONS, TABLES, Store, copy_state
from .base import Context, cli, echo_json, echo_lines, fail, no_such_source, open_store
from .sources import ask_daemon


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: sources and changes.")
@click.option("--dry-run", is_flag=True, help="Print the alerts instead of sending them.")
@click.option("--by-daemon", is_flag=True,
              help="Ask the running daemons to check now (the default beside a SQLite state's daemon).")  # fmt: skip
@click.option("--wait", default=300.0, show_default=True, help="Seconds to wait for a daemon's results.")
@click.pass_obj
def check(obj: Context, names: tuple[str, ...], as_json: bool, dry_run: bool, by_daemon: bool,
          wait: float) -> None:  # fmt: skip
    """Check the sources once (all, or the NAMES given) and report what is new and changed. Beside a
    running daemon, the daemon is asked to check them now (through the store) and its results printed."""
    config = obj.config
    try:
        sources = app.select_sources(config, names)
    except KeyError as exc:
        no_such_source(config, exc.args[0])
    holder = None if dry_run else state_mod.daemon_holding(config.settings.state)
    if holder or by_daemon:
        sys.exit(ask_daemon(obj, sources, holder or "the daemons", wait, as_json))
    out = sys.stderr if as_json else sys.stdout  # alerts printed on the console never break the JSON
    # A dry run works on a scratch copy: it writes nothing of the state, so it takes no lock.
    with (
        contextlib.nullcontext() if dry_run else obj.writer("check"),
        app.scratch_state(config) if dry_run else contextlib.nullcontext(config) as run_config,
    ):
        show = Progress(len(sources)) if sys.stderr.isatty() and not as_json else None
        results = asyncio.run(app.check_sources(run_config, sources, obj.clock, progress=show))
        if show:
            show.done()
        deliver = Preview(out) if dry_run else Delivery(console=out)
        sent = app.send_alerts(run_config, obj.clock, deliver=deliver)
    if as_json:
        echo_json(
            {
                "sources": [r.to_json() for r in results],
                "changes": [c.to_json() for r in results for c in r.changes],
                "alerts": {"sent": sent.sent, "retrying": sent.retrying, "failed": sent.failed},
            }
        )
    else:
        echo_lines(render_check(results))
        click.echo(f"\n{'dry run, not sent: ' if dry_run else ''}{sent}")
        for error in sent.errors[:5]:
            click.echo(f"! alert: {error}", err=True)
    sys.exit(0 if all(r.status.succeeded for r in results) else 1)


@dataclass
class Progress:
    """One line on the terminal, rewritten as sources finish: 12/40 gz-kjj-tzgg ok."""

    total: int
    count: int = 0

    def __call__(self, result: SourceResult) -> None:
        self.count += 1
        line = f"{self.count}/{self.total} {result.name} {result.status}"
        click.echo(f"\r\x1b[2K{line[:100]}", err=True, nl=False)

    def done(self) -> None:
        click.echo("\r\x1b[2K", err=True, nl=False)


@dataclass
class Preview:
    """Stands in for delivery in a dry run: prints each message with the channel it would go to."""

    out: TextIO

    def __call__(self, channel: Channel, message: Message) -> str | None:
        self.out.write(f"── would send to {channel.masked} ({message.format})\n")
        self.out.write(f"{message.title}\n{message.body}\n\n" if message.title else f"{message.body}\n\n")
        return None


def render_check(results: list[SourceResult]) -> Iterator[str]:
    """The summary table, errors, then each new or changed notice with its diff, line by line."""
    rows = [
        (r.name, r.status, r.count("new"), r.count("changed"), len(r.errors) + (1 if r.error else 0),
         f"{r.elapsed:.1f}s")
        for r in results
    ]  # fmt: skip
    yield from report.table_lines(["source", "status", "new", "changed", "errors", "time"], rows)
    for r in results:
        if r.error:
            yield f"! {r.name}: {r.error}"
        for err in r.errors[:5]:
            yield f"! {r.name}: {err}"
    first = True
    for c in (c for r in results for c in r.changes if c.kind != "removed"):
        if first:
            yield ""
            first = False
        what = f" ({', '.join(c.what)})" if c.what else ""
        yield f"{c.kind:<8} {c.date or '':<10} {c.title}{what}\n         {c.url}"
        if c.diff:
            yield from ("           " + line for line in c.diff.splitlines())


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--since", help="Only items first seen on or after this date (YYYY-MM-DD).")
@click.option("--changed", is_flag=True, help="Only items with more than one version.")
@click.option("--programme", help="Only items matched to this programme id.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def items(obj: Context, source: str | None, since: str | None, changed: bool, programme: str | None,
          limit: int, as_json: bool) -> None:  # fmt: skip
    """List the notices watcher knows, newest first."""
    store = open_store(obj)
    rows = queries.items(store, source=source, since=since, changed=changed, programme=programme, limit=limit)
    if as_json:
        echo_json(rows)
        return
    click.echo(report.table(["date", "title", "source", "versions", "key"],
                            [(r["date"], r["title"], r["source"], r["versions"], r["key"]) for r in rows]))  # fmt: skip


@cli.command()
@click.argument("item")
@click.pass_obj
def history(obj: Context, item: str) -> None:
    """Show the versions of one notice (its key or URL) and what changed between them."""
    store = open_store(obj)
    versions = queries.history(store, item)
    if not versions:
        fail(f"no such item: {item}")
    for v in versions:
        quiet = "attachments read, nothing else changed"  # a version that only adds what they hold
        what = ", ".join(v.what or []) or ("first seen" if v.change == "new" else quiet)
        click.echo(f"{v.seen_at}  {v.change:<8} {what}\n  {v.title}  {v.url}")
        if v.diff:
            click.echo("\n".join("    " + line for line in v.diff.splitlines()))


@cli.command()
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def search(obj: Context, text: str, limit: int) -> None:
    """Find notices by words in their title or body; Simplified finds Traditional and back."""
    store = open_store(obj)
    rows = queries.search(store, text, limit)
    click.echo(
        report.table(
            ["date", "title", "source", "url"], [(r["date"], r["title"], r["source"], r["url"]) for r in rows]
        )
    )
    click.echo(f"{len(rows)} found")


@cli.command()
@click.option(
    "--serve", "http", metavar="HOST:PORT", help="Then serve the page and feeds on the demo's state."
)
@click.pass_obj
def demo(obj: Context, http: str | None) -> None:
    """Run offline on bundled pages: check, let the site change, check again, show what changed."""
    import tempfile  # the demo's alone, like its local server

    from .. import demo as sample
    from ..localsite import LocalServer
    from .daemon import serve_page

    with LocalServer() as server, tempfile.TemporaryDirectory(prefix="watcher-demo-") as state:
        notices = sample.sample_notices(today(obj.clock))
        sample.publish(server, notices)
        config = config_mod.load("demo.yaml", state=state, text=sample.demo_config(server.base))
        click.echo(f"Serving a sample 通知公告 list and its notices on {server.base}\n")
        click.echo("== First check: everything is new")
        echo_lines(render_check(asyncio.run(app.check_sources(config, clock=obj.clock))))
        click.echo("\n== Alerts (no subscriber configured, so they go to the console)\n")
        click.echo(app.send_alerts(config, obj.clock))
        sample.publish(server, sample.next_round(notices))
        click.echo(
            "\n== The site changes: a new notice, a deadline moved, an attachment added, a counter ticks"
        )
        click.echo("== Second check: exactly the new and changed notices")
        echo_lines(render_check(asyncio.run(app.check_sources(config, clock=obj.clock))))
        click.echo("\n== Alerts\n")
        click.echo(app.send_alerts(config, obj.clock))
        if http:
            serve_page(config, http, obj.clock)


@cli.group("state")
def state_group() -> None:
    """Check, back up and restore the state's database."""


def sqlite_folder(obj: Context, command: str, instead: str) -> Path:
    """The state's directory; a PostgreSQL state is backed up and restored by PostgreSQL's own tools,
    `instead` (one line naming them, and exit 2)."""
    state = obj.config.settings.state
    if state_mod.is_database_url(state):
        fail(f"`watcher {command}` is for a SQLite state; this one is a PostgreSQL database: {instead}", 2)
    return Path(state)


@state_group.command("check")
@click.pass_obj
def state_check(obj: Context) -> None:
    """Say whether the database is sound (SQLite's integrity check), and which backups there are; on
    PostgreSQL, whether it answers, its schema and its rows (PostgreSQL checks its own pages: pg_amcheck)."""
    state = obj.config.settings.state
    if state_mod.is_database_url(state):
        with Store(state) as store:
            counts = {table: store.query(f"SELECT count(*) AS n FROM {table}")[0]["n"] for table in TABLES}
        click.echo(f"{state_mod.describe(state)}: ok, schema {len(MIGRATIONS)}; "
                   + ", ".join(f"{table} {n:,}" for table, n in counts.items())
                   + "; pages: pg_amcheck, backups: pg_dump")  # fmt: skip
        return
    folder = Path(state)
    db = folder / state_mod.DB_NAME
    problems = state_mod.integrity(db) if db.exists() else [f"{db} does not exist"]
    for line in problems[:20]:
        click.echo(f"! {line}")
    found = state_mod.backups(folder)
    click.echo(f"{db}: {'damaged' if problems else 'ok'}; backups: {len(found)}"
               + (f", newest {found[-1].name}" if found else ""))  # fmt: skip
    sys.exit(1 if problems else 0)


@state_group.command("backup")
@click.pass_obj
def state_backup(obj: Context) -> None:
    """Write an online backup of the database now (the daemon writes one daily; the last 7 are kept)."""
    target = state_mod.backup(sqlite_folder(obj, "state backup", "back it up with pg_dump (or a replica)"))
    click.echo(f"backed up to {target}")


@state_group.command("restore")
@click.argument("backup", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def state_restore(obj: Context, backup: Path | None) -> None:
    """Put a backup (the newest by default) in place of the database; the daemon must be stopped."""
    folder = sqlite_folder(obj, "state restore", "restore a pg_dump with pg_restore")
    with obj.writer("state restore"):
        chosen = state_mod.restore(folder, backup)
    click.echo(f"restored {chosen}")


@cli.command("migrate-state")
@click.argument("target")
@click.pass_obj
def migrate_state(obj: Context, target: str) -> None:
    """Copy this SQLite state into an empty PostgreSQL database (TARGET: postgresql://…); then point
    `settings.state` (or WATCHER_STATE) at it. Stop the daemon first."""
    if not state_mod.is_database_url(target):
        fail("TARGET must be a postgresql:// URL", 2)
    folder = sqlite_folder(obj, "migrate-state", "copy it with pg_dump and pg_restore")
    with obj.writer("migrate-state"):
        source, into = Store(folder), Store(target)
        try:
            copied = copy_state(source, into)
        finally:
            source.close()
            into.close()
    click.echo(", ".join(f"{table} {count:,}" for table, count in copied.items()))
    click.echo(f"copied into {state_mod.describe(target)}: point `settings.state` (or WATCHER_STATE) at it")
