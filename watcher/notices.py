"""A notice read during a check: its page (with its attachments) turned into the item and version to write,
and the notices of a check gathered into its one record.

The rules themselves are pure and elsewhere (`versioning.next_version`, `reading.with_attachments`); this
is where they meet the store's rows and the attachment reader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from .attachments import AttachmentReader, Read
from .clock import Clock, today
from .config import Config, Source
from .diff import Snapshot, item_key, snapshot_of
from .listplan import is_recent
from .models import (
    AlertRow,
    Change,
    CheckRecord,
    DateValue,
    Extracted,
    Link,
    NotModified,
    Page,
    SourceResult,
    Validators,
    VersionRow,
)
from .reading import with_attachments
from .store import Store
from .versioning import Seen, next_version

ClassifyHook = Callable[[Extracted, str], dict[str, Any] | None]
AlertPlanner = Callable[[Change, VersionRow], list[AlertRow]]
Get = Callable[[Source, str, Validators | None, bool], Awaitable[Page | NotModified]]  # … binary


@dataclass
class Notice:
    """One notice processed during a check, before it is written."""

    key: str
    item: dict[str, Any]
    version: VersionRow | None
    change: Change | None
    related: tuple[Link, ...] = ()
    evidence: tuple[str, str, str, bytes] | None = None
    validators: tuple[str, Validators] | None = None
    attachments: Read | None = None  # what reading its attachments fetched, parsed and has to write


class NoticeReader:
    """Turns a notice's page into the notice to write: attachments read when due, then versioned."""

    def __init__(
        self,
        config: Config,
        store: Store,
        get: Get,
        classify: ClassifyHook | None,
        clock: Clock,
    ) -> None:
        self.config, self.store, self.get, self.classify, self.clock = config, store, get, classify, clock
        self.attachments = AttachmentReader(store, config.settings.attachments, clock)

    def recent(self, date: DateValue | None) -> bool:
        return is_recent(date, today(self.clock), self.config.settings.recheck_days)

    def validators(self, source: Source, key: str, url: str) -> Validators | None:
        """A notice's validators, unless its attachments are due to be read again: a guide replaced at the
        same address leaves the notice page as it was (and answering 304)."""
        validators = self.store.validators(url)
        if validators is None or not (self.config.settings.attachments.read and source.attachments):
            return validators
        urls = self.store.attachment_urls_of(key)
        return None if urls and self.attachments.due(urls) else validators

    async def from_page(
        self,
        source: Source,
        page: Page,
        x: Extracted,
        on_list: bool,
        first: bool,
        link: Link | None = None,
        key: str | None = None,
    ) -> Notice:
        key = key or item_key(page.url)
        if link and not x.title:
            x = replace(x, title=link.title)
        read = None
        if x.attachments and self._reads_attachments(source, x):
            x, read = await self._read_attachments(source, key, x)
        notice = self.version(source, key, page.url, snapshot_of(x), link, x, on_list, first)
        notice.related = x.related
        notice.attachments = read
        if not (read and read.errors):  # an attachment that could not be had: the notice is read again
            notice.validators = (page.url, Validators(page.etag, page.last_modified))
        if notice.version is not None:
            notice.evidence = (notice.version.id, page.url, page.encoding, page.body)
        return notice

    def _reads_attachments(self, source: Source, x: Extracted) -> bool:
        return self.config.settings.attachments.read and source.attachments and self.recent(x.date)

    async def _read_attachments(
        self, source: Source, key: str, x: Extracted
    ) -> tuple[Extracted, Read | None]:
        """The notice with its attachments read. Nothing is fetched when the page is as it was and every
        attachment was read lately: what they held then stands."""
        remembered, fresh = self.attachments.remembered(x.attachments)
        candidate = with_attachments(x, remembered)
        old = self.store.item(key)
        if fresh and old is not None and old.fingerprint == snapshot_of(candidate).fingerprint:
            return candidate, None
        read = await self.attachments.read(
            x.attachments, lambda url, v: self.get(source, url, v, True), source.allows
        )
        return with_attachments(x, read), read

    def version(
        self,
        source: Source,
        key: str,
        url: str,
        snap: Snapshot,
        link: Link | None,
        x: Extracted | None,
        on_list: bool,
        first: bool,
    ) -> Notice:
        seen = Seen(source.name, key, url, snap, link, x, on_list, first)
        old = self.store.item(key)
        previous = None
        if old is not None and old.fingerprint != snap.fingerprint and old.version_id:
            previous = self.store.version(old.version_id)
        v = next_version(
            seen, old, previous, self.clock(), texts=lambda before: self._attachment_texts(before, x),
            classify=lambda: self.classify(x, source.name) if (self.classify and x) else None,
        )  # fmt: skip
        return Notice(key, v.item, v.version, v.change)

    def _attachment_texts(self, before: Snapshot, x: Extracted | None) -> dict[str, str]:
        """Texts of the previous version's attachments (from the store) and of this one's (just read)."""
        texts = self.store.attachment_texts([a.sha for a in before.attachments if a.sha])
        if x:
            texts.update((a.sha, t) for a, t in zip(x.attachments, x.attachment_texts, strict=False) if a.sha)
        return texts


def record(
    notices: list[Notice], result: SourceResult, rec: CheckRecord, plan_alerts: AlertPlanner | None
) -> None:
    """The notices into the check's record (and their changes into its result), with their alerts."""
    for notice in notices:
        rec.items.append(notice.item)
        if notice.validators and notice.validators[1] != Validators():
            rec.validators[notice.validators[0]] = notice.validators[1]
        if read := notice.attachments:
            rec.files += read.files
            rec.sightings += read.sightings
            rec.validators.update((u, v) for u, v in read.validators.items() if v != Validators())
            result.errors += read.errors
        if notice.version is not None:
            rec.versions.append(notice.version)
            if notice.evidence:
                rec.evidence.append(notice.evidence)
        if notice.version is not None and notice.change is not None:
            result.changes.append(notice.change)
            if plan_alerts and not result.layout_changed:
                rec.alerts.extend(plan_alerts(notice.change, notice.version))
