"""The outbox sender: deliver pending alerts through apprise, mark each sent, retry what fails.

A failed send is retried with exponential backoff and jitter until `retry_for` has passed since the alert
was written; then it is marked failed and the admin channel is told. apprise's return value is not taken
alone as proof: a warning or error in the logs apprise 2 attaches to each result counts as a failure too.

Crash safety comes from the order: the row is pending before the send and marked after it. A crash
before the send leaves it pending (sent after restart); a crash between send and mark sends it twice,
which is the one duplicate an outbox cannot rule out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from ..clock import Clock, day_of, now_iso, system_clock
from ..errors import outcome_of
from ..models import BEIJING
from .message import AlertData, Message, render
from .plan import Planner, ReminderStore
from .subscribers import CONSOLE_URL, Channel, Subscriber

log = logging.getLogger("watcher.alert")

BACKOFF_CAP = 3600.0


_BAD_LEVELS = ("WARNING", "ERROR", "CRITICAL")


@dataclass
class Delivery:
    """Sends one message to one channel; returns None when delivered, else the reason."""

    console: IO[str] | None = None
    _notifiers: dict[str, Any] = field(default_factory=dict, repr=False)  # URL → apprise.Apprise

    def __call__(self, channel: Channel, message: Message) -> str | None:
        if channel.url == CONSOLE_URL:
            stream = self.console or sys.stdout
            stream.write(f"{message.title}\n{message.body}\n\n" if message.title else f"{message.body}\n\n")
            stream.flush()
            return None
        notifier = self._notifiers.get(channel.url)
        if notifier is None:
            import apprise

            # Sequential sends: one channel at a time, in the calling thread.
            notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
            if not notifier.add(channel.url):
                return "apprise does not understand this URL"
            self._notifiers[channel.url] = notifier  # parsed once, and its HTTP session reused
        errors: list[str] = []
        try:
            result = notifier.notify(body=message.body, title=message.title, body_format=message.format)
            ok = bool(result)
            errors += [entry.message for entry in result.logs() if entry.level in _BAD_LEVELS]
        except Exception as exc:  # a plugin bug must fail this send, not the sender
            errors.append(outcome_of(exc).message)
            ok = False
        if ok and not errors:
            return None
        return channel.scrub("; ".join(dict.fromkeys(errors)) or "the service refused the message")


@dataclass
class FlushReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"alerts: {self.sent} sent in {self.messages} messages, {self.retrying} to retry, {self.failed} failed"


class OutboxStore(ReminderStore, Protocol):
    """What the sender needs of the store: its outbox, and the deadlines its reminders read
    (watcher.store.Store is one)."""

    def due_alerts(self, now: str) -> list[tuple[str, str, str]]: ...
    def claim(self, ids: list[str], owner: str, now: dt.datetime) -> list[str]: ...
    def alert_payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def retry_state(self, ids: list[str]) -> tuple[str, int]: ...
    def mark_sent(self, ids: list[str], at: str) -> None: ...
    def mark_retry(self, ids: list[str], next_try: str, error: str) -> None: ...
    def mark_failed(self, ids: list[str], error: str) -> None: ...


class Sender:
    """Delivers the due alerts of one store to the configured subscribers."""

    def __init__(
        self,
        store: OutboxStore,
        planner: Planner,
        deliver: Callable[[Channel, Message], str | None] | None = None,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
    ) -> None:
        self.store, self.planner = store, planner
        self.deliver = deliver or Delivery()
        self.clock = clock
        self.rng = rng or random.Random()
        self._lock = threading.Lock()  # one flush at a time per sender
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def flush(self, should_stop: Callable[[], bool] = lambda: False) -> FlushReport:
        """Send what is due; `should_stop` is asked between messages, so a stopping daemon is not held up."""
        with self._lock:
            report = FlushReport()
            now = self.clock()
            by_name = {s.name: s for s in self.planner.audience}
            for ids, sub, channel in self._batches(now, by_name):
                if should_stop():
                    break
                self._send(ids, sub, channel, now, report)
            if report.failed and self.planner.settings.admin and not should_stop():
                for ids, sub, channel in self._batches(now, by_name):  # the admin hears of it now
                    if sub is not None and sub.name == "admin":
                        self._send(ids, sub, channel, now, report)
            return report

    def _batches(
        self, now: dt.datetime, by_name: dict[str, Subscriber]
    ) -> list[tuple[list[str], Subscriber | None, Channel | None]]:
        """Digest subscribers get one message per channel; others one per alert; quiet hours wait."""
        local = now.astimezone(BEIJING).time()
        groups: dict[tuple[str, str], list[str]] = {}
        singles: list[tuple[list[str], Subscriber | None, Channel | None]] = []
        for aid, name, key in self.store.due_alerts(now_iso(now)):
            sub = self._subscriber(name, by_name)
            channel = sub.channel(key) if sub else None
            if sub and channel and sub.quiet and sub.quiet.contains(local) and name != "admin":
                continue
            if sub and channel and sub.digest:
                groups.setdefault((name, key), []).append(aid)
            else:
                singles.append(([aid], sub, channel))
        digests = [(ids, by_name[name], by_name[name].channel(key)) for (name, key), ids in groups.items()]
        return digests + singles

    def _subscriber(self, name: str, by_name: dict[str, Subscriber]) -> Subscriber | None:
        return self.planner.admin if name == "admin" else by_name.get(name)

    def _send(
        self,
        ids: list[str],
        sub: Subscriber | None,
        channel: Channel | None,
        now: dt.datetime,
        report: FlushReport,
    ) -> None:
        ids = self.store.claim(ids, self.owner, now)
        if not ids:
            return  # another sender took them
        if sub is None or channel is None:
            self.store.mark_failed(ids, "the subscriber or channel is no longer configured")
            report.failed += len(ids)
            return
        payloads = self.store.alert_payloads(ids)
        alerts = [AlertData.from_json(payloads[i]) for i in ids if i in payloads]
        message = render(alerts, channel.scheme, day_of(now))
        error = self.deliver(channel, message)
        report.messages += 1
        if error is None:
            self.store.mark_sent(ids, now_iso(now))
            report.sent += len(ids)
            log.info("sent %d alert(s) to %s via %s", len(ids), sub.name, channel.masked)
            return
        log.warning("send to %s via %s failed: %s", sub.name, channel.masked, error)
        report.errors.append(f"{sub.name} {channel.masked}: {error}")
        self._retry_or_fail(ids, sub, channel, error, now, report)

    def _retry_or_fail(
        self,
        ids: list[str],
        sub: Subscriber,
        channel: Channel,
        error: str,
        now: dt.datetime,
        report: FlushReport,
    ) -> None:
        created, tried = self.store.retry_state(ids)
        attempts = tried + 1
        if (now - dt.datetime.fromisoformat(created)).total_seconds() >= self.planner.settings.retry_for:
            self.store.mark_failed(ids, error)
            report.failed += len(ids)
            if sub.name != "admin":
                self._tell_admin(sub, channel, len(ids), error, now)
            return
        delay = min(self.planner.settings.retry_base * 2 ** (attempts - 1), BACKOFF_CAP)
        delay *= self.rng.uniform(0.8, 1.2)
        self.store.mark_retry(ids, now_iso(now + dt.timedelta(seconds=delay)), error)
        report.retrying += len(ids)

    def _tell_admin(
        self, sub: Subscriber, channel: Channel, count: int, error: str, now: dt.datetime
    ) -> None:
        data = AlertData(
            change="failed", title=f"{count} 条提醒未能送达 {sub.name}（{channel.masked}）", url="",
            source="watcher", kind="其他", diff=f"最后的错误：{error}",
        )  # fmt: skip
        dedupe = f"failed:{now_iso(now)}:{sub.name}:{channel.key}"
        if rows := self.planner.for_admin(data, dedupe, now):
            self.store.add_alerts(rows)


__all__ = ["Delivery", "FlushReport", "Sender"]
