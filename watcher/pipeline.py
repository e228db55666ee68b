"""check_source(): the flow top to bottom, and the one place that maps errors to outcomes.

fetch list (conditional) → extract → for new / changed entries: fetch notice → extract → diff
→ classify → related notices (allowed domains, depth, cap) → ONE transaction: items, versions,
evidence, validators, health and pending alerts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .attachments import AttachmentReader, Read
from .cadence import adaptive_interval, failures_after, next_due
from .clock import Clock, system_clock, today
from .config import Config, Source
from .diff import Snapshot, item_key, snapshot_of, snapshot_of_entry
from .errors import Outcome, StoreError, outcome_of, succeeded
from .extract import extract
from .extract.notice import find_deadline
from .fetch import Fetcher
from .listplan import is_recent, link_of, plan_list, plan_recheck
from .models import Change, DateValue, Extracted, Link, NotModified, Page, SourceRow, Validators
from .store import CheckRecord, Store, VersionRow, due_iso, now_iso
from .transport import Transport
from .versioning import Seen, next_version

log = logging.getLogger("watcher.check")


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


ClassifyHook = Callable[[Extracted, str], dict[str, Any] | None]
AlertPlanner = Callable[[Change, VersionRow], list[dict[str, Any]]]
AdminNotice = Callable[[Source, str, str], list[dict[str, Any]]]  # source, title, detail → outbox rows


@dataclass
class _Notice:
    """One notice processed during a check, before it is written."""

    key: str
    item: dict[str, Any]
    version: VersionRow | None
    change: Change | None
    related: tuple[Link, ...] = ()
    evidence: tuple[str, str, str, bytes] | None = None
    validators: tuple[str, Validators] | None = None
    attachments: Read | None = None  # what reading its attachments fetched, parsed and has to write


def _log_line(result: SourceResult) -> str:
    """`check kjj: ok new=2 changed=0 fetched=3 1.20s`, with `entries failed=N` only when some did; a
    failed check says why and nothing else (`error … errors=0` read as a contradiction)."""
    if result.error:
        return f"check {result.name}: {result.status} ({result.error}) after {result.elapsed:.2f}s"
    failed = f" entries failed={len(result.errors)}" if result.errors else ""
    return (
        f"check {result.name}: {result.status} new={result.count('new')} changed={result.count('changed')}"
        f"{failed} fetched={result.fetched} {result.elapsed:.2f}s"
    )


class Checker:
    """Runs checks of sources against one store and one fetcher."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        classify: ClassifyHook | None = None,
        plan_alerts: AlertPlanner | None = None,
        clock: Clock = system_clock,
        tell_admin: AdminNotice | None = None,
    ) -> None:
        self.config, self.store, self.fetcher = config, store, fetcher
        self.classify, self.plan_alerts, self.tell_admin = classify, plan_alerts, tell_admin
        self.clock = clock
        self._gate = asyncio.Semaphore(config.settings.concurrency)
        self.transport = Transport(fetcher, store, config.settings, self.clock)
        self._writes = GroupCommit(store)
        self.attachments = AttachmentReader(store, config.settings.attachments, self.clock)

    async def check_all(
        self,
        sources: list[Source] | tuple[Source, ...] | None = None,
        progress: Callable[[SourceResult], None] | None = None,
    ) -> list[SourceResult]:
        """Check sources concurrently; one failing source never stops the others. `progress` hears of each
        source as it finishes."""

        todo = list(enumerate(sources or self.config.sources))
        results: list[SourceResult | None] = [None] * len(todo)
        todo.reverse()

        async def worker() -> None:
            # A few workers pull sources from one list: a check of 5,000 sources keeps a few dozen
            # coroutines alive, not 5,000 (memory), and requests still fill the fetch concurrency.
            while todo:
                index, source = todo.pop()
                results[index] = result = await self.check(source)
                if progress:
                    progress(result)

        workers = min(len(todo), 2 * self.config.settings.concurrency)
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [r for r in results if r is not None]

    async def check(self, source: Source) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(source.name)
        rec = CheckRecord(source=source.name, url=source.url, status=Outcome.OK, at=now_iso(self.clock()))
        row = self.store.source_row(source.name)  # read once: health, validators' validity, backoff
        try:
            await self._run(source, row, result, rec)
        except StoreError:
            raise  # the store, not this source: every check would fail alike (the daemon reports it)
        except Exception as exc:  # a bug, or a page nobody foresaw, fails this source, not the whole run
            result.status, result.error, expected = outcome_of(exc)
            if not expected:
                log.exception("check %s: unexpected %s", source.name, type(exc).__name__)
                result.changes.clear()
                rec = CheckRecord(source.name, source.url, Outcome.ERROR, rec.at)  # nothing half-done
        rec.status, rec.error = result.status, result.error
        rec.next_due = self._next_due(source, row, result.status)
        if not result.status.succeeded:
            rec.events.append((str(result.status), result.error or ""))
        await self._writes.save(rec)
        result.elapsed = time.monotonic() - started
        fields = {
            "source": source.name, "status": result.status, "new": result.count("new"),
            "changed": result.count("changed"), "errors": len(result.errors), "fetched": result.fetched,
            "seconds": round(result.elapsed, 3), "error": result.error,
        }  # fmt: skip
        log.info("%s", _log_line(result), extra={"fields": fields})
        return result

    def _next_due(self, source: Source, row: SourceRow | None, status: Outcome) -> str:
        """The spread is drawn from the source's name and the time, so a check at the same moment is due
        at the same moment whichever store or daemon runs it."""
        failures = failures_after(status.succeeded, (row.failures if row else 0) or 0)
        now = self.clock()
        jitter = random.Random(f"{source.name}@{now.isoformat()}").uniform
        return due_iso(next_due(now, self.interval_of(source), failures, jitter))

    def interval_of(self, source: Source) -> float:
        """A source's interval; `interval: auto` counts the notices it listed for the first time in the
        last week (the notices of its first check not counted)."""
        if not source.adaptive:
            return source.interval
        since = now_iso(self.clock() - dt.timedelta(days=7))
        fresh = self.store.new_items_since(source.name, since)
        return adaptive_interval(fresh, source.min_interval, source.max_interval)

    async def _get(
        self, source: Source, url: str, validators: Validators | None, binary: bool = False
    ) -> Page | NotModified:
        """A page of the source, or (`binary`) one of its attachments under the attachment cap."""
        async with self._gate:
            return await self.transport.get(
                source, url, validators, binary=binary,
                max_bytes=self.config.settings.attachments.max_bytes if binary else None,
            )  # fmt: skip

    # -------------------------------------------------------------- the flow

    async def _run(
        self, source: Source, row: SourceRow | None, result: SourceResult, rec: CheckRecord
    ) -> None:
        healthy = row is not None and succeeded(row.status)
        validators = self.store.validators(source.url) if healthy else None  # dropped after a failure
        page = await self._get(source, source.url, validators)
        result.fetched += 1
        if isinstance(page, NotModified):
            result.status = Outcome.NOT_MODIFIED  # the list is as it was; its recent notices may not be
            self._record(await self._recheck(source, result), result, rec)
            return
        remembered = row.region if row else None
        x = await self._extract(source, page, remembered)
        if self.transport.scripted(source, page, len(x.items), x.text):
            async with self._gate:
                rendered = await self.transport.render(source, source.url, "its list is built by script")
            assert isinstance(rendered, Page)  # never conditional
            page = rendered
            x = await self._extract(source, page, remembered)
        if x.kind == "notice" and source.kind == "auto" and row and row.item_count:
            x = await self._extract(source, page, remembered, "list")  # a list once is never one giant notice
        first = row is None or row.last_success is None
        notices: list[_Notice] | None
        if x.kind == "notice":
            notices = [await self._notice_from_page(source, page, x, on_list=False, first=first)]
        else:
            if remembered and x.region and x.region != remembered:
                self._layout_changed(source, remembered, x, result, rec)
            rec.region = x.region
            notices = await self._list(source, x, result, rec, first)
        if notices is None:
            return
        notices += await self._follow_related(source, notices, result, first)
        self._record(notices, result, rec)
        if not result.errors:  # a failed notice keeps the list unvalidated, so it is retried next time
            rec.validators[source.url] = Validators(page.etag, page.last_modified)

    async def _extract(
        self, source: Source, page: Page, region: str | None, kind: str | None = None
    ) -> Extracted:
        return await read_page(
            page, kind=kind or source.kind, selectors=source.selectors, now=self.clock(), region=region
        )

    def _layout_changed(
        self, source: Source, before: str, x: Extracted, result: SourceResult, rec: CheckRecord
    ) -> None:
        """A health event, not alerts: the admin hears of it; entries of the new region are recorded but
        alert nobody this time, and nothing counts as removed from the list."""
        result.layout_changed = True
        detail = (
            f"layout changed: the list was read from {before}, now from {x.region} ({len(x.items)} entries); "
            f"they are recorded without alerts. If that region is wrong, see `watcher extract {source.url} "
            "--explain` and pin the right one with selectors.items"
        )
        log.warning("check %s: %s", source.name, detail)
        rec.events.append(("layout_changed", detail))
        if self.tell_admin:
            rec.alerts.extend(self.tell_admin(source, f"{source.name} 页面结构变化", detail))

    async def _list(
        self, source: Source, x: Extracted, result: SourceResult, rec: CheckRecord, first: bool
    ) -> list[_Notice] | None:
        known = self.store.items_on_list(source.name)
        if not x.items:
            result.status = Outcome.ERROR
            result.error = (
                f"the list yielded no entries (it had {len(known)})" if known else "no list entries found"
            )
            return None
        rec.item_count = len(x.items)
        current = self._keyed(x.items, result)
        elsewhere = {k for k in current if k not in known and self.store.item(k) is not None}
        plan = plan_list(
            current, known, follow=source.follow, max_follow=source.max_follow, recent=self._recent,
            elsewhere=elsewhere, layout_changed=result.layout_changed,
        )  # fmt: skip
        notices = await asyncio.gather(
            *(self._entry(source, k, link, result, first or k in plan.backlog) for k, link in plan.todo)
        )
        out = [n for n in notices if n is not None]
        if plan.todo and result.unexpected == len(
            plan.todo
        ):  # every entry hit the same bug: the source fails
            result.status, result.error = Outcome.ERROR, result.errors[0]
            return None
        for k in plan.unread:  # seen, read now or later: kept on the list, unread until read
            out.append(_Notice(k, {"key": k, "source": source.name, "on_list": 1, "url": current[k].url,
                                   "title": current[k].title}, None, None))  # fmt: skip
        for k in plan.removed:
            rec.removed.append(k)
            old = known[k]
            change = Change("removed", k, old.url or "", old.title or "", source.name, old.date)
            result.changes.append(change)
            if source.alert_removed and self.plan_alerts and old.version_id:
                last = self.store.version(old.version_id)  # read only when it will be alerted
                if last:
                    rec.alerts.extend(self.plan_alerts(change, VersionRow(**last)))
        return out

    def _keyed(self, links: tuple[Link, ...], result: SourceResult) -> dict[str, Link]:
        """Entries by identity; one whose address has no identity (port 99999, a broken IPv6 literal) is
        named in the source's errors and the rest go on."""
        out: dict[str, Link] = {}
        for link in links:
            try:
                out.setdefault(item_key(link.url), link)
            except ValueError as exc:
                result.errors.append(f"{link.url}: skipped, not a usable address ({exc})")
        return out

    async def _recheck(self, source: Source, result: SourceResult) -> list[_Notice]:
        """Behind a 304, the list's entries not read yet are read, and its recent notices fetched again
        (conditionally): a notice revised in place (a deadline moved, an attachment replaced) leaves its
        list as it was."""
        if not source.follow:
            return []
        known = list(self.store.items_on_list(source.name).values())
        todo = plan_recheck(known, max_follow=source.max_follow, recent=self._recent)
        found = await asyncio.gather(
            *(self._entry(source, r.key, link_of(r), result, backlog) for r, backlog in todo)
        )
        return [n for n in found if n is not None]

    def _recent(self, date: DateValue | None) -> bool:
        return is_recent(date, today(self.clock), self.config.settings.recheck_days)

    async def _entry(
        self, source: Source, key: str, link: Link, result: SourceResult, first: bool
    ) -> _Notice | None:
        if not source.follow:
            return self._version(source, key, link.url, snapshot_of_entry(link), link, None, True, first)
        try:
            page = await self._get(source, link.url, self._validators(source, key, link.url))
            result.fetched += 1
            if isinstance(page, NotModified):
                return _Notice(key, {"key": key, "source": source.name, "on_list": 1}, None, None)
            x = await read_page(page, kind="notice", now=self.clock())
            return await self._notice_from_page(
                source, page, x, on_list=True, first=first, link=link, key=key
            )
        except StoreError:
            raise
        except Exception as exc:  # one entry fails alone; the list goes on
            _, message, expected = outcome_of(exc)
            if expected:  # a FetchError names its own address: the one it was fetching, maybe a redirect's
                result.errors.append(f"{link.url}: {exc}")
                return None
            log.exception("check %s: entry %s: unexpected %s", source.name, link.url, type(exc).__name__)
            result.errors.append(f"{link.url}: {message}"[:300])
            result.unexpected += 1
        return None

    def _validators(self, source: Source, key: str, url: str) -> Validators | None:
        """A notice's validators, unless its attachments are due to be read again: a guide replaced at the
        same address leaves the notice page as it was (and answering 304)."""
        validators = self.store.validators(url)
        if validators is None or not (self.config.settings.attachments.read and source.attachments):
            return validators
        urls = self.store.attachment_urls_of(key)
        return None if urls and self.attachments.due(urls) else validators

    async def _notice_from_page(
        self,
        source: Source,
        page: Page,
        x: Extracted,
        on_list: bool,
        first: bool,
        link: Link | None = None,
        key: str | None = None,
    ) -> _Notice:
        key = key or item_key(page.url)
        if link and not x.title:
            x = replace(x, title=link.title)
        read = None
        if x.attachments and self._reads_attachments(source, x):
            x, read = await self._read_attachments(source, key, x)
        notice = self._version(source, key, page.url, snapshot_of(x), link, x, on_list, first)
        notice.related = x.related
        notice.attachments = read
        if not (read and read.errors):  # an attachment that could not be had: the notice is read again
            notice.validators = (page.url, Validators(page.etag, page.last_modified))
        if notice.version is not None:
            notice.evidence = (notice.version.id, page.url, page.encoding, page.body)
        return notice

    def _reads_attachments(self, source: Source, x: Extracted) -> bool:
        return self.config.settings.attachments.read and source.attachments and self._recent(x.date)

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
            x.attachments, lambda url, v: self._get(source, url, v, binary=True), source.allows
        )
        return with_attachments(x, read), read

    def _version(
        self,
        source: Source,
        key: str,
        url: str,
        snap: Snapshot,
        link: Link | None,
        x: Extracted | None,
        on_list: bool,
        first: bool,
    ) -> _Notice:
        seen = Seen(source.name, key, url, snap, link, x, on_list, first)
        old = self.store.item(key)
        previous = None
        if old is not None and old.fingerprint != snap.fingerprint and old.version_id:
            previous = self.store.version(old.version_id)
        v = next_version(
            seen, old, previous, self.clock(), texts=lambda before: self._attachment_texts(before, x),
            classify=lambda: self.classify(x, source.name) if (self.classify and x) else None,
        )  # fmt: skip
        return _Notice(key, v.item, v.version, v.change)

    def _attachment_texts(self, before: Snapshot, x: Extracted | None) -> dict[str, str]:
        """Texts of the previous version's attachments (from the store) and of this one's (just read)."""
        texts = self.store.attachment_texts([a.sha for a in before.attachments if a.sha])
        if x:
            texts.update((a.sha, t) for a, t in zip(x.attachments, x.attachment_texts, strict=False) if a.sha)
        return texts

    async def _follow_related(
        self, source: Source, notices: list[_Notice], result: SourceResult, first: bool
    ) -> list[_Notice]:
        """Related notices of new or changed notices, within the allowed domains, depth and cap."""
        out: list[_Notice] = []
        seen = {n.key for n in notices}
        frontier = [n for n in notices if n.change is not None]
        budget = source.max_follow
        for _depth in range(source.depth if source.follow else 0):
            links = []
            for notice in frontier:
                for link in notice.related:
                    key = item_key(link.url)
                    if key not in seen and source.allows(link.url) and self.store.item(key) is None:
                        seen.add(key)
                        links.append((key, link))
            links = links[: max(0, budget)]
            budget -= len(links)
            found = await asyncio.gather(
                *(self._related(source, k, link, result, first) for k, link in links)
            )
            frontier = [n for n in found if n is not None]
            out += frontier
        return out

    async def _related(
        self, source: Source, key: str, link: Link, result: SourceResult, first: bool
    ) -> _Notice | None:
        notice = await self._entry(source, key, link, result, first)
        if notice is not None:
            notice.item["on_list"] = 0
        return notice

    def _record(self, notices: list[_Notice], result: SourceResult, rec: CheckRecord) -> None:
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
                if self.plan_alerts and not result.layout_changed:
                    rec.alerts.extend(self.plan_alerts(notice.change, notice.version))


class GroupCommit:
    """Checks that finish within a few milliseconds of each other are written in one transaction.

    Each check is still all or nothing; what is shared is the commit, which rewrites the pages the checks
    have in common (sources, indexes) once instead of once a check: a cold check of 5,250 sources spent
    a sixth of its store time committing. A check waits until its own record is committed.
    """

    def __init__(self, store: Store, delay: float = 0.02, most: int = 8) -> None:
        self.store, self.delay, self.most = store, delay, most
        self._pending: list[tuple[CheckRecord, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def save(self, rec: CheckRecord) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((rec, done))
        if len(self._pending) >= self.most:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self.flush)
        await done

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        try:
            self.store.save_checks([rec for rec, _ in batch])
        except Exception:  # retried one by one below, so one bad record fails alone
            for rec, done in batch:
                try:
                    self.store.save_check(rec)
                except Exception as exc:  # handed to the check that wrote it
                    _settle(done, exc)
                else:
                    _settle(done, None)
            return
        for _, done in batch:
            _settle(done, None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the check was cancelled while it waited; its record was written all the same
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


INLINE_CHARS = 256 * 1024  # pages read on the event loop: linear extraction keeps them to milliseconds
_reader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-read")


async def read_page(page: Page, **options: Any) -> Extracted:
    """Extract a fetched page. A big one is read in the one reader thread (one, not a pool: each thread
    would grow its own malloc arena, and the work holds the GIL anyway), so a heavy page never holds the
    event loop: the daemon's other checks and /healthz go on meanwhile."""
    if len(page.text) <= INLINE_CHARS:
        return extract(page.text, page.final_url, page.encoding, **options)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _reader, functools.partial(extract, page.text, page.final_url, page.encoding, **options)
    )


def with_attachments(x: Extracted, read: Read) -> Extracted:
    """The notice with its attachments as read; a deadline the body does not state is looked for in them,
    in order, and remembered with the attachment it came from."""
    rest = x.attachments[len(read.attachments) :]  # past `max_attachments`: listed, not read
    deadline, found_in = x.deadline, None
    if deadline is None:
        for label, text in read.labelled_texts:
            if found := find_deadline(text, x.date):
                deadline, found_in = found, label
                break
    return replace(
        x, attachments=read.attachments + rest, attachment_texts=read.texts + ("",) * len(rest),
        deadline=deadline, deadline_from=found_in,
    )  # fmt: skip
