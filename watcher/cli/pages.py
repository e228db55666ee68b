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
from ..charset import decode
from ..classify import Classifier
from ..clock import Clock, system_clock
from ..config import Source
from ..errors import Blocked, FetchError, WatcherError
from ..extract import extract as extract_page
from ..extract.explain import deadline_lines, notice_sources
from ..extract.listing import Candidate
from ..extract.notice import find_deadline, find_doc_number
from ..fetch import Fetcher, FetchSettings
from ..models import Attachment, Extracted, NotModified, attachment_label
from ..programmes import Classification
from ..reading import with_attachments
from ..transport import built_by_script
from .base import Context, cli, echo_json, fail, no_such_source


def read_target(
    target: str,
    base_url: str | None,
    source: Source | None = None,
    browser: bool = False,
    clock: Clock = system_clock,
) -> tuple[str, str, str]:
    """(text, encoding, base URL) for a URL or a FILE; raises WatcherError on failure. A `source`'s
    headers, encoding, TLS and robots settings are used to fetch its URL, as a check would; `browser`: the
    URL as headless Chromium leaves it after the page's scripts."""
    if target.startswith(("http://", "https://")):
        page = _render_one(target, clock, source) if browser else _fetch_one(target, source)
        return (*asyncio.run(page), base_url or target)
    if browser:
        raise WatcherError("--browser reads a URL, not a file")
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


async def _fetch_one(url: str, source: Source | None = None) -> tuple[str, str]:
    options: dict[str, Any] = {}
    if source is not None:
        options = {"headers": dict(source.headers), "verify": source.verify_tls,
                   "encoding": source.encoding, "robots": source.robots}  # fmt: skip
    async with _one_off_fetcher(url) as fetcher:
        page = await fetcher.get(url, **options)
    assert not isinstance(page, NotModified)
    return page.text, page.encoding


async def _render_one(url: str, clock: Clock, source: Source | None = None) -> tuple[str, str]:
    from ..transport import Transport

    async with _one_off_fetcher(url) as fetcher:
        transport = Transport(fetcher, None, config_mod.Settings(), clock)
        try:
            source = source or config_mod.Source("extract", url, robots=False)
            page = await transport.render(source, url, "--browser")
        finally:
            await transport.aclose()
    assert not isinstance(page, NotModified)
    return page.text, page.encoding


def read_attachments(x: Extracted, clock: Clock, settings: AttachmentSettings | None = None) -> Extracted:
    """The notice with its attachments fetched and read now (nothing is remembered)."""
    settings = settings or AttachmentSettings()
    web = [a for a in x.attachments if a.url.startswith(("http://", "https://"))]
    if not web:
        return x

    async def run() -> Read:
        reader = AttachmentReader(None, settings, clock)
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
@click.argument("target", required=False)
@click.option("--source", "source_name", metavar="NAME",
              help="Try a configured source with all its settings (selectors, encoding, headers, kind).")  # fmt: skip
@click.option("--base-url", help="Resolve relative links against this URL (for a FILE).")
@click.option("--kind", type=click.Choice(config_mod.SOURCE_KINDS), default=None, help="[default: auto]")
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
@click.option("--explain", is_flag=True, help="Also show which regions could be the list, and why.")
@click.option(
    "--attachments", "attachments", is_flag=True, help="Also fetch and read a notice's attachments."
)
@click.option("--browser", is_flag=True, help="Read the URL through headless Chromium, after its scripts.")
@click.pass_obj
def extract(
    obj: Context, target: str | None, source_name: str | None, base_url: str | None, kind: str | None,
    as_json: bool, explain: bool, attachments: bool, browser: bool,
) -> None:  # fmt: skip
    """Show what watcher reads on a page (URL or FILE), or at a configured source (--source NAME)."""
    source = configured_source(obj, source_name) if source_name else None
    if source is not None and target is None:
        target = source.url
    if target is None:
        raise click.UsageError("give a URL, a FILE or --source NAME")
    regions: list[Candidate] | None = [] if explain else None
    try:
        result, text = try_page(target, obj.clock, base_url, source, kind, regions, browser)
        if attachments and result.kind == "notice":
            result = read_attachments(result, obj.clock)
    except Blocked as exc:
        hint = (
            "; `--browser` reads it as a `fetch: auto` source would" if exc.scripted and not browser else ""
        )
        fail(f"cannot read {target}: {exc}{hint}")
        return
    except WatcherError as exc:
        fail(f"cannot read {target}: {reason_of(exc, target)}")
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(render_extracted(result, attachments))
    if regions is not None:
        click.echo(render_explanation(result, regions, text))
        if (
            not browser
            and kind != "notice"
            and built_by_script(text.encode(), len(result.items), result.text)
        ):
            click.echo(
                "no list here, and the page's scripts load data: a `fetch: auto` source reads it through the "
                "browser (its list is built by script); `--browser` shows what the browser sees"
            )


def configured_source(obj: Context, name: str) -> Source:
    try:
        return obj.config.source(name)
    except KeyError:
        no_such_source(obj.config, name)


def try_page(
    target: str,
    clock: Clock,
    base_url: str | None = None,
    source: Source | None = None,
    kind: str | None = None,
    regions: list[Candidate] | None = None,
    browser: bool = False,
) -> tuple[Extracted, str]:
    """What watcher reads at `target` (and the page's text), with a source's settings when given: its
    kind and selectors as a check applies them. Raises WatcherError."""
    text, encoding, base = read_target(target, base_url, source, browser, clock)
    selectors = source.selectors if source else None
    kind = kind or (source.kind if source else "auto")
    return extract_page(
        text, base, encoding, kind=kind, selectors=selectors, now=clock(), explain=regions
    ), text


def reason_of(exc: WatcherError, target: str) -> str:
    """A fetch error's reason without the address already named (once more only when a redirect led
    elsewhere)."""
    if isinstance(exc, FetchError):
        return exc.reason if exc.url == target else f"{exc.url}: {exc.reason}"
    return str(exc)


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
        result = classify_target(classifier, target, text, obj.clock)
    except WatcherError as exc:
        fail(f"cannot read {target}: {reason_of(exc, target or '')}")
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


def classify_target(
    classifier: Classifier, target: str | None, text: str | None, clock: Clock
) -> Classification:
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
    x = extract_page(page_text, base, encoding, kind="notice", now=clock())
    return classifier.classify_extracted(
        read_attachments(x, clock)
    )  # a programme may be named only in the guide


def _facts(title: str, body: str) -> dict[str, Any]:
    deadline = find_deadline(body, None)
    return {
        "doc_number": find_doc_number([title, *body.splitlines()]),
        "deadline": deadline.iso if deadline else None,
    }


def programmes_of(obj: Context) -> tuple[Any, ...]:
    return obj.programmes


@cli.command()
@click.pass_obj
def programmes(obj: Context) -> None:
    """List the tracked programmes and their tasks."""
    for p in programmes_of(obj):
        click.echo(f"{p.id:<10} {p.name}  (threshold {p.threshold:g}, {len(p.terms)} terms)")
        for t in p.tasks:
            click.echo(f"           · {t.id:<16} {t.name}")
