"""Who hears about what: subscribers' filters, alert ids, due times and deadline reminders. Pure but for
`plan_reminders`, which reads the store.

An alert's id is derived from what makes it the same alert, so writing it twice is harmless:

    new notice       subscriber · channel · the notice's repost group (document number, else title+date)
    changed notice   subscriber · channel · the version
    reminder         subscriber · channel · group · deadline · tier (days before)

A notice reposted on three sites is one group, hence one alert per channel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from ..clock import day_of, now_iso
from ..models import BEIJING, AlertRow, Change, CurrentVersion, VersionRow
from ..normalize import fold
from .message import AlertData, alert_data
from .subscribers import CONSOLE, AlertSettings, Subscriber


def alert_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def wants(sub: Subscriber, a: AlertData, search: str) -> bool:
    """Does this subscriber want this alert? `search` is the notice's folded title and body."""
    if a.change == "changed" and not sub.changes:
        return False
    if sub.sources and a.source not in sub.sources:
        return False
    if sub.kinds and a.kind not in sub.kinds:
        return False
    if sub.regions and not any(r in (a.region or "") or r in (a.publisher or "") for r in sub.regions):
        return False
    if sub.everything:
        return True
    if any(fold(k) in search for k in sub.keywords):
        return True
    if not sub.programmes:
        return bool(a.programmes)
    return any(_programme_wanted(sub.programmes, p.id, p.task_id) for p in a.programmes)


def _programme_wanted(wanted: tuple[str, ...], pid: str, task_id: str | None) -> bool:
    return pid in wanted or (task_id is not None and f"{pid}/{task_id}" in wanted)


def next_digest(at: dt.time, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(BEIJING)
    due = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return due if due > local else due + dt.timedelta(days=1)


@dataclass
class Planner:
    """Turns a change into outbox rows, for the pipeline to write in the check's own transaction."""

    subscribers: tuple[Subscriber, ...]
    settings: AlertSettings

    @property
    def audience(self) -> tuple[Subscriber, ...]:
        return self.subscribers or (CONSOLE,)  # with nobody configured, the console hears everything

    @property
    def admin(self) -> Subscriber | None:
        """The admin channels as a subscriber: told when an alert finally fails."""
        return Subscriber("admin", self.settings.admin, everything=True) if self.settings.admin else None

    def for_admin(self, data: AlertData, dedupe: str, now: dt.datetime) -> list[AlertRow]:
        """Outbox rows telling the admin channels (none when no admin is configured)."""
        admin = self.admin
        return Planner((admin,), self.settings).rows(data, "", dedupe, now) if admin else []

    def plan(self, change: Change, version: VersionRow, now: dt.datetime) -> list[AlertRow]:
        if change.first_check and not self._worth_on_first_check(version, now):
            return []  # a first check records a source's back catalogue; it alerts only what is live
        data = alert_data(change.kind, version, change.source)  # version.item_key is change.key
        dedupe = f"new:{data.group or change.key}" if change.kind == "new" else f"{change.kind}:{version.id}"
        return self.rows(data, version.search, dedupe, now)

    def rows(self, data: AlertData, search: str, dedupe: str, now: dt.datetime) -> list[AlertRow]:
        payload = json.dumps(data.to_json(), ensure_ascii=False)
        out = []
        for sub in self.audience:
            if not wants(sub, data, search):
                continue
            due = next_digest(sub.digest, now) if sub.digest else now
            for channel in sub.channels:
                out.append(AlertRow(
                    alert_id(sub.name, channel.key, dedupe), sub.name, channel.key, None, data.item_key,
                    reason=data.change, status="pending", attempts=0, created=now_iso(now), due=now_iso(due),
                    payload=payload,
                ))  # fmt: skip
        return out

    def _worth_on_first_check(self, version: VersionRow, now: dt.datetime) -> bool:
        today = day_of(now)
        if version.deadline and version.deadline[:10] >= today.isoformat():
            return True  # an open call, however old
        if version.date:
            return version.date[:10] >= (today - dt.timedelta(days=self.settings.recent_days)).isoformat()
        return False


def reminder_tier(days_left: int, tiers: tuple[int, ...]) -> int | None:
    """The reminder due with `days_left` days to go: the smallest tier at or above it (3 then 1)."""
    fitting = [t for t in tiers if t >= days_left]
    return min(fitting) if fitting and days_left >= 0 else None


class ReminderStore(Protocol):
    """What the reminders need of the store (watcher.store.Store is one)."""

    def deadlines_between(self, first: str, last: str) -> list[CurrentVersion]: ...

    def add_alerts(self, rows: list[AlertRow]) -> int: ...


def plan_reminders(store: ReminderStore, planner: Planner, now: dt.datetime) -> int:
    """Write the deadline reminders due today; returns how many were new. Safe to run any number of times."""
    today = day_of(now)
    horizon = max((max(s.reminders, default=0) for s in planner.audience), default=0)
    rows: list[AlertRow] = []
    for current in store.deadlines_between(
        today.isoformat(), (today + dt.timedelta(days=horizon)).isoformat()
    ):
        version = current.version
        data = alert_data("reminder", version, current.source)
        first_seen = dt.date.fromisoformat((current.first_seen or today.isoformat())[:10])
        days, found_ahead = data.days_left(today), data.days_left(first_seen)
        if days is None or found_ahead is None:
            continue
        for sub in planner.audience:
            tier = reminder_tier(days, sub.reminders)
            if tier is None or found_ahead <= tier:
                continue  # first seen inside this window: its own alert already showed the deadline
            dedupe = f"remind:{data.group or data.item_key}:{version.deadline}:{tier}"
            rows += Planner((sub,), planner.settings).rows(data, version.search or "", dedupe, now)
    return store.add_alerts(rows) if rows else 0


__all__ = ["Planner", "alert_id", "next_digest", "plan_reminders", "reminder_tier", "wants"]
