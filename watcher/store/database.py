"""The database: opening SQLite (the only SQLite code) or PostgreSQL (watcher/postgres.py), the one
migration runner with its ledger in the dialect (watcher/dialect.py), transactions, and the line a user
reads for a store error (`explain`).

One file under the state directory, in WAL mode so readers never wait for the daemon. Either database's
errors leave here as a StoreError with the server's message.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from ..clock import due_iso, now_iso
from ..dialect import POSTGRES, SQLITE
from ..errors import StateError, StoreError
from ..models import SourceRow, Validators
from ..state import (
    DB_NAME,
    POSTGRES_ADVICE,
    guard,
    is_database_url,
    mark,
    sqlite_error,
    sqlite_errors,
)
from .schema import MIGRATIONS

__all__ = ["Database", "SQLiteConnection", "connect", "connect_read_only", "due_iso", "explain", "now_iso"]


def explain(exc: StoreError, path: Path | None = None) -> str:
    """A store error as the one line a user needs: a full disk, a read-only state, an unreachable server,
    or damage with the way back. `path`: the SQLite file, whose folder tells a full disk SQLite called an
    I/O error."""
    text = exc.message
    if exc.store == "postgresql":
        return {
            "full": f"the PostgreSQL server's disk is full ({text}): nothing was written",
            "read_only": f"the PostgreSQL state is read-only ({text}): read-only commands still work",
            "unreachable": f"the PostgreSQL state cannot be reached ({_first_line(text)}). {POSTGRES_ADVICE}",
        }.get(exc.failure, f"the PostgreSQL state failed: {_first_line(text)}. {POSTGRES_ADVICE}")
    folder = path.parent if path else None
    if exc.failure == "full" or (folder is not None and _no_room(folder)):
        return f"disk full ({text}): nothing was written; the check will be retried once there is room"
    if exc.failure == "read_only":
        return f"the state is read-only ({text}): read-only commands still work"
    where = f"the database {path}" if path else "the state's database"
    return (
        f"{where} cannot be used: {text}. `watcher state check` says what is wrong; "
        "`watcher state restore` puts the last backup back"
    )


def _first_line(text: str) -> str:
    """psycopg's messages run over lines; the first says what failed (and never holds the password)."""
    return text.strip().splitlines()[0] if text.strip() else text


class SQLiteConnection(sqlite3.Connection):
    """sqlite3's connection whose errors are StoreErrors, as postgres.Connection's are."""

    # try/except written out, not `with sqlite_errors()`: these run for every statement of a check.
    def execute(self, sql: str, params: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(exc) from exc

    def executemany(self, sql: str, rows: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(exc) from exc

    def rows(self, sql: str, params: Any = ()) -> list[Any]:
        """Every row of a query, read now (SQLite reads rows from the file as they are fetched)."""
        try:
            return super().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise sqlite_error(exc) from exc

    def fetch(self, cursor: sqlite3.Cursor, size: int) -> list[Any]:
        """The next rows of a cursor: SQLite reads them from the file now, so they may fail now."""
        with sqlite_errors():
            return cursor.fetchmany(size)


def _no_room(folder: Path) -> bool:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def connect_read_only(path: Path) -> SQLiteConnection:
    """A state on read-only storage (a backup mounted for inspection): read as it is, without the WAL
    files SQLite would create beside it, and without migrations; every write fails."""
    if not path.exists():
        raise StateError(f"the state in {path.parent} is read-only and has no database yet")
    with sqlite_errors():
        conn = sqlite3.connect(
            f"file:{path}?immutable=1", uri=True, check_same_thread=False, factory=SQLiteConnection
        )
    conn.row_factory = sqlite3.Row
    if SQLITE.schema_version(conn) < len(MIGRATIONS):
        raise StateError(f"the state in {path.parent} is read-only and was written by an older watcher")
    return conn


def _read_only_mount(path: Path) -> bool:
    """os.access says yes to root on a read-only mount; statvfs tells."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def connect(path: Path) -> SQLiteConnection:
    """Autocommit mode (we BEGIN ourselves), WAL so readers never wait, rows readable by name."""
    with sqlite_errors():
        conn = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False, factory=SQLiteConnection
        )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA cache_size=-512")  # 512 KiB, not 2 MB: the OS caches the file; same speed measured
    return conn


class Database:
    """An open state: its connection, its dialect, and its transactions."""

    def __init__(self, state: str | Path) -> None:
        """`state`: a directory (one SQLite file in it), or a postgresql:// URL (several daemons may share it)."""
        # Rows read ahead (`hold`) for the checks about to start, taken once each by source_row and validators.
        self.held_rows: dict[str, SourceRow | None] = {}
        self.held_validators: dict[str, Validators | None] = {}
        self.shared = is_database_url(str(state))
        self.dialect = POSTGRES if self.shared else SQLITE
        self.read_only = False
        self.path: Path | None = None
        if self.shared:
            from ..postgres import Connection

            self.conn: Any = Connection(str(state))
            self._migrate()
            return
        path = Path(state)
        path.mkdir(parents=True, exist_ok=True)
        guard(path)
        self.path = path / DB_NAME
        self.read_only = not os.access(path, os.W_OK) or _read_only_mount(path)
        try:
            self.conn = connect_read_only(self.path) if self.read_only else connect(self.path)
            if not self.read_only:
                self._migrate()
        except StoreError as exc:
            raise StateError(explain(exc, self.path)) from exc
        mark(path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        """The migrations not run yet, in one transaction, counted in the dialect's ledger."""
        if self.dialect.schema_current(self.conn, len(MIGRATIONS)):
            return
        with self.transaction():
            version = self.dialect.schema_version(self.conn)
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in self.dialect.ddl(script):
                    self.conn.execute(statement)
                self.dialect.record_version(self.conn, number)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """On SQLite BEGIN IMMEDIATE: a second writer waits (busy timeout) instead of failing mid-way."""
        self.conn.execute(self.dialect.begin)
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def hold(self, rows: Mapping[str, SourceRow | None], urls: Iterable[str]) -> None:
        """Read ahead for the checks about to start, a daemon's claim or a `watcher check` run: each source's
        row (None: not stored yet) and the validators of each list address only one of them checks, handed
        out once each by `source_row` and `validators` (two reads a check saved); the rest is dropped by the
        next hold, which comes before any check that could have changed them starts. A list two sources
        share is read when asked: the first one's check changes what the second must read."""
        self.held_rows = dict(rows)
        counts = Counter(urls)
        single = [url for url, n in counts.items() if n == 1]
        found = self.validators_of(single)
        self.held_validators = {url: found.get(url) for url in single}

    def validators_of(self, urls: list[str]) -> dict[str, Validators]:
        """The validators of many addresses in a few queries."""
        out: dict[str, Validators] = {}
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            q = f"SELECT url, etag, last_modified FROM validators WHERE url IN ({','.join('?' * len(chunk))})"
            out.update((row[0], Validators(row[1], row[2])) for row in self.conn.rows(q, chunk))
        return out

    def _rows(self, sql: str, params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        return (dict(row) for row in self.conn.rows(sql, params or []))

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self._rows(sql, params))
