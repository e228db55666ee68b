"""Politeness toward each host: at most N requests in flight, and a jittered minimum delay between their
starts. One `HostSlots` per fetcher; the browser's requests take the same slots as plain HTTP's."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class _Host:
    gate: asyncio.Semaphore
    next_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostSlots:
    """Each host's slots, made when the host is first asked for."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.concurrency, self.delay = concurrency, delay
        self._hosts: dict[str, _Host] = {}

    def slot(self, url: str) -> HostSlot:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(self.concurrency))
        return HostSlot(self._hosts[host], self.delay)


class HostSlot:
    """`async with` one: waits for a free slot of its host and for the host's delay since the last start."""

    def __init__(self, host: _Host, delay: float) -> None:
        self.host, self.delay = host, delay

    async def __aenter__(self) -> None:
        await self.host.gate.acquire()
        if self.delay <= 0:
            return
        async with self.host.lock:
            wait = self.host.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.host.next_at = time.monotonic() + self.delay * random.uniform(0.8, 1.2)

    async def __aexit__(self, *exc: object) -> None:
        self.host.gate.release()
