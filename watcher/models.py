"""The records passed between the steps of the flow. Frozen dataclasses, no I/O."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
