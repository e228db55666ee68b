"""`parse()`: one attachment read in a worker process (child.py) under a time and a memory limit.

A PDF bomb, a zip bomb or a parser crash ends that process, never the daemon, and comes back as a
one-line reason for that attachment alone. The parent kills the worker when its resident memory passes
the limit (read from /proc every 20 ms) or its time is up; a process per attachment costs about 60 ms
of start-up, and attachments are read only for new and changed notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


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


async def parse(data: bytes, limits: Limits) -> Parsed:
    """Read one attachment's text in a worker process under `limits`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "watcher.attachments.child", str(limits.seconds), str(limits.memory_mb),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    watch = asyncio.create_task(_watch_memory(proc, limits.memory_mb))
    try:
        async with asyncio.timeout(limits.seconds + 5):  # start-up and imports are not the file's fault
            out, err = await proc.communicate(data)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return Parsed(error=f"took longer than {limits.seconds:g} s to read")
    finally:
        watch.cancel()
    if watch.done() and not watch.cancelled() and watch.result():
        return Parsed(error=f"needs more than {limits.memory_mb} MB of memory to read")
    if proc.returncode == 0:
        try:
            raw = json.loads(out)
            return Parsed(raw.get("kind"), raw.get("text") or "", raw.get("pages"), raw.get("error"))
        except (ValueError, AttributeError):
            pass
    return Parsed(error=_death(proc.returncode, err, limits))


async def _watch_memory(proc: asyncio.subprocess.Process, megabytes: int) -> bool:
    """Kill the worker once its resident size passes the limit; True if it did."""
    limit = megabytes * 1024 * 1024
    path = f"/proc/{proc.pid}/statm"
    while proc.returncode is None:
        try:
            with open(path, "rb") as f:
                resident = int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return False  # no /proc here (the address-space ceiling still holds), or the process is gone
        if resident > limit:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return True
        await asyncio.sleep(0.02)
    return False


def _death(code: int | None, err: bytes, limits: Limits) -> str:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"took more than {limits.seconds:g} s of CPU to read"
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if "MemoryError" in tail[0] or "memory allocation" in tail[0] or code == -signal.SIGABRT:
        return f"needs more than {limits.memory_mb} MB of memory to read"
    return f"the reader failed (exit {code}{': ' + tail[0][:120] if tail[0] else ''})"
