"""Commands that set watcher up and steer its sources: init, sources (list, add, pause, resume)."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import yaml

from .. import app, report, when
from .. import config as config_mod
from ..config import DEFAULT_CONFIG
from ..errors import ConfigError, WatcherError, succeeded
from ..extract.listing import Candidate
from ..models import Extracted, SourceRow
from ..programmes import load_programmes
from ..store import Store, due_iso, now_iso
from .alerts import edit_config
from .base import Context, cli, echo_json, echo_lines, fail, no_such_source, open_store
from .pages import reason_of, try_page

STARTER_SOURCE = ("gz-kjj-tzgg", "https://kjj.gz.gov.cn/xxgk/tzgg/", "广州市科学技术局 通知公告")


def starter_config() -> str:
    """A commented sources.yaml: one source, one subscriber, and the ids of the bundled programmes."""
    name, url, what = STARTER_SOURCE
    ids = "\n".join(f"#   {p.id:<10} {p.name}" for p in load_programmes())
    first = load_programmes()[0].id
    return f"""# watcher's configuration, written by `watcher init`. README "Adding a source" and "Adding a
# subscriber" describe every key; `watcher sources --validate` checks the file after an edit.

settings:
  state: state                  # what watcher has seen: a directory beside this file (SQLite), or
                                # postgresql://watcher:${{PGPASSWORD}}@db-host/watcher for several daemons

sources:
  # A name and a URL are all a source needs. Add more with `watcher sources add URL`, which first shows
  # what watcher would track there.
{f"  - name: {name}".ljust(32)}# {what}
    url: {url}
    interval: 1h                # how often: 90, 30m, 6h, 1d, or auto

subscribers:
  # Who hears of which notices. console:// prints the alerts; any apprise URL sends them, such as
  # mailto://me:${{SMTP_PASSWORD}}@example.org?to=me@example.org or wecombot://${{WECOM_KEY}}
  # (`watcher notify-test me` sends a sample).
  - name: me
    urls: ["console://"]
    programmes: [{first}]       # programme ids (below); without this line, every programme
    # kinds: [申报, 遴选]       # only calls for applications and selections
    # digest: "08:30"           # one message a day instead of each alert at once

# The programmes watcher knows, by id (`watcher programmes` lists their tasks, as id/task):
{ids}
"""


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Write a commented starter sources.yaml in DIRECTORY (the current one by default)."""
    path = directory / DEFAULT_CONFIG
    if path.exists():
        fail(f"{path} exists already; edit it, or choose another directory", 2)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_config(), "utf-8")
    config_mod.load(str(path))  # what init writes always loads
    flag = "" if directory.resolve() == Path.cwd().resolve() else f" --config {path}"
    click.echo(f"wrote {path}: one source, one subscriber (the console). Next:")
    click.echo(
        f"  watcher{flag} sources add URL      # a page to watch: shows what watcher would track there"
    )
    click.echo(f"  watcher{flag} check                # check every source once and print the alerts")
    click.echo(f"  watcher{flag} run --http 127.0.0.1:8080   # keep watching; the page on that address")


@cli.group(invoke_without_command=True)
@click.option("--validate", is_flag=True, help="Only validate the configuration (alert URLs by apprise too).")
@click.pass_context
def sources(ctx: click.Context, validate: bool) -> None:
    """List the sources: how often, the next check, the last result and its error."""
    if ctx.invoked_subcommand:
        return
    obj: Context = ctx.obj
    if validate:
        config = obj.load(check_urls=True)
        click.echo(f"{config.path}: {len(config.sources)} sources, valid")
        return
    config = obj.config
    health = {row.name: row for row in open_store(obj).sources()}
    at = obj.clock()
    rows = []
    for s in config.sources:
        h = health.get(s.name) or SourceRow(s.name)
        rows.append((s.name, s.kind, every(s), next_check(h, at), last_result(h, at), h.failures or 0,
                     h.error or ""))  # fmt: skip
    click.echo(
        report.table(["source", "kind", "every", "next check", "last check", "failures", "error"], rows)
    )


def every(source: config_mod.Source) -> str:
    text = when.interval(source.interval)
    return f"auto ({text})" if source.adaptive else text


def next_check(row: SourceRow, at: dt.datetime) -> str:
    """`paused`, `in 12m`, `due` (waiting for a free slot or a daemon), or `—` before a daemon scheduled it."""
    if row.paused_at:
        return "paused"
    if row.claimed_by:
        return "checking"
    if not row.next_due:
        return "—"
    words = when.relative(row.next_due, at)
    return "due" if words == "now" or words.endswith("ago") else words


def last_result(row: SourceRow, at: dt.datetime) -> str:
    if not row.last_check:
        return "never checked"
    return f"{row.status} {when.relative(row.last_check, at)}"


@sources.command("pause")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def sources_pause(obj: Context, names: tuple[str, ...]) -> None:
    """Pause sources: a running daemon passes them over from its next look at the schedule (no restart),
    until `watcher sources resume`. `watcher check NAME` still checks one on request."""
    _steer(obj, names, now_iso(obj.clock()))
    click.echo(f"paused {', '.join(names)}")


@sources.command("resume")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def sources_resume(obj: Context, names: tuple[str, ...]) -> None:
    """Resume paused sources: each is checked at its due time, at once if that has passed."""
    _steer(obj, names, None)
    click.echo(f"resumed {', '.join(names)}")


def _steer(obj: Context, names: tuple[str, ...], paused_at: str | None) -> None:
    """Written to the store directly, beside a running daemon (which reads the schedule from it): no write
    lock is taken, a one-row update that SQLite's busy timeout and PostgreSQL serialise."""
    try:
        chosen = app.select_sources(obj.config, names)
    except KeyError as exc:
        no_such_source(obj.config, exc.args[0])
    store = open_store(obj)
    try:
        for source in chosen:
            store.pause(source.name, source.url, paused_at)
    finally:
        store.close()


@sources.command("add")
@click.argument("url")
@click.option("--name", help="A unique name [from the address].")
@click.option("--selectors", "selectors", multiple=True, metavar="FIELD=CSS",
              help="A CSS override: items, title, body or date, such as 'items=ul.list > li'. Repeatable.")  # fmt: skip
@click.option("--kind", type=click.Choice(config_mod.SOURCE_KINDS), help="[default: auto]")
@click.option("--interval", help="90, 30m, 6h, 1d or auto [default: 1h].")
@click.option("--encoding", help="Only when the page's own declaration is wrong, such as gbk.")
@click.option("--no-preview", is_flag=True, help="Add it without fetching the page first.")
@click.pass_obj
def sources_add(obj: Context, url: str, name: str | None, selectors: tuple[str, ...], kind: str | None,
                interval: str | None, encoding: str | None, no_preview: bool) -> None:  # fmt: skip
    """Show what watcher would track at URL (kind, entries, dates, the region chosen and why), then add it
    to the configuration file (comments kept, validated before it is written)."""
    known = {s.name for s in obj.config.sources} if Path(obj.config_file).exists() else set()
    entry: dict[str, Any] = {"name": name or name_for(url, known), "url": url}
    options = {"kind": kind, "interval": interval, "encoding": encoding, "selectors": _selectors(selectors)}
    entry.update({key: value for key, value in options.items() if value})
    source = _trial(entry)
    if not no_preview:
        regions: list[Candidate] = []
        try:
            x, _ = try_page(url, obj.clock, source=source, regions=regions)
        except WatcherError as exc:
            fail(f"not added: cannot read {url}: {reason_of(exc, url)} (--no-preview adds it anyway)")
        echo_lines(preview(x, regions, source))

    def add(data: Any) -> None:
        for other in data.get("sources") or []:
            if other.get("name") == entry["name"] or other.get("url") == url:
                raise click.ClickException(
                    f"source {other.get('name')!r} exists already ({other.get('url')})"
                )
        data.setdefault("sources", []).append(entry)

    edit_config(obj, add)
    click.echo(
        f"added {entry['name']} to {obj.config_file}; check it now with `watcher check {entry['name']}`"
    )


def _selectors(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        field, sep, css = value.partition("=")
        if not sep or not css.strip():
            raise click.BadParameter(f"expected FIELD=CSS, such as 'items=ul.list > li', got {value!r}")
        out[field.strip()] = css.strip()
    return out


def _trial(entry: dict[str, Any]) -> config_mod.Source:
    """The new source as the configuration would read it (every value validated, errors as in the file)."""
    text = yaml.safe_dump({"sources": [entry]}, allow_unicode=True)
    try:
        return config_mod.load("(the new source)", state=".", text=text).sources[0]
    except ConfigError as exc:
        fail(f"not added: {exc}", 2)


def name_for(url: str, taken: set[str]) -> str:
    """kjj.gz.gov.cn/xxgk/tzgg/ → kjj-gz-tzgg: the host's own labels and the last path segment; -2, -3…
    when taken."""
    parts = urlsplit(url)
    labels = [x for x in (parts.hostname or "source").split(".") if x not in _GENERIC]
    host = "-".join(labels[:3]) if not (parts.hostname or "").replace(".", "").isdigit() else "local"
    segments = [p.rsplit(".", 1)[0] for p in parts.path.split("/") if p and p.rsplit(".", 1)[0] != "index"]
    base = re.sub(r"[^a-z0-9-]+", "-", f"{host}-{segments[-1]}" if segments else host, flags=re.I).strip("-")
    name, n = base.lower() or "source", 1
    while name in taken:
        n += 1
        name = f"{base.lower()}-{n}"
    return name


_GENERIC = {"www", "gov", "cn", "com", "org", "net", "edu", "ac"}


def preview(x: Extracted, regions: list[Candidate], source: config_mod.Source) -> list[str]:
    """What a check would track at the source: its kind, entries, dates, and the list's region and why."""
    head = f"{x.kind} page · {x.encoding} · {x.url}"
    if x.kind == "notice":
        facts = [f"title {x.title or '—'}", f"date {x.date.iso if x.date else '—'}",
                 f"deadline {x.deadline.iso if x.deadline else '—'}", f"{len(x.attachments)} attachments"]  # fmt: skip
        return [head, "  one notice: watcher would track its revisions", "  " + " · ".join(facts)]
    dates = sorted(link.date.iso for link in x.items if link.date)
    lines = [head, f"  {len(x.items)} entries, {len(dates)} dated"
             + (f" ({dates[0]} to {dates[-1]})" if dates else "")]  # fmt: skip
    if source.selectors.items:
        lines.append(f"  region: {x.region or '—'}, chosen by selectors.items {source.selectors.items!r}")
    elif regions:
        best, *rest = regions
        why = f"{best.entries} entries, {best.dated} dated, score {best.score:.1f}"
        if rest:
            why += f"; the next best, {rest[0].path}, scored {rest[0].score:.1f}"
        lines.append(f"  region: {x.region or best.path} ({why})")
        if rest and rest[0].score >= 0.8 * best.score:
            lines.append(f"  the choice is close: `--selectors 'items={best.path} > *'` pins it")
    if not x.items:
        lines.append("  no entries: a check would fail; see `watcher extract URL --explain`")
    for link in x.items[:5]:
        lines.append(f"    {link.date.iso if link.date else '          '}  {link.title}")
    return lines


def ask_daemon(obj: Context, chosen: list[config_mod.Source], holder: str, wait: float, as_json: bool) -> int:
    """`watcher check` beside a daemon: the sources made due now in the store (any daemon on the state
    takes them within a second), then their results read back as each check writes. Exit status as
    `check`'s: 0 when every one was checked fine."""
    store = open_store(obj)
    try:
        rows = {row.name: row for row in store.sources()}
        paused = [s.name for s in chosen if (row := rows.get(s.name)) and row.paused_at]
        unknown = [s.name for s in chosen if s.name not in paused and not _scheduled(rows.get(s.name))]
        waiting = [s.name for s in chosen if s.name not in paused and s.name not in unknown]
        for name in paused:
            click.echo(f"! {name} is paused: `watcher sources resume {name}` first", err=True)
        for name in unknown:
            click.echo(f"! {name} is not in the daemon's schedule yet: reload it (SIGHUP) first", err=True)
        asked = obj.clock()
        store.check_now(waiting, due_iso(asked))
        if waiting:
            click.echo(f"asked {holder} to check {', '.join(waiting)} now", err=True)
        done = _wait_for_checks(store, {n: rows[n].last_check for n in waiting}, wait)
        results = [_result(store, done[n], now_iso(asked)) for n in waiting if n in done]
    finally:
        store.close()
    late = [n for n in waiting if n not in done]
    if as_json:
        echo_json({"sources": results, "not_checked": paused + unknown + late})
    else:
        click.echo(report.table(["source", "status", "new", "changed", "checked", "error"],
                                [(r["name"], r["status"], r["new"], r["changed"], r["checked"], r["error"] or "")
                                 for r in results]))  # fmt: skip
        for name in late:
            click.echo(
                f"! {name}: no result within {wait:g} s; `watcher sources` shows it when it comes", err=True
            )
    fine = all(succeeded(r["status"]) for r in results)
    return 0 if fine and len(results) == len(chosen) else 1


def _scheduled(row: SourceRow | None) -> bool:
    return bool(row and (row.next_due or row.claimed_by))


def _wait_for_checks(store: Store, before: dict[str, str | None], wait: float) -> dict[str, SourceRow]:
    """The sources' rows once each has a new last check (or when `wait` seconds have passed)."""
    deadline = time.monotonic() + wait
    done: dict[str, SourceRow] = {}
    while len(done) < len(before) and time.monotonic() < deadline:
        time.sleep(0.25)
        for row in store.sources():
            name = row.name
            if name in before and name not in done and row.last_check != before[name]:
                done[name] = row
    return done


def _result(store: Store, row: SourceRow, since: str) -> dict[str, Any]:
    counts = {
        r["change"]: r["n"]
        for r in store.query(
            "SELECT v.change AS change, count(*) AS n FROM versions v JOIN items i ON i.key = v.item_key "
            "WHERE i.source = ? AND v.seen_at >= ? GROUP BY v.change",
            [row.name, since],
        )
    }
    return {"name": row.name, "status": row.status, "new": counts.get("new", 0),
            "changed": counts.get("changed", 0), "checked": row.last_check, "error": row.error}  # fmt: skip
