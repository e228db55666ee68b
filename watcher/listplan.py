"""What a check does with a list it read: which entries to read now, which are backlog, which left the list.

Pure: the list's entries, what the store knew of them and the source's settings in, a `ListPlan` out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from .diff import item_key
from .models import DateValue, ItemRow, Link
from .normalize import parse_date


@dataclass(frozen=True)
class ListPlan:
    todo: tuple[tuple[str, Link], ...]  # entries to read now, in order: fresh, backlog oldest first, recheck
    backlog: frozenset[str]  # seen on an earlier check but never read: read under first-check rules
    unread: tuple[str, ...]  # on the list and not read this time: kept on the list, read later
    removed: tuple[str, ...]  # known to be on the list before and not on it now


def plan_list(
    current: Mapping[str, Link],
    known: Mapping[str, ItemRow],
    *,
    follow: bool,
    max_follow: int,
    recent: Callable[[DateValue | None], bool],
    elsewhere: Collection[str] = (),
    layout_changed: bool = False,
) -> ListPlan:
    """`current`: the list's entries by key, in list order; `known`: the store's rows of the entries on
    the list before (`version_id` set once read); `elsewhere`: keys of current entries the store holds
    from another list or as a related notice (not fresh). Without `follow` only fresh entries are taken,
    as entries (no page read). A changed layout removes nothing: the old region's entries may be elsewhere.
    """
    fresh = [(k, link) for k, link in current.items() if k not in known and k not in elsewhere]
    # Entries seen on an earlier check but not read yet (past max_follow then): read now, as part of
    # the catalogue the list was first seen with, not as news.
    unread = [(k, link) for k, link in current.items() if k in known and not known[k].version_id]
    recheck = [(k, link) for k, link in current.items() if k in known and known[k].version_id]
    recheck = [(k, link) for k, link in recheck if recent(link.date)] if follow else []
    todo = (fresh + unread[::-1] + recheck)[:max_follow] if follow else fresh
    taken = {k for k, _ in todo}
    return ListPlan(
        todo=tuple(todo),
        backlog=frozenset(k for k, _ in unread),
        unread=tuple(k for k in current if k not in taken),
        removed=() if layout_changed else tuple(k for k in known if k not in current),
    )


def is_recent(date: DateValue | None, today: dt.date, days: int) -> bool:
    """Known notices dated within `days` are re-fetched (conditionally) to catch revisions, and their
    attachments read; an undated one counts as recent."""
    return date is None or (today - date.day).days <= days


def plan_recheck(
    known: Sequence[ItemRow], *, max_follow: int, recent: Callable[[DateValue | None], bool]
) -> list[tuple[ItemRow, bool]]:
    """Behind a 304: the list's entries not read yet (newest first, flagged as backlog), then its recent
    notices, to be fetched again conditionally (a notice revised in place leaves its list as it was)."""
    unread = [(r, True) for r in reversed(known) if not r.version_id and r.url]
    fresh = [(r, False) for r in known if r.version_id and recent(link_of(r).date)]
    return (unread + fresh)[:max_follow]


def link_of(row: ItemRow) -> Link:
    """A stored item as the list entry it was."""
    return Link(row.title or "", row.url or "", parse_date(row.date) if row.date else None)


def keyed(links: Sequence[Link]) -> tuple[dict[str, Link], list[str]]:
    """Entries by identity, the first of each kept; one whose address has no identity (port 99999, a
    broken IPv6 literal) is left out and named in the errors, and the rest go on."""
    out: dict[str, Link] = {}
    errors: list[str] = []
    for link in links:
        try:
            out.setdefault(item_key(link.url), link)
        except ValueError as exc:
            errors.append(f"{link.url}: skipped, not a usable address ({exc})")
    return out, errors


def layout_change(before: str, now: str | None, entries: int, list_url: str) -> str:
    """What the admin reads when a list is read from another region than last time."""
    return (
        f"layout changed: the list was read from {before}, now from {now} ({entries} entries); "
        f"they are recorded without alerts. If that region is wrong, see `watcher extract {list_url} "
        "--explain` and pin the right one with selectors.items"
    )
