"""A notice's attachments, read: fetched through the one Fetcher (the address gate, the host's politeness,
conditional GET, a size cap of their own), read in a worker process under a time and memory limit
(worker.py, child.py, formats.py), and kept once per content by SHA-256.

An attachment is fetched again only when its notice is new or changed, or its last read is older than
`recheck_hours` (then its notice is read in full even if it would answer 304: a guide replaced at its
address leaves the notice page as it was); one that answers 304, or whose bytes hash to a content already
read, is not parsed again.
This module imports no parser: the daemon's memory does not grow until an attachment is read, and then
only in the worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..clock import Clock, now_iso
from ..errors import FetchError
from ..models import (
    Attachment,
    AttachmentFile,
    AttachmentRead,
    AttachmentSighting,
    NotModified,
    Page,
    Validators,
)
from .worker import Limits, Workers

if TYPE_CHECKING:
    from ..store import Store

Fetch = Callable[[str, Validators | None], Awaitable[Page | NotModified]]


@dataclass(frozen=True)
class AttachmentSettings:
    read: bool = True
    max_bytes: int = 20 * 1024 * 1024
    max_count: int = 10  # attachments read per notice, in page order
    seconds: float = 30.0
    memory_mb: int = 1024
    recheck_hours: float = 24.0
    workers: int = 2  # worker processes at once, whatever the number of checks in flight

    @property
    def limits(self) -> Limits:
        return Limits(self.seconds, self.memory_mb)


@dataclass
class Read:
    """A notice's attachments as read now: each with its content's id, the texts, and what to write."""

    attachments: tuple[Attachment, ...]
    texts: tuple[str, ...]
    files: list[AttachmentFile] = field(default_factory=list)
    sightings: list[AttachmentSighting] = field(default_factory=list)
    validators: dict[str, Validators] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # passing trouble: the notice is read again next time

    @property
    def labelled_texts(self) -> list[tuple[str, str]]:
        return [(f"附件{i}", text) for i, text in enumerate(self.texts, 1) if text]


class AttachmentReader:
    """Reads a notice's attachments. Without a store (`watcher extract --attachments`) every attachment is
    fetched and read, and nothing is remembered."""

    def __init__(self, store: Store | None, settings: AttachmentSettings, clock: Clock) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self._workers = Workers(settings.limits, settings.workers)
        self.parsed = 0  # files read by a worker, for logs and benchmarks

    async def aclose(self) -> None:
        await self._workers.aclose()

    def remembered(self, attachments: Iterable[Attachment]) -> tuple[Read, bool]:
        """What each address held at its last read, from the store alone, and whether every one of them
        was read within `recheck_hours` (then there is no need to fetch them again)."""
        chosen = list(attachments)[: self.settings.max_count]
        seen, fresh = self._last_reads([a.url for a in chosen])
        out = [_from_row(a, seen.get(a.url)) for a in chosen]
        return Read(tuple(a for a, _ in out), tuple(t for _, t in out)), fresh

    def due(self, urls: list[str]) -> bool:
        """Is any of these addresses due to be fetched again (its last read is older than `recheck_hours`,
        or failed)? Then its notice is read in full even if it would answer 304."""
        return not self._last_reads(urls[: self.settings.max_count])[1]

    def _last_reads(self, urls: list[str]) -> tuple[dict[str, AttachmentRead], bool]:
        """The last read of each address, and whether each was read, and within `recheck_hours`: an
        address that failed last time is tried again."""
        seen = self.store.sightings(urls) if self.store else {}
        horizon = self.clock() - dt.timedelta(hours=self.settings.recheck_hours)
        fresh = all(
            (row := seen.get(url)) and row.sha and _parse_time(row.checked_at) >= horizon for url in urls
        )
        return seen, fresh

    async def read(
        self, attachments: Iterable[Attachment], fetch: Fetch, allows: Callable[[str], bool]
    ) -> Read:
        chosen = list(attachments)[: self.settings.max_count]
        seen = self._last_reads([a.url for a in chosen])[0]
        read = Read((), ())
        results = await asyncio.gather(*(self._one(a, seen.get(a.url), fetch, allows, read) for a in chosen))
        read.attachments = tuple(a for a, _ in results)
        read.texts = tuple(t for _, t in results)
        return read

    async def _one(
        self,
        a: Attachment,
        seen: AttachmentRead | None,
        fetch: Fetch,
        allows: Callable[[str], bool],
        read: Read,
    ) -> tuple[Attachment, str]:
        now = now_iso(self.clock())
        if not allows(a.url):
            return replace(a, error="not fetched: outside the source's allowed domains"), ""
        known = seen if seen and seen.sha else None
        try:
            page = await fetch(a.url, self.store.validators(a.url) if known and self.store else None)
        except FetchError as exc:
            if exc.retryable:
                read.errors.append(f"{a.url}: attachment: {exc.reason}")
                if known:  # passing trouble: what was read last time stands
                    return _from_row(a, known)
            read.sightings.append(AttachmentSighting(a.url, None, exc.reason, now))
            return replace(a, error=exc.reason), ""
        if isinstance(page, NotModified):
            assert known is not None  # validators are only sent for a known address
            read.sightings.append(AttachmentSighting(a.url, known.sha, None, now))
            return _from_row(a, known)
        sha = hashlib.sha256(page.body).hexdigest()
        read.validators[a.url] = Validators(page.etag, page.last_modified)
        read.sightings.append(AttachmentSighting(a.url, sha, None, now))
        stored = known if known and known.sha == sha else self._stored(sha)
        if stored is not None:  # this content was read before, here or at another address
            return _from_row(a, replace(stored, sha=sha))
        return await self._parse(a, sha, page.body, read)

    def _stored(self, sha: str) -> AttachmentRead | None:
        row = self.store.attachment_file(sha, with_data=False) if self.store else None
        return AttachmentRead.of(row) if row else None

    async def _parse(self, a: Attachment, sha: str, body: bytes, read: Read) -> tuple[Attachment, str]:
        parsed = await self._workers.parse(body)
        self.parsed += 1
        read.files.append(
            AttachmentFile(sha, parsed.kind, len(body), parsed.pages, parsed.text, parsed.error, body)
        )
        done = replace(a, sha=sha, kind=parsed.kind, size=len(body), pages=parsed.pages, error=parsed.error)
        return done, parsed.text


def _from_row(a: Attachment, row: AttachmentRead | None) -> tuple[Attachment, str]:
    if not row:
        return a, ""
    done = replace(a, sha=row.sha, kind=row.kind, size=row.size, pages=row.pages, error=row.error)
    return done, row.text or ""


def _parse_time(value: str | None) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value) if value else dt.datetime.min.replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
