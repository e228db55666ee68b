"""The state directory's safety: one writer at a time, a marker that notices a lost database, online
backups and restores, an integrity check.

watcher.lock     held (flock) by the one process that writes: `run`, `check`, `send`, `state restore`;
                 it holds the holder's pid, command and start, so a second one can say who has the state
watcher.state    written beside the database once it exists: a state whose database is then missing or
                 empty lost it, and refuses to start fresh silently (it would alert every recent notice
                 again)
backups/         online copies (SQLite's backup API, consistent while the daemon writes), the last 7
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .clock import Clock, system_clock
from .errors import StateError, StoreError, StoreFailure
from .models import BEIJING

DB_NAME = "watcher.db"
LOCK_NAME = "watcher.lock"
MARKER_NAME = "watcher.state"
BACKUPS = "backups"
KEEP_BACKUPS = 7


# SQLite's primary result codes as the failures a user is told about (extended codes end in _SUFFIX).
_SQLITE_FAILURES: dict[str, StoreFailure] = {"SQLITE_FULL": "full", "SQLITE_READONLY": "read_only",
                                             "SQLITE_CORRUPT": "damaged", "SQLITE_NOTADB": "damaged",
                                             "SQLITE_CANTOPEN": "unreachable"}  # fmt: skip


def sqlite_error(exc: sqlite3.Error) -> StoreError:
    """An sqlite3 error as the store's error: SQLite's message, its kind read from the result code."""
    code = "_".join((getattr(exc, "sqlite_errorname", None) or "").split("_")[:2])
    return StoreError(str(exc), _SQLITE_FAILURES.get(code, "failed"))


@contextlib.contextmanager
def sqlite_errors() -> Iterator[None]:
    """sqlite3's errors in the block raised as StoreErrors (the store's, backups' and restores')."""
    try:
        yield
    except StoreError:
        raise
    except sqlite3.DatabaseError as exc:
        raise sqlite_error(exc) from exc


def is_database_url(state: str) -> bool:
    """A PostgreSQL state (several daemons share it), not a directory."""
    return state.startswith(("postgresql://", "postgres://"))


def describe(state: str) -> str:
    """The state as logs may show it: a database URL without its password."""
    if not is_database_url(state):
        return state
    scheme, _, rest = state.partition("://")
    credentials, at, place = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}@{place}" if at else state


POSTGRES_ADVICE = (
    "Is the server running and reachable, and are the address, user and password in settings.state (or "
    "WATCHER_STATE) right? Its backups are PostgreSQL's own (pg_dump, pg_restore)"
)


@contextlib.contextmanager
def writer(
    state_dir: str | Path,
    command: str,
    wait: float = 600.0,
    waiting: Callable[[str], None] | None = None,
    clock: Clock = system_clock,
) -> Iterator[None]:
    """Hold the state's write lock for the block. A second `check` or `send` waits up to `wait` seconds
    for the first (told through `waiting`); the daemon is not waited for: it never finishes. A PostgreSQL
    state has no lock: its writers claim each source and alert in the database itself."""
    if is_database_url(str(state_dir)):
        yield
        return
    path = Path(state_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(
            f"the state in {path} is read-only ({exc.strerror}) for uid {os.getuid()}: `watcher {command}` "
            "cannot write there (a container's state volume must be writable by its user); "
            "read-only commands (items, alerts, sources, search, serve, check --dry-run) still work"
        ) from exc
    try:
        _acquire(fd, path, command, wait, waiting)
        os.ftruncate(fd, 0)
        since = clock().isoformat(timespec="seconds")
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command, "since": since}).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock, even after kill -9


def _acquire(fd: int, path: Path, command: str, wait: float, waiting: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _describe(fd)
            if "watcher run" in holder or time.monotonic() >= deadline:
                raise StateError(
                    f"the state in {path} is held by {holder}; `watcher {command}` would write beside it. "
                    "Stop that process or wait for it; read-only commands work meanwhile"
                ) from None
            if waiting and not told:
                waiting(f"waiting for {holder} to finish with the state in {path}")
                told = True
            time.sleep(0.1)


def daemon_holding(state: str | Path) -> str | None:
    """The `watcher run` that holds a SQLite state's lock (as `_describe` names it), or None."""
    if is_database_url(str(state)):
        return None
    try:
        fd = os.open(Path(state) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None  # no lock file: nobody ever wrote here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None  # free: nobody holds it
    except BlockingIOError:
        holder = _describe(fd)
        return holder if "watcher run" in holder else None
    finally:
        os.close(fd)


def _describe(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return "another watcher process"
    return f"`watcher {holder.get('command', '?')}` (pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"


# ---------------------------------------------------------------- the marker


def guard(state_dir: Path) -> None:
    """Refuse a state whose database went missing or empty after it had one."""
    db, marker = state_dir / DB_NAME, state_dir / MARKER_NAME
    if marker.exists() and (not db.exists() or db.stat().st_size == 0):
        raise StateError(
            f"the state in {state_dir} lost its database ({DB_NAME} is {'empty' if db.exists() else 'missing'}): "
            "restore a backup with `watcher state restore`, or start over with `watcher --fresh …` "
            "(every recent notice would be alerted again)"
        )


def mark(state_dir: Path) -> None:
    marker = state_dir / MARKER_NAME
    if not marker.exists():
        with contextlib.suppress(OSError):  # a read-only state is read, never marked
            marker.write_text(json.dumps({"created": _stamp()}) + "\n", "utf-8")


def start_over(state_dir: Path) -> Path | None:
    """`--fresh`: the old database (if any) is kept aside, the marker removed; returns where it went."""
    db = state_dir / DB_NAME
    aside = None
    if db.exists():
        aside = db.with_name(f"{DB_NAME}.lost-{_stamp()}")
        db.rename(aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (state_dir / f"{DB_NAME}{suffix}").unlink()
    with contextlib.suppress(FileNotFoundError):
        (state_dir / MARKER_NAME).unlink()
    return aside


# ---------------------------------------------------------------- backups, restore, check


def backup(state_dir: Path, clock: Clock = system_clock, keep: int = KEEP_BACKUPS) -> Path:
    """An online copy through SQLite's backup API, consistent while others write; the last `keep` stay.
    Named for when it was taken by `clock`, so that names sort by age and say it (see `taken_at`)."""
    folder = state_dir / BACKUPS
    folder.mkdir(exist_ok=True)
    target = folder / f"watcher-{_stamp(clock)}.db"
    partial = target.with_suffix(".db.part")
    with sqlite_errors():
        src, copy = sqlite3.connect(state_dir / DB_NAME), sqlite3.connect(partial)
        try:
            src.backup(copy)
        finally:
            src.close()
            copy.close()
    partial.rename(target)  # a crash mid-copy leaves a .part, never a backup that looks whole
    for old in backups(state_dir)[:-keep]:
        old.unlink()
    return target


def backups(state_dir: Path) -> list[Path]:
    return sorted((state_dir / BACKUPS).glob("watcher-*.db"))


def restore(state_dir: Path, source: Path | None = None) -> Path:
    """Put a backup (the newest by default) in place of the database; call under the write lock."""
    found = backups(state_dir)
    chosen = source or (found[-1] if found else None)
    if chosen is None or not chosen.exists():
        raise StateError(f"no backup to restore in {state_dir / BACKUPS}")
    problems = integrity(chosen)
    if problems:
        raise StateError(f"the backup {chosen} is damaged too: {problems[0]}")
    db = state_dir / DB_NAME
    if db.exists() and db.stat().st_size:
        db.rename(db.with_name(f"{DB_NAME}.replaced-{_stamp()}"))
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / f"{DB_NAME}{suffix}").unlink()
    with sqlite_errors():
        src = sqlite3.connect(f"file:{chosen}?mode=ro", uri=True)
        dst = sqlite3.connect(db)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    mark(state_dir)
    return chosen


def integrity(db: Path) -> list[str]:
    """What SQLite's integrity check finds wrong with a database file; [] when it is sound."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


_STAMP = "%Y%m%d-%H%M%S-%f"


def _stamp(clock: Clock = system_clock) -> str:
    return clock().astimezone(BEIJING).strftime(_STAMP)


def taken_at(backup: Path) -> dt.datetime | None:
    """When a backup was taken, from its name (a file's mtime is the system's time, not watcher's clock)."""
    try:
        return dt.datetime.strptime(backup.stem.removeprefix("watcher-"), _STAMP).replace(tzinfo=BEIJING)
    except ValueError:
        return None
