"""`watcher run`: the daemon's timing. No flow logic here: it calls the same check and send as the CLI.

- the schedule lives in the store: each source's next due time is a column; a dispatcher takes the due
  sources, oldest first, by an index, as many as there are free check slots, and claims each with a lease
  until its check writes the next due time (its interval, or its backoff after a failure). Nothing per
  source lives in the scheduler: 100,000 sources cost a row each, not a job each. A daemon that died
  leaves claims that its successor (which holds the state's write lock) gives back at start;
- start-up spreads new sources' first checks over their interval; SIGHUP reloads the configuration (new
  sources added, removed ones parked with their history, a bad file logged and the old one kept);
- APScheduler keeps the clock work: the outbox sender every `SEND_EVERY` seconds and the deadline
  reminders hourly (in a worker thread on their own SQLite connection), and the daily backup;
- SIGTERM and SIGINT stop: checks in flight get a few seconds to finish, then are cancelled before they
  write anything (their sources are due again at once); pending alerts stay pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import functools
import logging
import os
import random
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import app, state
from . import config as config_mod
from .clock import Clock, due_iso, system_clock
from .config import Source
from .dispatch import Dispatcher
from .errors import ConfigError, StoreError, outcome_of
from .metrics import Stats
from .models import BEIJING
from .pipeline import Checker

log = logging.getLogger("watcher.run")

SEND_EVERY = 20.0
REMIND_EVERY = 3600.0
BACKUP_DELAY = 60.0  # the first backup waits for start-up's first checks
STOP_GRACE = 6.0  # seconds for checks in flight to finish on SIGTERM; the whole exit stays under 10


class Daemon:
    def __init__(
        self, config: config_mod.Config, state: str | None = None, clock: Clock = system_clock
    ) -> None:
        self.config, self.state, self.clock = config, state, clock
        self.stats = Stats(clock)
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=BEIJING)
        self.checker: Checker | None = None
        self.dispatcher: Dispatcher | None = None  # made when the store is open
        self.sources: dict[str, Source] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{int(clock().timestamp())}"
        self.rng = random.Random()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_reminders: dt.datetime | None = None  # the first send also writes the reminders due
        self.store_error: str | None = None  # the database failed: /healthz says so until a check writes

    # -------------------------------------------------------------- life cycle

    async def run(self, serve: Callable[[Daemon], Any] | None = None) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        async with app.open_checker(self.config, self.clock) as checker:
            self.checker = checker
            checker.store.release_sources(due_iso(self.clock()))  # claims of a daemon that died: due again
            self.dispatcher = Dispatcher(
                checker.store, self.owner, self.capacity, self.clock, self._check, started=self._started
            )
            self.dispatcher.stopping = self.stopping
            self._schedule_sources(first=True)
            self.scheduler.add_job(self._send, IntervalTrigger(seconds=SEND_EVERY), id="send",
                                   next_run_time=self._soon(), coalesce=True, max_instances=1)  # fmt: skip
            if not checker.store.shared:  # PostgreSQL has its own backups (pg_dump, replicas)
                self.scheduler.add_job(self._backup, IntervalTrigger(hours=24), id="backup", coalesce=True,
                                       max_instances=1, next_run_time=self._first_backup())  # fmt: skip
            self.scheduler.start()
            _give_back_memory()  # reading 100,000 sources left 13 MB of freed heap with the process
            self._dispatcher = asyncio.create_task(
                self.dispatcher.run(functools.partial(self._store_failed, "the schedule"))
            )
            server = asyncio.create_task(serve(self)) if serve else None
            log.info(
                "watching %d sources; state in %s",
                len(self.config.sources),
                state.describe(self.config.settings.state),
            )
            await self.stopping.wait()
            log.info("stopping")
            self.scheduler.shutdown(wait=False)
            self.dispatcher.wake.set()
            await self._dispatcher
            await self._finish_checks()
            if server:
                server.cancel()
                await asyncio.gather(server, return_exceptions=True)
        log.info("stopped")

    async def _finish_checks(self) -> None:
        if self.claimed:
            _done, pending = await asyncio.wait(set(self.claimed.values()), timeout=STOP_GRACE)
            cancelled = [name for name, task in self.claimed.items() if task in pending]
            for task in pending:
                task.cancel()  # a check writes only at its end, in one transaction: nothing half-written
            await asyncio.gather(*pending, return_exceptions=True)
            if cancelled and self.checker:
                self.checker.store.release_sources(
                    due_iso(self.clock()), cancelled
                )  # due again at the next start

    @property
    def claimed(self) -> dict[str, asyncio.Task[Any]]:
        """Source name → its check in flight."""
        return self.dispatcher.claimed if self.dispatcher else {}

    def healthy(self) -> bool:
        dispatching = self._dispatcher is not None and not self._dispatcher.done()
        return (
            self.scheduler.running and dispatching and not self.stopping.is_set() and self.store_error is None
        )

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
        """The store's schedule made to match the configuration. New sources fall due at random within
        their first interval at start-up (spread), within five seconds after a reload."""
        assert self.checker is not None
        self.sources = {s.name: s for s in self.config.sources}
        assert self.dispatcher is not None
        self.dispatcher.sources, self.dispatcher.capacity = self.sources, self.capacity
        now = self.clock()

        def first_due(name: str) -> str:
            interval = self.sources[name].interval
            return due_iso(
                now + dt.timedelta(seconds=self.rng.uniform(0, interval if first else min(interval, 5.0)))
            )

        urls = {name: source.url for name, source in self.sources.items()}
        added, parked = self.checker.store.sync_sources(urls, first_due)
        if added or parked:
            log.info("schedule: %d sources added, %d parked", added, parked)
        intervals = {name: source.interval for name, source in self.sources.items()}
        if moved := self.checker.store.sync_intervals(intervals, now):  # a changed interval, at once
            log.info("schedule: %d sources due at a new interval (%s)", len(moved), ", ".join(moved[:5]))
        self.dispatcher.wake.set()

    # -------------------------------------------------------------- the dispatcher (dispatch.py)

    def _started(self, lag: float) -> None:
        self.stats.lags.append(lag)
        self.stats.dispatched += 1

    @property
    def capacity(self) -> int:
        """Checks in flight at most: enough to keep the fetch concurrency busy."""
        return 2 * self.config.settings.concurrency

    # -------------------------------------------------------------- jobs

    async def _check(self, source: Source) -> None:
        if self.stopping.is_set() or self.checker is None:
            return
        try:
            result = await self.checker.check(source)
            self.stats.record(result)
            self.store_error = None
            if result.changes:
                self._send_soon()
        except StoreError as exc:
            self._store_failed(source.name, exc)
        except Exception as exc:  # a bug in one check must not stop the daemon
            log.exception("check %s crashed: %s", source.name, outcome_of(exc).message)
            self.stats.checks["crashed"] = self.stats.checks.get("crashed", 0) + 1

    def _store_failed(self, name: str, exc: StoreError) -> None:
        """Logged at each check, shown on /healthz; the admin is told once, directly (the outbox is in the
        failing database)."""
        message = f"the state's database failed during the check of {name}: {exc}"
        shared = self.checker is not None and self.checker.store.shared  # SQLite's backups do not apply
        advice = state.POSTGRES_ADVICE if shared else (
            "`watcher state check` says what is wrong, `watcher state restore` puts a backup back"
        )  # fmt: skip
        log.error("%s; %s", message, advice)
        self.stats.checks["store_error"] = self.stats.checks.get("store_error", 0) + 1
        if self.store_error is None:
            app.tell_admin_now(self.config, "watcher 数据库故障", message, self.clock)
        self.store_error = message

    def _first_backup(self) -> dt.datetime:
        """Daily; at once when the newest backup is more than a day old (or there is none)."""
        now = self.clock()
        found = state.backups(Path(self.config.settings.state))
        newest = (state.taken_at(found[-1]) if found else None) or now - dt.timedelta(days=1)
        return self._soon(max((newest - now).total_seconds() + 86400, BACKUP_DELAY))

    async def _backup(self) -> None:
        try:
            target = await asyncio.to_thread(state.backup, Path(self.config.settings.state), self.clock)
        except (OSError, StoreError) as exc:
            log.error("backup failed: %s", exc)
            return
        log.info("backed up the state to %s", target)

    def _send_soon(self) -> None:
        """Immediate alerts go out right after the check that wrote them, not at the next send tick."""
        if self.scheduler.running and not self.stopping.is_set():
            self.scheduler.modify_job("send", next_run_time=self._soon())

    async def _send(self) -> None:
        if not self.stopping.is_set():
            report = await asyncio.to_thread(self._flush)
            self.stats.alerts["sent"] += report.sent
            self.stats.alerts["failed"] += report.failed

    def _soon(self, seconds: float = 0.0) -> dt.datetime:
        """A run time for APScheduler, which runs jobs by the system's clock whatever `self.clock` says."""
        return system_clock() + dt.timedelta(seconds=seconds)

    def _flush(self) -> Any:
        now = self.clock()
        last = self._last_reminders
        reminders = last is None or (now - last).total_seconds() >= REMIND_EVERY
        report = app.send_alerts(
            self.config, self.clock, reminders=reminders, should_stop=self.stopping.is_set
        )
        if reminders:
            self._last_reminders = now
        return report


def _give_back_memory() -> None:
    """Return freed heap to the system (glibc's malloc_trim); elsewhere, nothing to do."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def failing_sources(daemon: Daemon) -> list[dict[str, Any]]:
    assert daemon.checker is not None
    rows = daemon.checker.store.query(
        "SELECT name, status, error, failures, last_success, next_due FROM sources WHERE failures > 0"
    )
    known = {s.name for s in daemon.config.sources}
    return [r for r in rows if r["name"] in known]


__all__ = ["Daemon", "Stats", "failing_sources"]
