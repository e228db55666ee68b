"""The command line: a thin skin over the library. Each command parses, calls, prints."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from . import app, queries, report
from . import config as config_mod
from .classify import Classification, Classifier, load_programmes
from .errors import ConfigError, WatcherError
from .extract import extract as extract_page
from .fetch import Fetcher, FetchSettings, decode
from .localsite import LocalServer
from .models import BEIJING, Extracted, NotModified
from .pipeline import SourceResult
from .store import Store


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


def _now() -> dt.datetime:
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


# ---------------------------------------------------------------- check and the state


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: sources and changes.")
@click.option("--dry-run", is_flag=True, help="Print the alerts instead of sending them.")
@click.pass_obj
def check(obj: Context, names: tuple[str, ...], as_json: bool, dry_run: bool) -> None:
    """Check the sources once (all, or the NAMES given) and report what is new and changed."""
    config = obj.config
    try:
        sources = app.select_sources(config, names)
    except KeyError as exc:
        fail(f"no such source: {exc.args[0]}", 2)
    results = asyncio.run(app.check_sources(config, sources))
    if as_json:
        echo_json(
            {
                "sources": [r.to_json() for r in results],
                "changes": [c.to_json() for r in results for c in r.changes],
            }
        )
    else:
        click.echo(render_check(results))
    sys.exit(0 if all(r.status in ("ok", "not_modified") for r in results) else 1)


def render_check(results: list[SourceResult]) -> str:
    rows = [
        (
            r.name,
            r.status,
            r.count("new"),
            r.count("changed"),
            len(r.errors) + (1 if r.error else 0),
            f"{r.elapsed:.1f}s",
        )
        for r in results
    ]
    out = [report.table(["source", "status", "new", "changed", "errors", "time"], rows)]
    for r in results:
        if r.error:
            out.append(f"! {r.name}: {r.error}")
        for err in r.errors[:5]:
            out.append(f"! {r.name}: {err}")
    changes = [c for r in results for c in r.changes if c.kind != "removed"]
    if changes:
        out.append("")
        for c in changes:
            what = f" ({', '.join(c.what)})" if c.what else ""
            out.append(f"{c.kind:<8} {c.date or '':<10} {c.title}{what}\n         {c.url}")
            if c.diff:
                out.extend("           " + line for line in c.diff.splitlines())
    return "\n".join(out)


@cli.command()
@click.option("--validate", is_flag=True, help="Only validate the configuration.")
@click.pass_obj
def sources(obj: Context, validate: bool) -> None:
    """List the sources with their health: last success, failures, blocked."""
    config = obj.config
    if validate:
        click.echo(f"{config.path}: {len(config.sources)} sources, valid")
        return
    store = Store(config.settings.state)
    health = {row["name"]: row for row in store.sources()}
    rows = []
    for s in config.sources:
        h = health.get(s.name, {})
        rows.append((s.name, s.kind, f"{s.interval / 60:g}m", h.get("status") or "never checked",
                     h.get("last_success") or "", h.get("failures") or 0, h.get("error") or ""))  # fmt: skip
    click.echo(report.table(["source", "kind", "every", "status", "last success", "failures", "error"], rows))


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
    store = Store(obj.config.settings.state)
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
    store = Store(obj.config.settings.state)
    versions = queries.history(store, item)
    if not versions:
        fail(f"no such item: {item}")
    for v in versions:
        what = ", ".join(v["what"] or []) or "first seen"
        click.echo(f"{v['seen_at']}  {v['change']:<8} {what}\n  {v['title']}  {v['url']}")
        if v["diff"]:
            click.echo("\n".join("    " + line for line in v["diff"].splitlines()))


@cli.command()
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def search(obj: Context, text: str, limit: int) -> None:
    """Find notices by words in their title or body; Simplified finds Traditional and back."""
    store = Store(obj.config.settings.state)
    rows = queries.search(store, text, limit)
    click.echo(
        report.table(
            ["date", "title", "source", "url"], [(r["date"], r["title"], r["source"], r["url"]) for r in rows]
        )
    )
    click.echo(f"{len(rows)} found")


# ---------------------------------------------------------------- classification


@cli.command()
@click.argument("target", required=False)
@click.option("--text", help="A title and a body separated by a blank line.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def classify(obj: Context, target: str | None, text: str | None, as_json: bool) -> None:
    """Match a notice (URL, FILE or --text) against the tracked programmes, with reasons."""
    classifier = Classifier(programmes_of(obj))
    try:
        result = classify_target(classifier, target, text)
    except WatcherError as exc:
        fail(f"cannot read {target}: {exc}")
        return
    if as_json:
        echo_json(result.to_json())
        return
    click.echo(f"kind {result.kind} · region {result.region or '—'} · doc {result.doc_number or '—'} · "
               f"deadline {result.deadline or '—'}")  # fmt: skip
    if not result.matches:
        click.echo("no programme matched")
    for m in result.matches:
        click.echo(f"{m.name} ({m.programme}){' · ' + m.task if m.task else ''}  score {m.score:.0f}")
        for r in m.reasons:
            click.echo(f"    {r.term} in {r.field} ×{r.count}")


def classify_target(classifier: Classifier, target: str | None, text: str | None) -> Classification:
    if text is not None:
        title, _, body = text.partition("\n\n")
        return classifier.classify(title.strip(), body.strip(), **_facts(title, body))
    if target is None:
        raise click.UsageError("give a URL, a FILE or --text")
    if not target.startswith(("http://", "https://")) and not target.lower().endswith((".html", ".htm")):
        raw = Path(target).read_text(encoding="utf-8")
        title, _, body = raw.partition("\n")
        return classifier.classify(title.strip(), body.strip(), **_facts(title, body))
    page_text, encoding, base = read_target(target, None)
    return classifier.classify_extracted(extract_page(page_text, base, encoding, kind="notice", now=_now()))


def _facts(title: str, body: str) -> dict[str, Any]:
    from .extract.notice import find_deadline, find_doc_number

    deadline = find_deadline(body, None)
    return {
        "doc_number": find_doc_number([title, *body.splitlines()]),
        "deadline": deadline.iso if deadline else None,
    }


def programmes_of(obj: Context) -> tuple[Any, ...]:
    return obj.config.programmes or load_programmes()


@cli.command()
@click.pass_obj
def programmes(obj: Context) -> None:
    """List the tracked programmes and their tasks."""
    for p in programmes_of(obj):
        click.echo(f"{p.id:<10} {p.name}  (threshold {p.threshold:g}, {len(p.terms)} terms)")
        for t in p.tasks:
            click.echo(f"           · {t.id:<16} {t.name}")


@cli.command()
def demo() -> None:
    """Run offline on bundled pages: check, let the site change, check again, show what changed."""
    from . import demo as sample

    with LocalServer() as server, tempfile.TemporaryDirectory(prefix="watcher-demo-") as state:
        notices = sample.sample_notices()
        sample.publish(server, notices)
        config = config_mod.load("demo.yaml", state=state, text=sample.demo_config(server.base))
        click.echo(f"Serving a sample 通知公告 list and its notices on {server.base}\n")
        click.echo("== First check: everything is new")
        click.echo(render_check(asyncio.run(app.check_sources(config))))
        sample.publish(server, sample.next_round(notices))
        click.echo(
            "\n== The site changes: a new notice, a deadline moved, an attachment added, a counter ticks"
        )
        click.echo("== Second check: exactly the new and changed notices")
        click.echo(render_check(asyncio.run(app.check_sources(config))))


def main() -> None:
    cli()
