"""The dispatcher stepped on a stepped clock, in this process: a real store, real tasks, no daemon."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from watcher.config import Source
from watcher.dispatch import LEASE, RENEW, TICK, Dispatcher
from watcher.store import Store, due_iso

from . import kit
from .kit import NOW


def test_the_dispatcher_fills_its_slots_oldest_first_and_keeps_its_leases(tmp_path: Path) -> None:
    offsets = {"late": 1.0, "next": 2.0, "third": 3.0, "tomorrow": 86400.0}
    config = kit.load_config(tmp_path, [kit.source(n, f"http://{n}.example/") for n in offsets])
    clock = kit.SteppedClock()
    store = Store(tmp_path)
    store.sync_sources(
        {n: f"http://{n}.example/" for n in offsets},
        lambda n: due_iso(NOW + dt.timedelta(seconds=offsets[n])),
    )
    started: list[str] = []
    lags: list[float] = []
    gates = {n: asyncio.Event() for n in offsets}

    async def check(source: Source) -> None:  # a check that runs until the test lets it finish
        started.append(source.name)
        await gates[source.name].wait()

    async def scenario() -> None:
        d = Dispatcher(store, "me", 2, clock, check, started=lags.append)
        d.sources = {s.name: s for s in config.sources}
        assert d.step() == TICK and started == []  # nothing due: wait a tick at most
        clock.advance(seconds=0.75)
        assert d.step() == 0.25 and started == []  # or until the first due time
        clock.advance(seconds=5)
        assert d.step() == TICK  # both slots taken: woken by a finishing check, or the tick
        await asyncio.sleep(0)
        assert started == ["late", "next"] and sorted(d.claimed) == ["late", "next"]
        assert lags == [4.75, 3.75]  # how late each started: due at 1 s and 2 s, started at 5.75 s
        gates["late"].set()
        await asyncio.sleep(0.01)
        assert d.wake.is_set() and sorted(d.claimed) == ["next"]  # a slot free, the dispatcher woken
        assert d.step() == TICK
        await asyncio.sleep(0)
        assert started == ["late", "next", "third"]
        # The claims are renewed every RENEW seconds while their checks run: another daemon cannot take
        # `next` after LEASE seconds from its claim, only after LEASE from the last renewal.
        clock.advance(seconds=RENEW)
        d.step()
        later = due_iso(clock() + dt.timedelta(seconds=LEASE - RENEW + 1))
        assert store.due_sources(later, 10, "other", later) == []
        for gate in gates.values():
            gate.set()
        await asyncio.sleep(0.01)
        assert d.claimed == {}
        assert 0 < d.until_next_due() <= TICK

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_a_source_configured_no_more_is_parked_when_it_falls_due(tmp_path: Path) -> None:
    clock = kit.SteppedClock()
    store = Store(tmp_path)
    store.sync_sources({"gone": "http://gone.example/"}, lambda n: due_iso(NOW))

    async def never(source: Source) -> None:
        raise AssertionError(f"{source.name} checked")

    async def scenario() -> None:
        d = Dispatcher(store, "me", 4, clock, never)  # another daemon's older file still had `gone`
        assert d.step() == TICK and d.claimed == {}

    try:
        asyncio.run(scenario())
        assert [r.next_due for r in store.sources()] == [None]
    finally:
        store.close()
