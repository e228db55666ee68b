"""Page → Extracted: a small registry of extractors keyed by the `kind` users write in sources.yaml.

auto     decide from the content: gkmlpt JSON, RSS/Atom, or HTML (list or notice)
list     an HTML notice list
notice   an HTML notice page
gkmlpt   Guangdong's 政府信息公开目录 JSON list (/gkmlpt/api/all/<catid>)
feed     RSS or Atom
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ExtractError
from ..models import DateValue, Extracted, Link, PageKind
from ..normalize import find_dates, parse_date, year_from_url
from . import dom, entrydates, feeds, infoline, links, notice, titles
from .budget import DEFAULT_SECONDS, budget
from .listing import (
    Candidate,
    anchor_items,
    best_list,
    candidates,
    css_path,
    group_links,
    is_index,
    select_links,
    weigh,
)


@dataclass(frozen=True, slots=True)
class Selectors:
    """Per-source CSS overrides, for the rare page the heuristics misread."""

    items: str | None = None
    title: str | None = None
    body: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Request:
    text: str
    url: str
    encoding: str
    selectors: Selectors
    now: dt.datetime | None
    force: PageKind | None = None
    explain: list[Candidate] | None = None  # filled with the list candidates when asked
    region: str | None = None  # the list region this source was read from before, preferred if still there


def extract(
    text: str,
    url: str,
    encoding: str = "utf-8",
    *,
    kind: str = "auto",
    selectors: Selectors | None = None,
    now: dt.datetime | None = None,
    explain: list[Candidate] | None = None,
    region: str | None = None,
    cpu_seconds: float | None = DEFAULT_SECONDS,
) -> Extracted:
    """Read one decoded page. `now` resolves relative dates (1年前) and yearless list dates; `explain`,
    when given, receives the regions that could be the list, best first; `region`, the CSS path of the
    list region the source was read from before, is taken again while the page still has it. Past
    `cpu_seconds` of CPU (2 s), the page is "too complex" (ExtractError), alone."""
    if not text.strip():
        raise ExtractError("empty page")
    if kind == "auto":
        kind = (
            "gkmlpt" if feeds.looks_like_gkmlpt(text) else "feed" if feeds.looks_like_feed(text) else "html"
        )
    try:
        handler = EXTRACTORS[kind]
    except KeyError:
        raise ExtractError(f"unknown page kind {kind!r}; one of {', '.join(EXTRACTORS)}") from None
    force: PageKind | None = "list" if kind == "list" else "notice" if kind == "notice" else None
    with budget(cpu_seconds):
        return handler(Request(text, url, encoding, selectors or Selectors(), now, force, explain, region))


def _gkmlpt(req: Request) -> Extracted:
    return Extracted(
        url=req.url, kind="list", encoding=req.encoding, items=tuple(feeds.gkmlpt_links(req.text, req.url))
    )


def _feed(req: Request) -> Extracted:
    title, links = feeds.feed_links(req.text, req.url)
    return Extracted(url=req.url, kind="list", encoding=req.encoding, title=title, items=tuple(links))


def _html(req: Request) -> Extracted:
    tree = dom.parse(links.unpack_records(req.text))
    if tree.body is None:
        raise ExtractError("no HTML body")
    metas = titles.read_meta(tree)
    dom.remove(tree, dom.INVISIBLE)
    root = tree.body
    year_hint = _year_hint(req)
    related, drop = notice.find_related(root, req.url, req.now, year_hint)
    dom.decompose_all(drop)
    # The page's own lines serve only to find the date and publisher near the title; the CMS's metas,
    # when present, already give both, and a 30 KB page saves a fifth of its time.
    trust_meta = infoline.shows_meta_date(metas, req.text)
    trust_source = infoline.shows_meta_publisher(metas, req.text)
    needs_lines = infoline.needs_info_lines(metas) or not trust_meta or not trust_source
    page_lines = [line for line in dom.block_lines(root) if line] if needs_lines else []
    title = _override_text(tree, req.selectors.title) or titles.find_title(tree, metas)
    furniture = dom.furniture(root)
    marked = {node.mem_id for node in furniture}
    cms_notice = req.force is None and titles.first_meta(metas, titles.META_TITLE[:1]) is not None
    # A CMS column page names its column and no article: a list, even when a script fills its entries.
    column = titles.first_meta(metas, titles.META_COLUMN)
    cms_column = not cms_notice and column is not None

    def headline() -> bool:  # asked only when the CMS's metas do not settle the kind
        return titles.is_headline(tree, title) and title != column and not titles.names_a_column(tree, title)

    region = None
    if req.selectors.items:
        items = select_links(root, req.selectors.items, req.url, req.now, year_hint)
    elif req.force == "notice" or cms_notice:
        items = []  # a notice by its kind or its CMS's ArticleTitle: no list to look for (a third of its time)
    else:
        groups = weigh(group_links(anchor_items(root), req.url, req.now, year_hint), marked)
        choice = best_list(groups, req.region)
        items, region = choice.links, choice.region
        if req.explain is not None:
            req.explain.extend(candidates(groups))
    body = (tree.css_first(req.selectors.body) if req.selectors.body else None) or notice.find_body(
        root, marked
    )
    dom.strip_furniture(furniture, body)
    lines = notice.body_lines(body, title) if body is not None else []
    prose = _prose_beside(body, region)
    kind = req.force or _kind(cms_notice, cms_column, headline, items, prose, req.url)
    if kind == "list":
        path = css_path(region) if region is not None else None
        return Extracted(
            url=req.url, kind="list", encoding=req.encoding, title=title, items=tuple(items), region=path
        )
    return _notice(req, tree, metas, title, page_lines, lines, related, (trust_meta, trust_source))


def _notice(
    req: Request,
    tree: dom.LexborHTMLParser,
    metas: dict[str, str],
    title: str | None,
    page_lines: list[str],
    lines: list[str],
    related: list[Link],
    trust: tuple[bool, bool],
) -> Extracted:
    trust_meta, trust_source = trust  # does the page show the date and the source its <meta> give?
    info = infoline.info_lines(page_lines, title)
    date = _override_date(tree, req.selectors.date) or infoline.find_date(
        metas, info, req.url, req.now, trust_meta
    )
    tag, title = infoline.find_tag(title, metas)
    text = "\n".join(lines)
    assert tree.body is not None
    return Extracted(
        url=req.url,
        kind="notice",
        encoding=req.encoding,
        title=title,
        date=date,
        publisher=infoline.find_publisher(metas, info, trust_source) or infoline.signoff_publisher(lines),
        tag=tag,
        deadline=notice.find_deadline(text, date, title),
        attachments=tuple(notice.find_attachments(tree.body, req.url)),
        related=tuple(related),
        text=text,
        doc_number=notice.find_doc_number(lines),
    )


def _kind(
    cms_notice: bool, cms_column: bool, headline: Callable[[], bool], items: list[Link], prose: int, url: str
) -> PageKind:
    if cms_notice:
        return "notice"
    if cms_column and not headline():
        return "list"
    if prose >= 100 and headline():
        return "notice"  # a headline over prose; the lists beside it are related news
    return _decide(items, prose, url)


def _decide(items: list[Link], prose: int, url: str) -> PageKind:
    """A notice has prose; a list has many dated links and little prose. A new section's list with one or
    two dated entries counts too when its address is an index (…/tzgg/, index.html, index_2.html, list…)."""
    dated = sum(1 for link in items if link.date)
    link_text = sum(len(link.title) for link in items)
    if (dated >= 3 or len(items) >= 8) and prose < max(300, link_text):
        return "list"
    if items and dated == len(items) and prose < 300 and is_index(url):
        return "list"
    return "notice"


def _prose_beside(body: dom.Node | None, region: dom.Node | None) -> int:
    """The body's prose less the list's own: a list of search results carries a summary in each entry."""
    if body is None:
        return 0
    if region is not None and region.mem_id == body.mem_id:
        return 0
    prose = notice.prose_length(body)
    if region is not None and dom.contains(body, region):
        prose -= notice.prose_length(region)
    return prose


def _year_hint(req: Request) -> int | None:
    """For dates printed without a year ([04-07]): the URL's year, the page's usual year, or now's."""
    year = year_from_url(req.url)
    if year:
        return year
    dates = [d for _, d in find_dates(req.text[:200_000])]
    if dates:
        return entrydates.year_of_page(dates)
    return req.now.year if req.now else None


def _override_text(tree: dom.LexborHTMLParser, selector: str | None) -> str | None:
    node = tree.css_first(selector) if selector else None
    return dom.node_text(node) or None if node is not None else None


def _override_date(tree: dom.LexborHTMLParser, selector: str | None) -> DateValue | None:
    text = _override_text(tree, selector)
    return parse_date(text) if text else None


EXTRACTORS: dict[str, Callable[[Request], Extracted]] = {
    "html": _html,
    "list": _html,
    "notice": _html,
    "gkmlpt": _gkmlpt,
    "feed": _feed,
}
