"""Wiring: one store, one fetcher, one checker, as the CLI and the daemon both use them."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .alert import Channel, Delivery, FlushReport, Message, Planner, Sender, plan_reminders, render
from .alert.message import AlertData
from .classify import Classifier
from .clock import Clock, system_clock, today
from .config import Config, Source
from .fetch import Fetcher
from .models import AlertRow, Change, Extracted, SourceResult
from .notices import AlertPlanner, ClassifyHook
from .pipeline import AdminNotice, Checker
from .state import DB_NAME, is_database_url, sqlite_errors
from .store import Store, VersionRow, copy_state, now_iso

log = logging.getLogger("watcher.app")


@asynccontextmanager
async def open_checker(
    config: Config,
    clock: Clock = system_clock,
) -> AsyncIterator[Checker]:
    store = Store(config.settings.state)
    settings = config.fetch_settings()
    fetcher = Fetcher(settings)
    classify, plan = _hooks(config, clock)
    tell_admin = _admin_hook(config, clock)
    checker = Checker(
        config, store, fetcher, classify=classify, plan_alerts=plan, clock=clock, tell_admin=tell_admin
    )
    try:
        yield checker
    finally:
        await checker.attachments.aclose()
        await checker.transport.aclose()  # the browser, if a source started it
        await fetcher.aclose()
        store.close()


def _hooks(config: Config, clock: Clock) -> tuple[ClassifyHook, AlertPlanner]:
    """The classifier (the configured programmes, else the bundled ones) and the alert planner."""
    classifier = Classifier(config.tracked_programmes)
    planner = planner_of(config)

    def classify(x: Extracted, source: str) -> dict[str, Any]:
        return classifier.classify_extracted(x).to_json()

    def plan(change: Change, version: VersionRow) -> list[AlertRow]:
        return planner.plan(change, version, clock())

    return classify, plan


def _admin_hook(config: Config, clock: Clock) -> AdminNotice:
    planner = planner_of(config)

    def tell_admin(source: Source, title: str, detail: str) -> list[AlertRow]:
        now = clock()
        data = AlertData(change="health", title=title, url=source.url, source=source.name, diff=detail)
        return planner.for_admin(data, f"health:{source.name}:{now_iso(now)}", now)

    return tell_admin


@contextmanager
def open_sender(
    config: Config,
    clock: Clock = system_clock,
    deliver: Callable[[Channel, Message], str | None] | None = None,
) -> Iterator[Sender]:
    """A sender on its own connection: the daemon runs it in a thread beside the checks."""
    store = Store(config.settings.state)
    try:
        store.release_claims(clock())  # left by a sender killed mid-send; callers hold the state's write lock
        yield Sender(store, planner_of(config), deliver, clock)
    finally:
        store.close()


def planner_of(config: Config) -> Planner:
    """Who hears what, for the configured subscribers (the console when there are none) and admin."""
    return Planner(config.subscribers, config.alerts)


def send_alerts(
    config: Config,
    clock: Clock = system_clock,
    deliver: Callable[[Channel, Message], str | None] | None = None,
    reminders: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
) -> FlushReport:
    """Write the deadline reminders due now (unless `reminders` is false), then deliver every due alert."""
    with open_sender(config, clock, deliver) as sender:
        if reminders:
            plan_reminders(sender.store, sender.planner, sender.clock())
        return sender.flush(should_stop)


def tell_admin_now(config: Config, title: str, detail: str, clock: Clock = system_clock) -> None:
    """Straight to the admin channels, not through the outbox: for when the outbox itself is failing."""
    admin = planner_of(config).admin
    if admin is None:
        return
    data = AlertData(change="health", title=title, url="", source="watcher", diff=detail)
    deliver = Delivery()
    for channel in admin.channels:
        message = render([data], channel.scheme, today(clock))
        if error := deliver(channel, message):
            log.error("telling the admin via %s failed: %s", channel.masked, error)


async def check_sources(
    config: Config,
    sources: list[Source] | None = None,
    clock: Clock = system_clock,
    progress: Callable[[SourceResult], None] | None = None,
) -> list[SourceResult]:
    async with open_checker(config, clock) as checker:
        return await checker.check_all(sources or list(config.sources), progress)


@contextmanager
def scratch_state(config: Config) -> Iterator[Config]:
    """The configuration pointed at a throwaway copy of its state: a dry run changes nothing real. A
    PostgreSQL state is copied into a scratch SQLite one (as `watcher migrate-state` would copy it)."""
    import tempfile  # only a dry run needs it (and shutil): a megabyte of every process otherwise

    with tempfile.TemporaryDirectory(prefix="watcher-dry-run-") as scratch:
        real = Path(config.settings.state) / DB_NAME
        if is_database_url(config.settings.state):
            with Store(config.settings.state) as shared, Store(scratch) as copy:
                copy_state(shared, copy)
        elif real.exists():
            source = Store(config.settings.state).conn  # read-only storage opens read-only
            target = sqlite3.connect(Path(scratch) / DB_NAME)
            with sqlite_errors(), target:
                source.backup(target)  # a consistent copy even while the daemon writes
            source.close()
            target.close()
        yield replace(config, settings=replace(config.settings, state=scratch))


def select_sources(config: Config, names: tuple[str, ...]) -> list[Source]:
    if not names:
        return list(config.sources)
    known = {s.name: s for s in config.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(", ".join(missing))
    return [known[n] for n in names]


__all__ = ["check_sources", "open_checker", "open_sender", "planner_of", "select_sources", "send_alerts"]
