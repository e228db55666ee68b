"""Wiring: one store, one fetcher, one checker, as the CLI and the daemon both use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from .classify import Classifier, load_programmes
from .config import Config, Source
from .fetch import Fetcher
from .models import Extracted
from .pipeline import AlertPlanner, Checker, ClassifyHook, SourceResult
from .store import Store


@asynccontextmanager
async def open_checker(
    config: Config,
    clock: Callable[[], dt.datetime] | None = None,
) -> AsyncIterator[Checker]:
    store = Store(config.settings.state)
    settings = config.settings.fetch_settings()
    fetcher = Fetcher(settings)
    classify, plan = _hooks(config)
    try:
        yield Checker(config, store, fetcher, classify=classify, plan_alerts=plan, clock=clock)
    finally:
        await fetcher.aclose()
        store.close()


def _hooks(config: Config) -> tuple[ClassifyHook | None, AlertPlanner | None]:
    """The classifier (the configured programmes, else the bundled ones) and the alert planner."""
    classifier = Classifier(config.programmes or load_programmes())

    def classify(x: Extracted, source: str) -> dict[str, Any]:
        return classifier.classify_extracted(x).to_json()

    return classify, None


async def check_sources(
    config: Config, sources: list[Source] | None = None, clock: Callable[[], dt.datetime] | None = None
) -> list[SourceResult]:
    async with open_checker(config, clock) as checker:
        return await checker.check_all(sources or list(config.sources))


def select_sources(config: Config, names: tuple[str, ...]) -> list[Source]:
    if not names:
        return list(config.sources)
    known = {s.name: s for s in config.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(", ".join(missing))
    return [known[n] for n in names]


__all__ = ["check_sources", "open_checker", "select_sources"]
