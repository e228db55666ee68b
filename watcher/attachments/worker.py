"""Worker processes that read attachments (child.py) under a time and a memory limit.

A PDF bomb, a zip bomb or a parser crash ends a worker, never the daemon, and comes back as a one-line
reason for that attachment alone. The parent kills a worker when its resident memory passes the limit
(read from /proc every 20 ms) or its time is up, and starts another for the next file. Workers are kept
between files (starting Python and the parsers costs about 70 ms a file; a kept worker reads a small
file in about 1 ms), replaced after `FILES_PER_WORKER` files or when one grew past half the memory limit,
and stopped after `IDLE_SECONDS` without work, so an idle daemon keeps none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
FILES_PER_WORKER = 200
IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0
    memory_mb: int = 1024


@dataclass(frozen=True)
class Parsed:
    kind: str | None = None
    text: str = ""
    pages: int | None = None
    error: str | None = None


@dataclass
class _Worker:
    proc: asyncio.subprocess.Process
    files: int = 0
    idle_since: float = field(default_factory=time.monotonic)


class Workers:
    """At most `size` worker processes, each reading one file at a time."""

    def __init__(self, limits: Limits, size: int = 2) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._reaper: asyncio.Task[None] | None = None

    async def parse(self, data: bytes) -> Parsed:
        async with self._slots:
            worker = self._take() or await self._start()
            parsed, reusable = await self._run(worker, data)
            if reusable:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
                self._reap_later()
            else:
                await _stop(worker)
            return parsed

    @property
    def kept(self) -> list[int]:
        """Process ids of the workers waiting for a file."""
        return [w.proc.pid for w in self._idle if w.proc.returncode is None]

    async def aclose(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        idle, self._idle = self._idle, []
        for worker in idle:
            await _stop(worker)

    def _take(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.proc.returncode is None:
                return worker
        return None

    async def _start(self) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "watcher.attachments.child", str(self.limits.seconds),
            str(self.limits.memory_mb), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return _Worker(proc)

    async def _run(self, worker: _Worker, data: bytes) -> tuple[Parsed, bool]:
        """One file through one worker: what it read, and whether the worker can take another."""
        proc, limits = worker.proc, self.limits
        assert proc.stdin is not None and proc.stdout is not None
        watch = asyncio.create_task(_watch_memory(proc, limits.memory_mb))
        try:
            async with asyncio.timeout(limits.seconds + 5):  # start-up and imports are not the file's fault
                proc.stdin.write(len(data).to_bytes(8, "big") + data)
                await proc.stdin.drain()
                size = int.from_bytes(await proc.stdout.readexactly(8), "big")
                answer = await proc.stdout.readexactly(size)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return Parsed(error=f"took longer than {limits.seconds:g} s to read"), False
        except (asyncio.IncompleteReadError, ConnectionError):
            await proc.wait()
            if watch.done() and not watch.cancelled() and watch.result():
                return Parsed(error=f"needs more than {limits.memory_mb} MB of memory to read"), False
            return Parsed(error=_death(proc.returncode, limits)), False
        finally:
            watch.cancel()
        worker.files += 1
        try:
            raw = json.loads(answer)
            parsed = Parsed(raw.get("kind"), raw.get("text") or "", raw.get("pages"), raw.get("error"))
        except (ValueError, AttributeError):
            return Parsed(error="the reader answered nonsense"), False
        grown = _resident(proc.pid) > limits.memory_mb * 1024 * 1024 // 2
        return parsed, worker.files < FILES_PER_WORKER and not grown

    def _reap_later(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap())

    async def _reap(self) -> None:
        """Stop workers idle for IDLE_SECONDS: an idle daemon keeps no worker."""
        while self._idle:
            await asyncio.sleep(IDLE_SECONDS / 2)
            now = time.monotonic()
            stale = [w for w in self._idle if now - w.idle_since >= IDLE_SECONDS]
            self._idle = [w for w in self._idle if w not in stale]
            for worker in stale:
                await _stop(worker)


async def parse(data: bytes, limits: Limits) -> Parsed:
    """One attachment read in a worker of its own (for one-off commands and tests)."""
    workers = Workers(limits, 1)
    try:
        return await workers.parse(data)
    finally:
        await workers.aclose()


async def _stop(worker: _Worker) -> None:
    proc = worker.proc
    if proc.returncode is None:
        if proc.stdin is not None:
            proc.stdin.close()  # end of input: the worker ends by itself
        try:
            await asyncio.wait_for(proc.wait(), 2)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def _resident(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0  # no /proc here: the address-space ceiling still holds


async def _watch_memory(proc: asyncio.subprocess.Process, megabytes: int) -> bool:
    """Kill the worker once its resident size passes the limit; True if it did."""
    limit = megabytes * 1024 * 1024
    while proc.returncode is None:
        if _resident(proc.pid) > limit:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return True
        await asyncio.sleep(0.02)
    return False


def _death(code: int | None, limits: Limits) -> str:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"took more than {limits.seconds:g} s of CPU to read"
    if code == -signal.SIGABRT:  # an allocation refused at the address-space ceiling
        return f"needs more than {limits.memory_mb} MB of memory to read"
    return f"the reader failed (exit {code})"
