"""Checker.check: the flow top to bottom, and the one place that maps errors to outcomes.

fetch list (conditional) → extract → plan the list (listplan) → for new / changed entries: fetch notice →
extract → attachments → version and diff (notices, versioning) → classify → related notices (related) →
ONE transaction: items, versions, evidence, validators, health and pending alerts (store.GroupCommit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .clock import Clock, now_iso, system_clock
from .config import Config, Source
from .diff import snapshot_of_entry
from .dispatch import due_after, interval_of
from .errors import Outcome, StoreError, outcome_of, succeeded
from .fetch import Fetcher
from .listplan import keyed, layout_change, link_of, plan_list, plan_recheck
from .models import (
    AlertRow,
    Change,
    CheckRecord,
    Extracted,
    ItemRow,
    Link,
    NotModified,
    Page,
    SourceResult,
    SourceRow,
    Validators,
)
from .notices import AlertPlanner, ClassifyHook, Notice, NoticeReader, record
from .reading import read_page
from .related import follow_related
from .store import GroupCommit, Store
from .transport import Transport

log = logging.getLogger("watcher.check")

AdminNotice = Callable[[Source, str, str], list[AlertRow]]  # source, title, detail → outbox rows


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
        self.notices = NoticeReader(config, store, self._get, classify, self.clock)
        self.attachments = self.notices.attachments

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
        stored = {row.name: row for row in self.store.sources()}  # the run's reads in a few queries
        self.store.hold({s.name: stored.get(s.name) for _, s in todo}, (s.url for _, s in todo))

        async def worker() -> None:
            # A few workers pull sources from one list: a check of 5,000 sources keeps a few dozen
            # coroutines alive, not 5,000 (memory), and requests still fill the fetch concurrency.
            while todo:
                index, source = todo.pop()
                results[index] = result = await self.check(source)
                if progress:
                    progress(result)

        workers = min(len(todo), 2 * self.config.settings.concurrency)
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            self.store.hold({}, ())
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
        now, failures = self.clock(), (row.failures if row else 0) or 0
        rec.next_due = due_after(source, self.interval_of(source), failures, result.status.succeeded, now)
        if not result.status.succeeded:
            rec.events.append((str(result.status), result.error or ""))
        await self._writes.save(rec)
        result.elapsed = time.monotonic() - started
        _report(result)
        return result

    def interval_of(self, source: Source) -> float:
        return interval_of(source, self.store, self.clock())

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
            record(await self._recheck(source, result), result, rec, self.plan_alerts)
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
        notices: list[Notice] | None
        if x.kind == "notice":
            notices = [await self.notices.from_page(source, page, x, on_list=False, first=first)]
        else:
            if remembered and x.region and x.region != remembered:
                _layout_changed(source, remembered, x, result, rec, self.tell_admin)
            rec.region = x.region
            notices = await self._list(source, x, result, rec, first)
        if notices is None:
            return
        notices += await follow_related(
            source, notices, self._known, lambda key, link: self._entry(source, key, link, result, first)
        )
        record(notices, result, rec, self.plan_alerts)
        if not result.errors:  # a failed notice keeps the list unvalidated, so it is retried next time
            rec.validators[source.url] = Validators(page.etag, page.last_modified)

    def _known(self, key: str) -> bool:
        return self.store.item(key) is not None

    async def _extract(
        self, source: Source, page: Page, region: str | None, kind: str | None = None
    ) -> Extracted:
        return await read_page(
            page, kind=kind or source.kind, selectors=source.selectors, now=self.clock(), region=region
        )

    async def _list(
        self, source: Source, x: Extracted, result: SourceResult, rec: CheckRecord, first: bool
    ) -> list[Notice] | None:
        known = self.store.items_on_list(source.name)
        if not x.items:
            result.status = Outcome.ERROR
            result.error = (
                f"the list yielded no entries (it had {len(known)})" if known else "no list entries found"
            )
            return None
        rec.item_count = len(x.items)
        current, skipped = keyed(x.items)
        result.errors += skipped
        elsewhere = {k for k in current if k not in known and self.store.item(k) is not None}
        plan = plan_list(
            current, known, follow=source.follow, max_follow=source.max_follow, recent=self.notices.recent,
            elsewhere=elsewhere, layout_changed=result.layout_changed,
        )  # fmt: skip
        notices = await asyncio.gather(
            *(self._entry(source, k, link, result, first or k in plan.backlog) for k, link in plan.todo)
        )
        out = [n for n in notices if n is not None]
        if plan.todo and result.unexpected == len(plan.todo):  # every entry hit the same bug: it fails
            result.status, result.error = Outcome.ERROR, result.errors[0]
            return None
        for k in plan.unread:  # seen, read now or later: kept on the list, unread until read
            out.append(Notice(k, {"key": k, "source": source.name, "on_list": 1, "url": current[k].url,
                                  "title": current[k].title}, None, None))  # fmt: skip
        for k in plan.removed:
            _removed(source, known[k], result, rec, self.store, self.plan_alerts)
        return out

    async def _recheck(self, source: Source, result: SourceResult) -> list[Notice]:
        """Behind a 304, the list's entries not read yet are read, and its recent notices fetched again
        (conditionally): a notice revised in place (a deadline moved, an attachment replaced) leaves its
        list as it was."""
        if not source.follow:
            return []
        known = list(self.store.items_on_list(source.name).values())
        todo = plan_recheck(known, max_follow=source.max_follow, recent=self.notices.recent)
        found = await asyncio.gather(
            *(self._entry(source, r.key, link_of(r), result, backlog) for r, backlog in todo)
        )
        return [n for n in found if n is not None]

    async def _entry(
        self, source: Source, key: str, link: Link, result: SourceResult, first: bool
    ) -> Notice | None:
        if not source.follow:
            return self.notices.version(
                source, key, link.url, snapshot_of_entry(link), link, None, True, first
            )
        try:
            page = await self._get(source, link.url, self.notices.validators(source, key, link.url))
            result.fetched += 1
            if isinstance(page, NotModified):
                return Notice(key, {"key": key, "source": source.name, "on_list": 1}, None, None)
            x = await read_page(page, kind="notice", now=self.clock())
            return await self.notices.from_page(
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


def _layout_changed(
source: Source, before: str, x: Extracted, result: SourceResult, rec: CheckRecord,
tell_admin: AdminNotice | None,
) -> None:  # fmt: skip
    """A health event, not alerts: the admin hears of it; entries of the new region are recorded but
    alert nobody this time, and nothing counts as removed from the list."""
    result.layout_changed = True
    detail = layout_change(before, x.region, len(x.items), source.url)
    log.warning("check %s: %s", source.name, detail)
    rec.events.append(("layout_changed", detail))
    if tell_admin:
        rec.alerts.extend(tell_admin(source, f"{source.name} 页面结构变化", detail))


def _removed(
    source: Source, old: ItemRow, result: SourceResult, rec: CheckRecord, store: Store,
    plan_alerts: AlertPlanner | None,
) -> None:  # fmt: skip
    """An entry gone from the list: a change, alerted only when the source asks for it."""
    rec.removed.append(old.key)
    change = Change("removed", old.key, old.url or "", old.title or "", source.name, old.date)
    result.changes.append(change)
    if source.alert_removed and plan_alerts and old.version_id:
        last = store.version(old.version_id)  # read only when it will be alerted
        if last:
            rec.alerts.extend(plan_alerts(change, last))


def _report(result: SourceResult) -> None:
    fields = {
        "source": result.name, "status": result.status, "new": result.count("new"),
        "changed": result.count("changed"), "errors": len(result.errors), "fetched": result.fetched,
        "seconds": round(result.elapsed, 3), "error": result.error,
    }  # fmt: skip
    log.info("%s", _log_line(result), extra={"fields": fields})


__all__ = ["AdminNotice", "Checker"]
