"""When a source is checked next: its interval (fixed, or adapted to how often it publishes), doubled with
each consecutive failure, spread a little. Pure: the clock's reading and the jitter come in."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable

MAX_BACKOFF = 24 * 3600.0
WEEK = 7 * 86400.0

Jitter = Callable[[float, float], float]  # random.uniform's shape


def seeded_jitter(seed: str) -> Jitter:
    """A jitter drawn from `seed` alone: the same seed spreads the same way in every process. A hash, not
    random.Random(seed), whose seeding (SHA-512, then the whole Mersenne Twister state) cost 23 us a check."""
    digest = hashlib.blake2b(seed.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    fraction = int.from_bytes(digest) / 2**64  # in [0, 1), as random.random()
    return lambda low, high: low + (high - low) * fraction


def failures_after(succeeded: bool, failures_before: int) -> int:
    """Consecutive failures once this check is written."""
    return 0 if succeeded else failures_before + 1


def next_due(
    now: dt.datetime, interval: float, failures: int, jitter: Jitter = random.uniform
) -> dt.datetime:
    """The interval, give or take a tenth (at most five minutes) so that sources added together drift
    apart; after failures it doubles with each, capped at a day (or the interval, when that is longer)."""
    delay = min(interval * (2**failures), max(MAX_BACKOFF, interval))
    spread = min(delay * 0.1, 300.0)
    return now + dt.timedelta(seconds=delay + jitter(-spread, spread))


def adaptive_interval(fresh: int, least: float, most: float) -> float:
    """`interval: auto`: a week over one more than the notices listed for the first time in the last week,
    within the source's bounds: a source that publishes daily is checked about hourly, one silent for a
    week at its longest."""
    return min(max(WEEK / (fresh + 1), least), most)
