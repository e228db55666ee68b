"""A CPU budget for reading one page: past it, a clear "page too complex" error for that page alone.

Extraction is near-linear, but a hostile page can still be built to be slow; the loops that grow with a
page call `tick()`, which looks at this thread's CPU clock every few hundred calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ExtractError

DEFAULT_SECONDS = 2.0
_EVERY = 256


class _State(threading.local):
    deadline: float | None = None
    seconds: float = DEFAULT_SECONDS
    calls: int = 0


_state = _State()


@contextmanager
def budget(seconds: float | None = DEFAULT_SECONDS) -> Iterator[None]:
    """Run the block under `seconds` of this thread's CPU time (None: no limit)."""
    outer = _state.deadline, _state.seconds
    _state.deadline = time.thread_time() + seconds if seconds else None
    _state.seconds = seconds or 0.0
    try:
        yield
    finally:
        _state.deadline, _state.seconds = outer


def tick() -> None:
    _state.calls += 1
    if _state.calls % _EVERY or _state.deadline is None:
        return
    if time.thread_time() > _state.deadline:
        raise ExtractError(f"page too complex: more than {_state.seconds:g} s of CPU to read")
