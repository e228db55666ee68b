"""The one clock. Everything that asks the time asks a `Clock`: the daemon's schedule and leases, the
store's claims, checks, reminders, digests, the CLI and the page. The daemon and the CLI are handed one at
their edge (the system's, unless a test hands them one it steps), so every rule that depends on the date
(`recent_days`, `recheck_days`, digests, deadlines) gives the same answer on any day.

Durations measured inside one process (a fetch's budget, politeness delays, the gate's pins) stay on
`time.monotonic()`: they measure elapsed time, not the date, and a stepped clock must not stretch them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .models import BEIJING

Clock = Callable[[], dt.datetime]
"""Returns an aware datetime (watcher shows and stores Beijing time)."""


def system_clock() -> dt.datetime:
    return dt.datetime.now(BEIJING)


def day_of(when: dt.datetime) -> dt.date:
    """The calendar day in Beijing at `when` (the day every date rule counts from)."""
    return when.astimezone(BEIJING).date()


def today(clock: Clock) -> dt.date:
    """The calendar day in Beijing by `clock`."""
    return day_of(clock())


__all__ = ["Clock", "day_of", "system_clock", "today"]


def now_iso(now: dt.datetime) -> str:
    """A time as the store keeps it: Beijing, to the second."""
    return now.astimezone(BEIJING).isoformat(timespec="seconds")


def due_iso(when: dt.datetime) -> str:
    """A due time, to the millisecond (a source every 2 s is not rounded to whole seconds). It sorts with
    `now_iso` values as the times they are: same zone, and '+' sorts before '.'."""
    return when.astimezone(BEIJING).isoformat(timespec="milliseconds")
