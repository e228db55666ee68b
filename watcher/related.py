"""Related notices: what a new or changed notice links to (an earlier round, an amendment, the results),
followed breadth first within the source's allowed domains, depth and cap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .config import Source
from .diff import item_key
from .models import Link
from .notices import Notice

Entry = Callable[[str, Link], Awaitable[Notice | None]]  # key, link → the notice read, or None


async def follow_related(
    source: Source, notices: list[Notice], known: Callable[[str], bool], entry: Entry
) -> list[Notice]:
    """The related notices of `notices` not `known` to the store yet, read by `entry`; each is recorded
    off the list (on_list 0)."""
    out: list[Notice] = []
    seen = {n.key for n in notices}
    frontier = [n for n in notices if n.change is not None]
    budget = source.max_follow
    for _depth in range(source.depth if source.follow else 0):
        links = []
        for notice in frontier:
            for link in notice.related:
                key = item_key(link.url)
                if key not in seen and source.allows(link.url) and not known(key):
                    seen.add(key)
                    links.append((key, link))
        links = links[: max(0, budget)]
        budget -= len(links)
        found = await asyncio.gather(*(entry(k, link) for k, link in links))
        frontier = [n for n in found if n is not None]
        for notice in frontier:
            notice.item["on_list"] = 0
        out += frontier
    return out
