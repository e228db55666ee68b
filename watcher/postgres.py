"""The PostgreSQL connection under the store: the part of the sqlite3 API that watcher/store/ uses, over psycopg 3.

Statements arrive in the store's SQL and go out through the PostgreSQL dialect's placeholders
(watcher/dialect.py); rows read by position and by name, as sqlite3.Row; any PostgreSQL error is raised
as a StoreError carrying PostgreSQL's message. psycopg is imported only when a state is a PostgreSQL URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker

from .dialect import POSTGRES
from .errors import StoreError, StoreFailure


class Row(tuple[Any, ...]):
    """A row readable by position and by column name, as sqlite3.Row is; dict(row) gives the mapping."""

    names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self.names

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)


def _rows(cursor: Any) -> RowMaker[Row]:
    names = tuple(c.name for c in cursor.description or ())

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


# SQLSTATE classes and codes (PostgreSQL's appendix A) as the failures a user is told about.
_FAILURES: dict[str, StoreFailure] = {"53100": "full", "25006": "read_only", "XX001": "damaged",
                                      "XX002": "damaged", "08": "unreachable", "57P": "unreachable"}  # fmt: skip


def store_error(exc: psycopg.Error, prefix: str = "") -> StoreError:
    """A psycopg error as the store's error: PostgreSQL's message, its kind read from the SQLSTATE."""
    code = exc.sqlstate or ""
    failure = _FAILURES.get(code) or _FAILURES.get(code[:3]) or _FAILURES.get(code[:2])
    if failure is None and isinstance(exc, psycopg.OperationalError) and not code:
        failure = "unreachable"  # no answer from a server at all: refused, timed out, name unknown
    return StoreError(prefix + str(exc).strip(), failure or "failed", store="postgresql")


@contextmanager
def _errors(prefix: str = "") -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise store_error(exc, prefix) from exc


class Connection:
    """Autocommit, like the store's SQLite connection: transactions are its own BEGIN and COMMIT."""

    def __init__(self, dsn: str) -> None:
        with _errors("cannot connect to PostgreSQL: "):
            self._conn = psycopg.connect(dsn, autocommit=True, row_factory=_rows, connect_timeout=10)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        with _errors():
            return self._conn.execute(POSTGRES.sql(sql), params or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        rows = list(rows)
        cursor = self._conn.cursor()
        if rows:
            with _errors():
                cursor.executemany(POSTGRES.sql(sql), rows)
        return cursor

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def fetch(self, cursor: Any, size: int) -> list[Any]:
        """The next rows of a cursor (psycopg's client-side cursor holds them already)."""
        with _errors():
            return list(cursor.fetchmany(size))

    def close(self) -> None:
        self._conn.close()
