"""Commands over one page: what watcher reads on it, and which programmes it matches."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from .. import config as config_mod
from ..attachments import AttachmentReader, AttachmentSettings, Read
from ..classify import Classification, Classifier
from ..errors import WatcherError
from ..extract import extract as extract_page
from ..extract.explain import deadline_lines, notice_sources
from ..extract.listing import Candidate
from ..extract.notice import find_deadline, find_doc_number
from ..fetch import Fetcher, FetchSettings, decode
from ..models import Attachment, Extracted, NotModified, attachment_label
from ..pipeline import with_attachments
from .base import Context, cli, echo_json, fail, now


def read_target(target: str, base_url: str | None) -> tuple[str, str, str]:
    """(text, encoding, base URL) for a URL or a FILE; raises WatcherError on failure."""
    if target.startswith(("http://", "https://")):
        return (*asyncio.run(_fetch_one(target)), base_url or target)
    path = Path(target)
    cap = FetchSettings().max_bytes  # a file is read under the cap a fetched page has
    try:
        with path.open("rb") as f:
            body = f.read(cap + 1)
    except OSError as exc:
        raise WatcherError(exc.strerror or "unreadable file") from exc
    if len(body) > cap:
        raise WatcherError(f"over the {cap:,} byte cap a fetched page has")
    text, encoding = decode(body)
    return text, encoding, base_url or path.resolve().as_uri()


def _one_off_fetcher(url: str) -> Fetcher:
    own = (urlsplit(url).hostname or "",)  # the page asked for may be internal; what it links to may not
    return Fetcher(FetchSettings(per_host_delay=0, robots=False, retries=0, allow_private=own))


async def _fetch_one(url: str) -> tuple[str, str]:
    async with _one_off_fetcher(url) as fetcher:
        page = await fetcher.get(url)
    assert not isinstance(page, NotModified)
    return page.text, page.encoding


def read_attachments(x: Extracted, settings: AttachmentSettings | None = None) -> Extracted:
    """The notice with its attachments fetched and read now (nothing is remembered)."""
    settings = settings or AttachmentSettings()
    web = [a for a in x.attachments if a.url.startswith(("http://", "https://"))]
    if not web:
        return x

    async def run() -> Read:
        reader = AttachmentReader(None, settings, now)
        async with _one_off_fetcher(x.url) as fetcher:
            try:
                return await reader.read(
                    web,
                    lambda url, v: fetcher.get(url, v, binary=True, max_bytes=settings.max_bytes),
                    lambda _: True,
                )
            finally:
                await reader.aclose()

    return with_attachments(replace(x, attachments=tuple(web)), asyncio.run(run()))


@cli.command()
@click.argument("target")
@click.option("--base-url", help="Resolve relative links against this URL (for a FILE).")
@click.option("--kind", type=click.Choice(config_mod.SOURCE_KINDS), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
@click.option("--explain", is_flag=True, help="Also show which regions could be the list, and why.")
@click.option(
    "--attachments", "attachments", is_flag=True, help="Also fetch and read a notice's attachments."
)
def extract(
    target: str, base_url: str | None, kind: str, as_json: bool, explain: bool, attachments: bool
) -> None:
    """Show what watcher reads on a page (URL or FILE)."""
    regions: list[Candidate] | None = [] if explain else None
    try:
        text, encoding, base = read_target(target, base_url)
        result = extract_page(text, base, encoding, kind=kind, now=now(), explain=regions)
        if attachments and result.kind == "notice":
            result = read_attachments(result)
    except WatcherError as exc:
        fail(f"cannot read {target}: {exc}")
        return
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(render_extracted(result, attachments))
    if regions is not None:
        click.echo(render_explanation(result, regions, text))


def render_explanation(x: Extracted, regions: list[Candidate], text: str) -> str:
    """Where a notice's fields came from; the list candidates, best first; and a ready `selectors:`
    snippet when the choice was close."""
    lines = []
    if x.kind == "notice":
        lines.append("read from:")
        lines += [f"  {field:<10} {where}" for field, where in notice_sources(text, x)]
        lines += deadline_lines(x)
    if not regions:
        return "\n".join([*lines, "no region of repeated links"])
    lines.append("regions that could be the list (best first):")
    for i, c in enumerate(regions, 1):
        lines.append(f"  {i}. score {c.score:5.1f}  {c.entries} entries, {c.dated} dated  {c.path}")
        lines.append(f"     first: {c.first}")
    best, *rest = regions
    if x.kind == "notice" or (rest and rest[0].score >= 0.8 * best.score):
        lines += ["the choice is close; to fix it, add to the source in sources.yaml:", "  selectors:"]
        lines.append(f'    items: "{best.path} > *"')
    return "\n".join(lines)


def render_extracted(x: Extracted, read: bool = False) -> str:
    lines = [f"{x.kind} page · {x.encoding} · {x.url}"]
    deadline = (
        (x.deadline.iso + (f" (in {x.deadline_from})" if x.deadline_from else "")) if x.deadline else None
    )
    for label, value in (
        ("title", x.title),
        ("date", x.date.iso if x.date else None),
        ("publisher", x.publisher),
        ("tag", x.tag),
        ("deadline", deadline),
        ("doc number", x.doc_number),
    ):
        if value:
            lines.append(f"  {label:<10} {value}")
    texts = x.attachment_texts or ("",) * len(x.attachments)
    for i, (a, text) in enumerate(zip(x.attachments, texts, strict=False), 1):
        lines.append(f"  {attachment_label(i, a.name)} <{a.url}>")
        if read:
            lines += _attachment_lines(a, text)
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


def _attachment_lines(a: Attachment, text: str, first: int = 5) -> list[str]:
    """Type, size, pages and the first lines of an attachment read, or why it could not be read."""
    facts = [a.kind or "?", f"{a.size:,} bytes" if a.size is not None else None]
    if a.pages is not None:
        facts.append(f"{a.pages} {'sheets' if a.kind in ('xlsx', 'xls') else 'pages'}")
    out = [f"        {' · '.join(filter(None, facts))}" + (f" · {a.error}" if a.error else "")]
    shown = [line for line in text.splitlines() if line.strip()]
    out += [f"        | {line[:100]}" for line in shown[:first]]
    if len(shown) > first:
        out.append(f"        | … {len(shown) - first} more lines")
    return out


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
    x = extract_page(page_text, base, encoding, kind="notice", now=now())
    return classifier.classify_extracted(read_attachments(x))  # a programme may be named only in the guide


def _facts(title: str, body: str) -> dict[str, Any]:
    deadline = find_deadline(body, None)
    return {
        "doc_number": find_doc_number([title, *body.splitlines()]),
        "deadline": deadline.iso if deadline else None,
    }


def programmes_of(obj: Context) -> tuple[Any, ...]:
    return obj.config.tracked_programmes


@cli.command()
@click.pass_obj
def programmes(obj: Context) -> None:
    """List the tracked programmes and their tasks."""
    for p in programmes_of(obj):
        click.echo(f"{p.id:<10} {p.name}  (threshold {p.threshold:g}, {len(p.terms)} terms)")
        for t in p.tasks:
            click.echo(f"           · {t.id:<16} {t.name}")
