"""Whether a notice read now is a new version of what the store holds, and if so the version and the change.

Pure: the item's stored row and its previous version in, with what was read now; the attachments' texts
and the classification are asked for only when a version is made (they cost a store read and a match).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clock import now_iso
from .diff import Snapshot, compare
from .models import Attachment, Change, Extracted, ItemRow, Link, VersionRow
from .normalize import fold


@dataclass(frozen=True)
class Seen:
    """One notice as this check read it: from its page (`x`), or as a list entry alone (`link`)."""

    source: str
    key: str
    url: str
    snap: Snapshot
    link: Link | None
    x: Extracted | None
    on_list: bool
    first: bool  # read under first-check rules: recorded, alerted to nobody new


@dataclass(frozen=True)
class Versioned:
    item: dict[str, Any]  # the item's columns to write
    version: VersionRow | None  # a new version, or None when the notice is as it was
    change: Change | None  # what to report and alert; None for a quiet version


def item_of(seen: Seen) -> dict[str, Any]:
    x, link, snap = seen.x, seen.link, seen.snap
    date = (x.date if x and x.date else None) or (link.date if link else None)
    return {
        "key": seen.key, "source": seen.source, "url": seen.url,
        "title": snap.title or (link.title if link else ""), "date": date.iso if date else None,
        "tag": (x.tag if x else None) or (link.tag if link else None), "on_list": 1 if seen.on_list else 0,
        "fingerprint": snap.fingerprint,
    }  # fmt: skip


def next_version(
    seen: Seen,
    old: ItemRow | None,
    previous: VersionRow | None,
    now: dt.datetime,
    texts: Callable[[Snapshot], dict[str, str]] = lambda _: {},
    classify: Callable[[], dict[str, Any] | None] = lambda: None,
) -> Versioned:
    """`old`: the item's stored row, if any; `previous`: its latest version's row (read only when the
    fingerprint moved); `texts`: the attachments' texts by sha for the previous snapshot and this one."""
    item, snap = item_of(seen), seen.snap
    if old is not None and old.fingerprint == snap.fingerprint:
        return Versioned(item, None, None)
    kind, diff_text = "new", ""
    what: tuple[str, ...] = ()
    quiet = False
    if previous is not None:
        before = snapshot_from_row(previous)
        d = compare(before, snap, texts=texts(before))
        if not d.what and not newly_read(before, snap):
            return Versioned(item, None, None)
        # Attachments read for the first time change nothing on the page: kept as a version of
        # their own, so the next replacement is compared with what they held, and alerted to nobody.
        quiet = not d.what
        kind, what, diff_text = "changed", d.what, d.text
    # The previous version is part of the id: a revision that flips back (A → B → A) is a version of
    # its own, alerted again, and the history stays append-only; a re-run still gives the same id.
    previous_id = (old.version_id if old else None) or ""
    version_id = hashlib.sha256(f"{seen.key}\x1f{snap.fingerprint}\x1f{previous_id}".encode()).hexdigest()[
        :24
    ]
    item["version_id"] = version_id
    x = seen.x
    version = VersionRow(
        id=version_id, item_key=seen.key, fingerprint=snap.fingerprint, seen_at=now_iso(now),
        change=kind, what=list(what), diff=diff_text, title=item["title"], url=seen.url, date=item["date"],
        publisher=x.publisher if x else None, tag=item["tag"], deadline=snap.deadline,
        doc_number=x.doc_number if x else None,
        attachments=[a.to_json() for a in snap.attachments],
        related=[r.to_json() for r in (x.related if x else ())],
        text=snap.text, search=search_text(item["title"], snap.text, x),
        classification=classify() if x else None, deadline_from=x.deadline_from if x else None,
    )  # fmt: skip
    if quiet:
        return Versioned(item, version, None)
    change = Change(
        kind, seen.key, seen.url, item["title"], seen.source, item["date"], what, diff_text,
        first_check=seen.first,
    )  # fmt: skip
    return Versioned(item, version, change)


def snapshot_from_row(row: VersionRow) -> Snapshot:
    return Snapshot(
        title=row.title or "",
        text=row.text or "",
        attachments=tuple(Attachment.from_json(a) for a in row.attachments or []),
        deadline=row.deadline,
    )


def newly_read(before: Snapshot, now: Snapshot) -> bool:
    """Does this version hold an attachment's content the previous one did not have?"""
    known = {a.url: a.sha for a in before.attachments}
    return any(a.sha and not known.get(a.url) for a in now.attachments)


def search_text(title: str, text: str, x: Extracted | None) -> str:
    """What `watcher search` looks in: the title, the body and the attachments' text, folded."""
    parts = [fold(title), fold(text), *(fold(t) for t in (x.attachment_texts if x else ()) if t)]
    return "\n".join(parts)
