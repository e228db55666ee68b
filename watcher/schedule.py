"""`watcher run`: the daemon's timing. No flow logic here: it calls the same check and send as the CLI.

- every source on its own interval with jitter, one check of a source at a time, missed runs coalesced;
  start-up spread over each source's first interval; a failing source waits out its backoff (`next_due`,
  doubling, kept in the store) and shows as failing on /healthz, never dropped;
- the outbox sender every `SEND_EVERY` seconds and the deadline reminders hourly, in a worker thread on
  their own SQLite connection;
- SIGHUP reloads the configuration (a bad file is logged and the old one kept); SIGTERM and SIGINT stop:
  checks in flight get a few seconds to finish, then are cancelled before they write anything; pending
  alerts stay pending.

One scheduler process per state directory: two APScheduler 3 processes sharing a job store run jobs twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import app, state
from . import config as config_mod
from .errors import ConfigError
from .models import BEIJING
from .pipeline import Checker, SourceResult

log = logging.getLogger("watcher.run")

SEND_EVERY = 20.0
REMIND_EVERY = 3600.0
BACKUP_DELAY = 60.0  # the first backup waits for start-up's first checks
STOP_GRACE = 6.0  # seconds for checks in flight to finish on SIGTERM; the whole exit stays under 10
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120)


@dataclass
class Stats:
    """What /healthz and /metrics report; updated by the daemon, read by the HTTP handlers."""

    started: float = field(default_factory=time.time)
    last_success: str | None = None
    checks: dict[str, int] = field(default_factory=dict)  # by outcome
    items: dict[str, int] = field(default_factory=lambda: {"new": 0, "changed": 0, "removed": 0})
    alerts: dict[str, int] = field(default_factory=lambda: {"sent": 0, "failed": 0})
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    reloads: dict[str, int] = field(default_factory=lambda: {"ok": 0, "rejected": 0})

    def record(self, result: SourceResult) -> None:
        self.checks[result.status] = self.checks.get(result.status, 0) + 1
        for kind in self.items:
            self.items[kind] += result.count(kind)
        if result.status in ("ok", "not_modified"):
            self.last_success = dt.datetime.now(BEIJING).isoformat(timespec="seconds")
        index = next((i for i, b in enumerate(LATENCY_BUCKETS) if result.elapsed <= b), len(LATENCY_BUCKETS))
        self.latency[index] += 1
        self.latency_sum += result.elapsed


class Daemon:
    def __init__(self, config: config_mod.Config, state: str | None = None) -> None:
        self.config, self.state = config, state
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=BEIJING)
        self.checker: Checker | None = None
        self.running: set[asyncio.Task[Any]] = set()
        self.rng = random.Random()
        self._last_reminders = -REMIND_EVERY  # the first send also writes the reminders due
        self.store_error: str | None = None  # the database failed: /healthz says so until a check writes

    # -------------------------------------------------------------- life cycle

    async def run(self, serve: Callable[[Daemon], Any] | None = None) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        async with app.open_checker(self.config) as checker:
            self.checker = checker
            self._schedule_sources(first=True)
            self.scheduler.add_job(self._send, IntervalTrigger(seconds=SEND_EVERY), id="send",
                                   next_run_time=dt.datetime.now(BEIJING), coalesce=True, max_instances=1)  # fmt: skip
            self.scheduler.add_job(self._backup, IntervalTrigger(hours=24), id="backup", coalesce=True,
                                   max_instances=1, next_run_time=self._first_backup())  # fmt: skip
            self.scheduler.start()
            server = asyncio.create_task(serve(self)) if serve else None
            log.info("watching %d sources; state in %s", len(self.config.sources), self.config.settings.state)
            await self.stopping.wait()
            log.info("stopping")
            self.scheduler.shutdown(wait=False)
            await self._finish_checks()
            if server:
                server.cancel()
                await asyncio.gather(server, return_exceptions=True)
        log.info("stopped")

    async def _finish_checks(self) -> None:
        if self.running:
            _done, pending = await asyncio.wait(self.running, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()  # a check writes only at its end, in one transaction: nothing half-written
            await asyncio.gather(*pending, return_exceptions=True)

    def healthy(self) -> bool:
        return self.scheduler.running and not self.stopping.is_set() and self.store_error is None

    # -------------------------------------------------------------- configuration

    def reload(self) -> None:
        try:
            new = config_mod.load(self.config.path, self.state)
        except ConfigError as exc:
            self.stats.reloads["rejected"] += 1
            log.error("reload rejected, keeping the running configuration: %s", exc)
            return
        self.config = new
        if self.checker:
            self.checker.config = new
        self._schedule_sources(first=False)
        self.stats.reloads["ok"] += 1
        log.info("reloaded %s: %d sources", new.path, len(new.sources))

    def _schedule_sources(self, first: bool) -> None:
        """One job per source. Start-up spreads first runs over each interval; a reload keeps the rhythm
        of sources whose interval did not change."""
        wanted = {s.name: s for s in self.config.sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in wanted:
                job.remove()
        for name, source in wanted.items():
            job = self.scheduler.get_job(f"source:{name}")
            if job is not None and job.trigger.interval.total_seconds() == source.interval:
                continue
            delay = self.rng.uniform(0, source.interval if first else min(source.interval, 5.0))
            self.scheduler.add_job(
                self._check, IntervalTrigger(seconds=source.interval, jitter=min(source.interval * 0.1, 300)),
                args=[name], id=f"source:{name}", replace_existing=True, coalesce=True, max_instances=1,
                misfire_grace_time=None, next_run_time=dt.datetime.now(BEIJING) + dt.timedelta(seconds=delay),
            )  # fmt: skip

    # -------------------------------------------------------------- jobs

    async def _check(self, name: str) -> None:
        if self.stopping.is_set() or self.checker is None:
            return
        source = next((s for s in self.config.sources if s.name == name), None)
        if source is None or self._backing_off(name):
            return
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        try:
            result = await self.checker.check(source)
            self.stats.record(result)
            self.store_error = None
            if result.changes:
                self._send_soon()
        except sqlite3.DatabaseError as exc:
            self._store_failed(name, exc)
        except Exception:  # a bug in one check must not stop the daemon
            log.exception("check %s crashed", name)
            self.stats.checks["crashed"] = self.stats.checks.get("crashed", 0) + 1
        finally:
            self.running.discard(task)

    def _store_failed(self, name: str, exc: sqlite3.DatabaseError) -> None:
        """Logged at each check, shown on /healthz; the admin is told once, directly (the outbox is in the
        failing database)."""
        message = f"the state's database failed during the check of {name}: {exc}"
        log.error(
            "%s; `watcher state check` says what is wrong, `watcher state restore` puts a backup back",
            message,
        )
        self.stats.checks["store_error"] = self.stats.checks.get("store_error", 0) + 1
        if self.store_error is None:
            app.tell_admin_now(self.config, "watcher 数据库故障", message)
        self.store_error = message

    def _first_backup(self) -> dt.datetime:
        """Daily; at once when the newest backup is more than a day old (or there is none)."""
        now = dt.datetime.now(BEIJING)
        found = state.backups(Path(self.config.settings.state))
        if not found:
            return now + dt.timedelta(seconds=BACKUP_DELAY)
        newest = dt.datetime.fromtimestamp(found[-1].stat().st_mtime, BEIJING)
        return max(newest + dt.timedelta(days=1), now + dt.timedelta(seconds=BACKUP_DELAY))

    async def _backup(self) -> None:
        try:
            target = await asyncio.to_thread(state.backup, Path(self.config.settings.state))
        except (OSError, sqlite3.Error) as exc:
            log.error("backup failed: %s", exc)
            return
        log.info("backed up the state to %s", target)

    def _send_soon(self) -> None:
        """Immediate alerts go out right after the check that wrote them, not at the next send tick."""
        if self.scheduler.running and not self.stopping.is_set():
            self.scheduler.modify_job("send", next_run_time=dt.datetime.now(BEIJING))

    def _backing_off(self, name: str) -> bool:
        assert self.checker is not None
        row = self.checker.store.source_row(name)
        if not row or not row.get("failures") or not row.get("next_due"):
            return False
        return bool(dt.datetime.fromisoformat(row["next_due"]) > dt.datetime.now(BEIJING))

    async def _send(self) -> None:
        if not self.stopping.is_set():
            report = await asyncio.to_thread(self._flush)
            self.stats.alerts["sent"] += report.sent
            self.stats.alerts["failed"] += report.failed

    def _flush(self) -> Any:
        reminders = time.monotonic() - self._last_reminders >= REMIND_EVERY
        report = app.send_alerts(self.config, reminders=reminders, should_stop=self.stopping.is_set)
        if reminders:
            self._last_reminders = time.monotonic()
        return report


def failing_sources(daemon: Daemon) -> list[dict[str, Any]]:
    assert daemon.checker is not None
    rows = daemon.checker.store.query(
        "SELECT name, status, error, failures, last_success, next_due FROM sources WHERE failures > 0"
    )
    known = {s.name for s in daemon.config.sources}
    return [r for r in rows if r["name"] in known]


__all__ = ["Daemon", "Stats", "failing_sources"]
