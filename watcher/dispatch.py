"""The dispatcher: due sources out of the store's schedule, each claimed with a lease, into free check slots.

It holds no timer of its own: `step()` does one pass by the clock it is given (renew the claims when
RENEW has passed, start the due checks that fit, say how long to wait), so a test steps it on a stepped
clock, and `run()` is the daemon's loop around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from .cadence import adaptive_interval, failures_after, next_due, seeded_jitter
from .clock import Clock, due_iso, now_iso
from .config import Source
from .errors import StoreError
from .store import Store

LEASE = 30.0  # a claimed source is not handed out again for this long unless its check writes first…
RENEW = 10.0  # …and a live dispatcher renews its claims this often: a dead one's run out within LEASE
TICK = 1.0  # the dispatcher looks for due sources at least this often


class Dispatcher:
    """Starts `check(source)` for each due source while fewer than `capacity` run."""

    def __init__(
        self,
        store: Store,
        owner: str,
        capacity: int,
        clock: Clock,
        check: Callable[[Source], Coroutine[Any, Any, None]],
        started: Callable[[float], None] = lambda lag: None,
    ) -> None:
        """`check` runs one source's check; `started` hears how late (seconds) each check started."""
        self.store, self.owner, self.capacity, self.clock = store, owner, capacity, clock
        self.check, self.started = check, started
        self.sources: dict[str, Source] = {}  # the configured sources by name
        self.claimed: dict[str, asyncio.Task[Any]] = {}  # source name → its check in flight
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self._renewed = clock()

    def step(self) -> float:
        """One pass: renew claims when due, start the due checks that fit; seconds until the next pass."""
        if self.claimed and (self.clock() - self._renewed).total_seconds() >= RENEW:
            self.store.renew(self.owner, due_iso(self.clock() + dt.timedelta(seconds=LEASE)))
            self._renewed = self.clock()
        self.dispatch()
        return self.until_next_due()

    async def run(self, store_failed: Callable[[StoreError], None]) -> None:
        """Step until stopped; sleep until the next due time, a finished check or a wake, at most TICK."""
        while not self.stopping.is_set():
            try:
                wait = self.step()
            except StoreError as exc:
                store_failed(exc)
                wait = TICK
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    def dispatch(self) -> None:
        free = self.capacity - len(self.claimed)
        if free <= 0 or self.stopping.is_set():
            return
        now = self.clock()
        lease = due_iso(now + dt.timedelta(seconds=LEASE))
        unknown = []
        for name, due in self.store.due_sources(due_iso(now), free, self.owner, lease):
            source = self.sources.get(name)
            if source is None:
                unknown.append(name)  # configured no more (another daemon's older file): parked
                continue
            if name in self.claimed:
                continue  # still running: its lease outlived by its check
            self.started(max(0.0, (now - dt.datetime.fromisoformat(due)).total_seconds()))
            task = asyncio.create_task(self.check(source))
            self.claimed[name] = task
            task.add_done_callback(functools.partial(self._finished, name))
        if unknown:
            self.store.park_sources(unknown)

    def _finished(self, name: str, task: asyncio.Task[Any]) -> None:
        if self.claimed.get(name) is task:
            del self.claimed[name]
        self.wake.set()  # a free slot: look for due sources now

    def until_next_due(self) -> float:
        if len(self.claimed) >= self.capacity:
            return TICK  # woken by a finishing check
        due = self.store.next_due()
        if due is None:
            return TICK
        seconds = (dt.datetime.fromisoformat(due) - self.clock()).total_seconds()
        return min(max(seconds, 0.01), TICK)


def interval_of(source: Source, store: Store, now: dt.datetime) -> float:
    """A source's interval; `interval: auto` counts the notices it listed for the first time in the
    last week (the notices of its first check not counted)."""
    if not source.adaptive:
        return source.interval
    fresh = store.new_items_since(source.name, now_iso(now - dt.timedelta(days=7)))
    return adaptive_interval(fresh, source.min_interval, source.max_interval)


def due_after(
    source: Source, interval: float, failures_before: int, succeeded: bool, now: dt.datetime
) -> str:
    """When a source just checked is due again. The spread is drawn from the source's name and the time,
    so a check at the same moment is due at the same moment whichever store or daemon runs it."""
    failures = failures_after(succeeded, failures_before)
    jitter = seeded_jitter(f"{source.name}@{now.isoformat()}")
    return due_iso(next_due(now, interval, failures, jitter))
