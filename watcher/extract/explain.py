"""Where a notice's fields came from, for `watcher extract --explain`: read back from the page, so the
extractors themselves carry no bookkeeping."""

from __future__ import annotations

from ..models import Extracted
from ..normalize import date_from_url, find_dates, fold
from . import deadline, dom, titles


def notice_sources(text: str, x: Extracted) -> list[tuple[str, str]]:
    """(field, where it was read) for the title, date and publisher of an extracted notice."""
    tree = dom.parse(text)
    metas = titles.read_meta(tree)
    dom.remove(tree, dom.INVISIBLE)
    lines = [line for line in dom.block_lines(tree.body) if line] if tree.body is not None else []
    return [
        ("title", _title_source(tree, metas, x)),
        ("date", _date_source(metas, lines, x)),
        ("publisher", _publisher_source(metas, lines, x)),
    ]


def _title_source(tree: dom.LexborHTMLParser, metas: dict[str, str], x: Extracted) -> str:
    if not x.title:
        return "none found"
    want = fold(x.title)
    for name, value in metas.items():
        if fold(value).endswith(want):
            return f"<meta name={name}>"
    for node in tree.css(titles.HEADINGS):
        if fold(dom.node_text(node)).endswith(want):
            return f"<{node.tag}{_selector(node)}> (agrees with <title>)"
    return "<title>, less the site's name"


def _date_source(metas: dict[str, str], lines: list[str], x: Extracted) -> str:
    if x.date is None:
        return "none found"
    for name in titles.META_DATE:
        if name in metas and x.date.iso in [d.iso for _, d in find_dates(metas[name])]:
            return f"<meta name={name}>"
    for line in lines:
        if any(d.iso == x.date.iso for _, d in find_dates(line)):
            return f"the line {line[:60]!r}"
    if (from_url := date_from_url(x.url)) and from_url.iso == x.date.iso:
        return "the page's address"
    return "a relative date (…前)"


def _publisher_source(metas: dict[str, str], lines: list[str], x: Extracted) -> str:
    if not x.publisher:
        return "none found"
    for name in titles.META_PUBLISHER:
        if name in metas and x.publisher in metas[name]:
            return f"<meta name={name}>"
    line = next((line for line in lines if x.publisher in line), None)
    return f"the line {line[:60]!r}" if line else "the info line"


def _selector(node: dom.Node) -> str:
    attrs = node.attributes
    if attrs.get("id"):
        return f' id="{attrs["id"]}"'
    return f' class="{attrs["class"]}"' if attrs.get("class") else ""


def deadline_lines(x: Extracted) -> list[str]:
    """The dated phrases of a notice's body and read attachments that a deadline could be, with the role
    each was given, and which one won."""
    texts = [("body", x.text or "")] + [
        (f"attachment {i}", t) for i, t in enumerate(x.attachment_texts or (), 1) if t
    ]
    found = [(where, c) for where, text in texts for c in deadline.deadline_candidates(text, x.date)]
    if not found:
        return ["deadline candidates: none (no dated phrase reads as one)"]
    chosen = deadline.choose([c for _, c in found])
    lines = [
        "deadline candidates (the latest extension, else applicant, else subset, else forwarding, else conditional extension wins):"
    ]
    for where, c in found:
        mark = "→" if c is chosen else " "
        lines.append(f"  {mark} {c.date.iso}  {c.role:<11} {c.reason}  [{where}: {c.phrase}]")
    return lines
