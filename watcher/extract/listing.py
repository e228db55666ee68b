"""Find a page's notice list with no per-site setup: the repeated entries of link + date.

Each anchor climbs to its *item*: the highest ancestor that still holds only this one anchor. Items that
share a parent (the *container*) and a tag form a group; the group with the most dated, title-like
entries wins, together with its sibling containers of the same shape (lists split into several <ul>).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from ..models import Link
from .dom import Node, absolute, anchor_title, is_entry_title, make_link


@dataclass
class Group:
    container: Node
    entries: list[tuple[Node, Node]] = field(default_factory=list)  # (item, anchor)
    links: list[Link] = field(default_factory=list)

    @property
    def dated(self) -> int:
        return sum(1 for link in self.links if link.date)

    @property
    def score(self) -> float:
        if not self.links:
            return 0.0
        title_chars = sum(len(link.title) for link in self.links) / len(self.links)
        if title_chars < 6:  # navigation and tag clouds
            return 0.0
        return self.dated * 3 + len(self.links) + min(title_chars, 30) / 10


def anchor_items(root: Node, exclude: set[int] | None = None) -> list[tuple[Node, Node]]:
    """(item, anchor) for every usable anchor under root.

    Only anchors with a title-like text count as an item's anchor: an entry that also holds an empty
    icon link, a download button or a short category link ([社会]) is still one entry. An anchor that is
    not title-like itself climbs only through ancestors holding no other anchor.
    """
    anchors = [a for a in root.css("a[href]") if not exclude or a.mem_id not in exclude]
    titled = [is_entry_title(anchor_title(a)) for a in anchors]
    counts: dict[int, int] = defaultdict(int)
    for anchor, counted in zip(anchors, titled, strict=True):
        node = anchor.parent
        while counted and node is not None:
            counts[node.mem_id] += 1
            node = node.parent
    out = []
    for anchor, counted in zip(anchors, titled, strict=True):
        limit = 1 if counted else 0
        item = anchor
        while item.parent is not None and counts[item.parent.mem_id] <= limit and item.parent.tag != "body":
            item = item.parent
        out.append((item, anchor))
    return out


def group_links(
    entries: list[tuple[Node, Node]], base: str, now: dt.datetime | None, year_hint: int | None
) -> list[Group]:
    groups: dict[tuple[int, str], Group] = {}
    for item, anchor in entries:
        if item.parent is None:
            continue
        key = (item.parent.mem_id, item.tag or "")
        group = groups.setdefault(key, Group(item.parent))
        group.entries.append((item, anchor))
    for group in groups.values():
        seen: set[str] = set()
        for item, anchor in group.entries:
            link = make_link(item, anchor, base, now, year_hint)
            if link and link.url not in seen:
                seen.add(link.url)
                group.links.append(link)
    return [g for g in groups.values() if len(g.links) >= 2]


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
    ranked = sorted(groups, key=lambda g: g.score, reverse=True)[:limit]
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


def best_list(groups: list[Group]) -> list[Link]:
    """The winning group's links, with those of same-shaped sibling containers, in page order."""
    if not groups:
        return []
    best = max(groups, key=lambda g: g.score)
    if best.score < 5 and best.dated < 2:
        return []
    parent = best.container.parent
    siblings = [
        g
        for g in groups
        if g is best
        or (
            parent is not None
            and g.container.parent is not None
            and g.container.parent.mem_id == parent.mem_id
            and _shape(g.container) == _shape(best.container)
            and g.score > 0
        )
    ]
    order = {id(g): i for i, g in enumerate(groups)}
    links: list[Link] = []
    for group in sorted(siblings, key=lambda g: order[id(g)]):
        links.extend(group.links)
    return links


def select_links(
    root: Node, item_selector: str, base: str, now: dt.datetime | None, year_hint: int | None
) -> list[Link]:
    """Per-source override: CSS selector of the items; each item's first anchor is its link."""
    links = []
    for item in root.css(item_selector):
        anchor = item if item.tag == "a" else item.css_first("a[href]")
        if anchor is None or not absolute(base, anchor.attributes.get("href") or ""):
            continue
        link = make_link(item, anchor, base, now, year_hint)
        if link:
            links.append(link)
    return links
