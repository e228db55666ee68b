"""The records passed between the steps of the flow. Frozen dataclasses, no I/O."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import Outcome

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

PageKind = Literal["list", "notice"]


@dataclass(frozen=True)
class DateValue:
    """A calendar day as the page gives it; `time` only when the page states one."""

    day: dt.date
    time: dt.time | None = None
    approximate: bool = False  # derived from a relative phrase such as 3天前

    @property
    def iso(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Page:
    """Fetched and decoded bytes of one URL."""

    url: str
    final_url: str
    status: int
    body: bytes
    text: str
    encoding: str
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    rendered: bool = False  # the DOM headless Chromium left after the page's scripts (see transport.py)


@dataclass(frozen=True)
class NotModified:
    """A conditional GET answered 304."""

    url: str


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Link:
    """An entry of a notice list, or one of a notice's related notices."""

    title: str
    url: str
    date: DateValue | None = None
    tag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url, "date": _iso(self.date), "tag": self.tag}


@dataclass(frozen=True)
class Attachment:
    """An attachment a notice links to; once read, what its bytes were (by SHA-256) and held."""

    name: str
    url: str
    sha: str | None = None
    kind: str | None = None  # pdf | docx | xlsx | xls | doc, as sniffed from the bytes
    size: int | None = None
    pages: int | None = None
    error: str | None = None  # why it could not be fetched or read

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "url": self.url}
        for key in ("sha", "kind", "size", "pages", "error"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Attachment:
        return cls(
            raw.get("name") or "", raw.get("url") or "", raw.get("sha"), raw.get("kind"), raw.get("size"),
            raw.get("pages"), raw.get("error"),
        )  # fmt: skip


@dataclass(frozen=True)
class Extracted:
    """What watcher sees on one page: a list's entries, or a notice's fields."""

    url: str
    kind: PageKind
    encoding: str
    title: str | None = None
    date: DateValue | None = None
    publisher: str | None = None
    tag: str | None = None
    deadline: DateValue | None = None
    attachments: tuple[Attachment, ...] = ()
    items: tuple[Link, ...] = ()
    related: tuple[Link, ...] = ()
    text: str = ""
    doc_number: str | None = None
    blocked: bool = False
    region: str | None = None  # the CSS path of the list's region, remembered to spot a layout change
    attachment_texts: tuple[str, ...] = ()  # the text of each attachment read, in `attachments` order
    deadline_from: str | None = None  # 附件1 when the deadline is not in the body but in an attachment

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "encoding": self.encoding,
            "title": self.title,
            "date": _iso(self.date),
            "publisher": self.publisher,
            "tag": self.tag,
            "deadline": _iso(self.deadline),
            "deadline_from": self.deadline_from,
            "attachments": [a.to_json() for a in self.attachments],
            "items": [i.to_json() for i in self.items],
            "related": [r.to_json() for r in self.related],
            "text": self.text,
        }


_NUMBERED = re.compile(r"^附件\s*\d")


def attachment_label(number: int, name: str) -> str:
    """附件2 推荐汇总表.xlsx; a name that already says 附件2：… stands alone."""
    return name if _NUMBERED.match(name) else f"附件{number} {name}"


def _iso(value: DateValue | None) -> str | None:
    return value.iso if value else None


JsonMap = Mapping[str, Any]


@dataclass(frozen=True, slots=True)  # slots: a cold check of 5,000 sources holds 10,000 of these
class Change:
    kind: str  # new | changed | removed
    key: str
    url: str
    title: str
    source: str
    date: str | None = None
    what: tuple[str, ...] = ()
    diff: str = ""
    first_check: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "what": list(self.what),
        }


@dataclass(slots=True)
class SourceResult:
    name: str
    status: Outcome = Outcome.OK
    error: str | None = None
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    fetched: int = 0
    layout_changed: bool = False  # the list came from another region: recorded, no subscriber alerted
    unexpected: int = 0  # entries that failed on an error nobody foresaw (a bug, a hostile page)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "new": self.count("new"),
            "changed": self.count("changed"),
            "removed": self.count("removed"),
            "error": self.error or ("; ".join(self.errors[:3]) if self.errors else None),
        }


# ---------------------------------------------------------------- what a check writes (watcher/store/)


@dataclass
class VersionRow:
    """A notice's version: what a check writes, and what the store reads back (its JSON columns decoded)."""

    id: str
    item_key: str
    fingerprint: str
    seen_at: str
    change: str  # new | changed
    what: list[str]
    diff: str
    title: str
    url: str
    date: str | None
    publisher: str | None
    tag: str | None
    deadline: str | None
    doc_number: str | None
    attachments: list[dict[str, str]]
    related: list[dict[str, Any]]
    text: str
    search: str
    classification: dict[str, Any] | None = None
    deadline_from: str | None = None  # 附件1 when the deadline was read in an attachment
    seq: int | None = field(default_factory=lambda: time.time_ns() // 1000)  # write order, in microseconds
    # (None on a version stored before the column was added)


@dataclass(frozen=True, slots=True)
class CurrentVersion:
    """An item's current version, with the item's source and when it was first seen (what a reminder needs)."""

    version: VersionRow
    source: str
    first_seen: str | None


@dataclass(frozen=True)
class AttachmentFile:
    """One attachment's bytes and what was read from them; stored once per content."""

    sha: str
    kind: str | None
    size: int
    pages: int | None
    text: str
    error: str | None
    data: bytes


@dataclass(frozen=True)
class AttachmentSighting:
    """The last read of one attachment address: its content then, or why it could not be had."""

    url: str
    sha: str | None
    error: str | None
    checked_at: str


@dataclass(frozen=True, slots=True)
class AttachmentRead:
    """What was read from an attachment's content, as the store holds it (not the bytes); read back for an
    address (a sighting: `checked_at` says when) or for a content already stored under another address."""

    sha: str | None
    kind: str | None = None
    size: int | None = None
    pages: int | None = None
    text: str | None = None
    error: str | None = None
    checked_at: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> AttachmentRead:
        return cls(**{k: v for k, v in row.items() if k != "url"})


@dataclass
class CheckRecord:
    """Everything one source check writes, in one transaction."""

    source: str
    url: str
    status: Outcome
    at: str  # when the check ran, by the checker's clock
    error: str | None = None
    next_due: str | None = None
    item_count: int | None = None
    region: str | None = None  # where the list was read from (kept when None)
    validators: dict[str, Validators] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    evidence: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # version, url, encoding, body
    removed: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # kind, message
    alerts: list[AlertRow] = field(default_factory=list)
    files: list[AttachmentFile] = field(default_factory=list)
    sightings: list[AttachmentSighting] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source's row in the store: its health and its place in the schedule."""

    name: str
    url: str | None = None
    last_check: str | None = None
    last_success: str | None = None
    status: str | None = None
    error: str | None = None
    failures: int | None = 0
    next_due: str | None = None  # None: parked (no longer configured)
    item_count: int | None = 0
    region: str | None = None  # the CSS path the list was last read from
    claimed_by: str | None = None  # the daemon checking it now
    paused_at: str | None = None
    interval_s: int | None = None  # the interval its due time was set with

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> SourceRow:
        return cls(**row)


@dataclass(frozen=True, slots=True)  # slots: a list check holds one per entry on the list
class ItemRow:
    """A notice's row in the store: where it was seen, and its current version."""

    key: str
    source: str | None = None
    url: str | None = None
    title: str | None = None
    date: str | None = None
    tag: str | None = None
    fingerprint: str | None = None
    version_id: str | None = None
    on_list: int | None = 0  # 1: an entry of its source's list; 0: reached as a related notice
    first_seen: str | None = None
    last_seen: str | None = None
    removed_at: str | None = None
    group_key: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ItemRow:
        return cls(**row)


@dataclass(slots=True)
class AlertRow:
    """An alert's row in the outbox, fields in the table's column order (`watcher alerts --json` prints them
    so); `payload` is the JSON text of its AlertData."""

    id: str
    subscriber: str | None = None
    channel: str | None = None
    version_id: str | None = None
    item_key: str | None = None
    reason: str | None = None
    status: str | None = "pending"
    attempts: int | None = 0
    next_try: str | None = None
    created: str | None = None
    sent_at: str | None = None
    last_error: str | None = None
    payload: str | None = None
    due: str | None = None
    claimed_by: str | None = None  # the sender delivering it now
    claimed_at: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> AlertRow:
        return cls(**row)
