"""Find a page's notice list with no per-site setup: the repeated entries of link + date.

Each anchor climbs to its *item*: the highest ancestor that still holds only this one anchor. Items that
share a parent (the *container*) and a tag form a group; the group with the most dated, title-like
entries wins, together with its sibling containers of the same shape (lists split into several <ul>).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..models import Link
from .budget import tick
from .dom import Node, inside, node_text
from .links import anchor_title, is_entry_title, link_target, make_link


@dataclass
class Group:
    container: Node
    entries: list[Entry] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    furniture: bool = False  # inside a region marked nav, side, footer…: weighed down, still a candidate
    offsite: int = 0  # entries on another site than the page's
    homes: int = 0  # entries that are a site's home page: a links box

    @property
    def dated(self) -> int:
        return sum(1 for link in self.links if link.date)

    @property
    def score(self) -> float:
        if not self.links:
            return 0.0
        title_chars = _title_chars(self)
        if title_chars < 6:  # navigation and tag clouds
            return 0.0
        score = self.dated * 3 + len(self.links) + min(title_chars, 30) / 10
        undated = self.dated * 2 < len(self.links)
        if undated and (self.offsite * 2 > len(self.links) or self.homes * 2 > len(self.links)):
            score *= _LINKS_OUT_WEIGHT  # undated links to other sites or their home pages: a links box
        return score * _FURNITURE_WEIGHT if self.furniture else score


_FURNITURE_WEIGHT = 0.5
_LINKS_OUT_WEIGHT = 0.2


def weigh(groups: list[Group], marked: set[int]) -> list[Group]:
    """Mark the groups that stand inside page furniture (see dom.furniture)."""
    for group in groups:
        group.furniture = inside(group.container, marked)
    return groups


Entry = tuple[Node, Node, str]  # (item, anchor, the anchor's text): the text is read once


def anchor_items(root: Node, exclude: set[int] | None = None) -> list[Entry]:
    """(item, anchor, text) for every usable anchor under root.

    Only anchors with a title-like text count as an item's anchor: an entry that also holds an empty
    icon link, a download button or a short category link ([社会]) is still one entry. An anchor that is
    not title-like itself climbs only through ancestors holding no other anchor.
    """
    anchors = [a for a in root.css("a[href]") if not exclude or a.mem_id not in exclude]
    texts = [node_text(a) for a in anchors]
    titled = [is_entry_title(anchor_title(a, t)) for a, t in zip(anchors, texts, strict=True)]
    # Anchors to the same address count once: a title and its [查看全文] are one entry. Only "none, one,
    # or more" matters, so a node keeps the address of its first anchor; a node holding two is saturated,
    # and so is every ancestor: the climb stops there (nested lists made it quadratic in their depth).
    first: dict[int, str] = {}
    counts: dict[int, int] = defaultdict(int)
    for anchor, counted in zip(anchors, titled, strict=True):
        href = anchor.attributes.get("href") or ""
        node = anchor.parent
        while counted and node is not None:
            key = node.mem_id
            seen = counts[key]
            if seen >= 2 or (seen == 1 and first[key] == href):
                break
            first.setdefault(key, href)
            counts[key] = seen + 1
            node = node.parent
        tick()
    out = []
    for anchor, text, counted in zip(anchors, texts, titled, strict=True):
        limit = 1 if counted else 0
        item = anchor
        while item.parent is not None and counts[item.parent.mem_id] <= limit and item.parent.tag != "body":
            item = item.parent
        out.append((item, anchor, text))
    return out


def group_links(
    entries: list[Entry], base: str, now: dt.datetime | None, year_hint: int | None
) -> list[Group]:
    groups: dict[tuple[int, str], Group] = {}
    for entry in entries:
        item = entry[0]
        if item.parent is None:
            continue
        key = (item.parent.mem_id, item.tag or "")
        group = groups.setdefault(key, Group(item.parent))
        group.entries.append(entry)
    own = site_of(base)
    for group in groups.values():
        seen: set[str] = set()
        for item, anchor, text in group.entries:
            tick()
            link = make_link(item, anchor, base, now, year_hint, text)
            if link and link.url not in seen:
                seen.add(link.url)
                group.links.append(link)
                group.offsite += not link.url.startswith(own.origin) and site_of(link.url).site != own.site
                group.homes += _HOME.match(link.url) is not None
    # A column with one entry (a heading 通知公告 over one dated link) is a group too: the lone dated link.
    return [g for g in groups.values() if len(g.links) >= 2 or (g.links and g.dated)]


@dataclass(frozen=True)
class Site:
    origin: str  # scheme://host, the cheap test for the common same-host link
    site: str  # the host less its subdomains: kjj.gz.gov.cn → gz.gov.cn, news.163.com → 163.com


_HOME = re.compile(r"https?://[^/?#]+/?(?:index\.\w+)?$", re.I)
_SECOND_LEVEL = frozenset(["gov", "com", "edu", "org", "net", "ac"])


def site_of(url: str) -> Site:
    try:
        parts = urlsplit(url)
    except ValueError:  # a host that is no host (℀.example): no site
        return Site(url, "")
    labels = (parts.hostname or "").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return Site(f"{parts.scheme}://{parts.netloc}", ".".join(labels[-keep:]))


def _shape(node: Node) -> tuple[str, str]:
    return node.tag or "", node.attributes.get("class") or ""


@dataclass(frozen=True)
class Candidate:
    """A region that could be the page's list, as `watcher extract --explain` shows it."""

    path: str
    entries: int
    dated: int
    score: float
    first: str


def candidates(groups: list[Group], limit: int = 4) -> list[Candidate]:
    """The best-scoring groups, best first."""
    ranked = sorted((g for g in groups if g.score > 0), key=lambda g: g.score, reverse=True)[:limit]
    return [
        Candidate(css_path(g.container), len(g.links), g.dated, g.score, g.links[0].title) for g in ranked
    ]


def css_path(start: Node) -> str:
    """tag.class#id steps from below <body>: the selector a user can paste into sources.yaml."""
    steps = []
    node: Node | None = start
    while node is not None and node.tag not in ("body", "html"):
        attrs = node.attributes
        step = node.tag or ""
        if attrs.get("id"):
            step += "#" + (attrs["id"] or "").split()[0]
        elif attrs.get("class"):
            step += "." + ".".join((attrs["class"] or "").split()[:2])
        steps.append(step)
        node = node.parent
    return " > ".join(reversed(steps))


@dataclass(frozen=True)
class Choice:
    """The list a page was read as: its entries, and the region that holds them."""

    links: list[Link]
    region: Node | None


def best_list(groups: list[Group], prefer: str | None = None) -> Choice:
    """The winning group's links, with those of its twins (same-shaped containers side by side, or each
    in a same-shaped wrapper: a list split into several <ul>), in page order. A group at the `prefer`
    path (where this source's list was found before) wins while it is there."""
    if not groups:
        return Choice([], None)
    remembered = [g for g in groups if g.links and css_path(g.container) == prefer] if prefer else []
    best = max(remembered or groups, key=lambda g: g.score)
    if not remembered and (_menu(best) or not best.dated):
        # An undated region loses to a dated list: to one dated entry when it is a menu; else to three,
        # outside the page's furniture, whose titles run longer than its names (a long menu of 办事指南)
        menu = _menu(best)
        dated = [
            g
            for g in groups
            if _mostly_dated(g)
            and g.score > 0
            and (
                menu or (g.dated >= _DATED_LIST and not g.furniture and _title_chars(g) > _title_chars(best))
            )
        ]
        best = max(dated, key=lambda g: g.score) if dated else best
    if not remembered and best.score < 5 and best.dated < 2:
        return Choice([], None)
    twins = [
        g
        for g in groups
        if g is best
        or (
            g.score > 0
            and _mostly_dated(g) == _mostly_dated(best)
            and (_twins(g.container, best.container) or _pinned(g, best))
        )
    ]
    order = {id(g): i for i, g in enumerate(groups)}
    links: list[Link] = []
    for group in sorted(twins, key=lambda g: order[id(g)]):
        links.extend(group.links)
    return Choice(links, best.container)


_DATED_LIST = 3  # dated entries that make a list win over a longer undated region


def _title_chars(group: Group) -> float:
    return sum(len(link.title) for link in group.links) / max(len(group.links), 1)


def _mostly_dated(group: Group) -> bool:
    return group.dated * 2 >= len(group.links) > 0


def _menu(group: Group) -> bool:
    """Undated short names (科室, 栏目), or undated links to columns (/kjdt/, index.html, list_3.htm): a
    long menu, not a list of notices, whatever its length."""
    if group.dated or not group.links:
        return False
    if _title_chars(group) < _MENU_TITLE:
        return True
    return sum(1 for link in group.links if is_index(link.url)) * 2 > len(group.links)


_MENU_TITLE = 10  # mean characters of a menu's names; notices' titles run longer


def is_index(url: str) -> bool:
    """An address that names a column, not one notice: …/tzgg/, index.html, index_2.html, list…"""
    return _INDEX_URL.search(urlsplit(url).path) is not None


_INDEX_URL = re.compile(r"(?:/|/index(?:_\d+)?\.s?html?|/[^/]*list[^/]*)$", re.I)


def _pinned(group: Group, best: Group) -> bool:
    """Rows of the list's own shape in a table nested inside the list (pinned 置顶 entries a CMS prints in
    a table of their own, left open into the list's first row): entries of the list."""
    return (
        group.container is not best.container
        and _shape(group.entries[0][0]) == _shape(best.entries[0][0])
        and inside(group.container.parent, {best.container.mem_id})
    )


def _twins(a: Node, b: Node) -> bool:
    """Same shape, and the same parent, or same-shaped parents under one grandparent."""
    if _shape(a) != _shape(b) or a.parent is None or b.parent is None:
        return False
    if a.parent.mem_id == b.parent.mem_id:
        return True
    up_a, up_b = a.parent.parent, b.parent.parent
    return (
        _shape(a.parent) == _shape(b.parent)
        and up_a is not None
        and up_b is not None
        and up_a.mem_id == up_b.mem_id
    )


def select_links(
    root: Node, item_selector: str, base: str, now: dt.datetime | None, year_hint: int | None
) -> list[Link]:
    """Per-source override: CSS selector of the items; each item's first anchor is its link."""
    links = []
    for item in root.css(item_selector):
        anchor = item if item.tag == "a" else item.css_first("a[href]")
        if anchor is None or not link_target(anchor, base):
            continue
        link = make_link(item, anchor, base, now, year_hint)
        if link:
            links.append(link)
    return links
