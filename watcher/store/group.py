"""Group commit: checks that finish within a few milliseconds of each other share one transaction."""

from __future__ import annotations

import asyncio

from ..models import CheckRecord
from .notices import Notices


class GroupCommit:
    """Checks that finish within a few milliseconds of each other are written in one transaction.

    Each check is still all or nothing; what is shared is the commit, which rewrites the pages the checks
    have in common (sources, indexes) once instead of once a check: a cold check of 5,250 sources spent
    a sixth of its store time committing. A check waits until its own record is committed.
    """

    def __init__(self, store: Notices, delay: float = 0.02, most: int = 8) -> None:
        self.store, self.delay, self.most = store, delay, most
        self._pending: list[tuple[CheckRecord, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def save(self, rec: CheckRecord) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((rec, done))
        if len(self._pending) >= self.most:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self.flush)
        await done

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        try:
            self.store.save_checks([rec for rec, _ in batch])
        except Exception:  # retried one by one below, so one bad record fails alone
            for rec, done in batch:
                try:
                    self.store.save_check(rec)
                except Exception as exc:  # handed to the check that wrote it
                    _settle(done, exc)
                else:
                    _settle(done, None)
            return
        for _, done in batch:
            _settle(done, None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the check was cancelled while it waited; its record was written all the same
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
