"""The PostgreSQL connection under the store: the part of the sqlite3 API that store.py uses, over psycopg 3.

store.py writes one dialect: `?` and `:name` parameters, `INSERT … ON CONFLICT`, `BEGIN IMMEDIATE`,
SQLite's types in its migrations. Here they become `%s` and `%(name)s`, `BEGIN`, BIGSERIAL and BYTEA;
everything else store.py writes is the same in both. Rows read by position and by name, as sqlite3.Row;
any PostgreSQL error is raised as `PostgresError`, a sqlite3.DatabaseError, so the one `except` each caller
has for a failing store covers both. psycopg is imported only when a state is a PostgreSQL URL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import RowMaker


class PostgresError(sqlite3.DatabaseError):
    """An error from PostgreSQL (the message is PostgreSQL's)."""


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


_PARAM = re.compile(r"\?|(?<!:):([a-z_]+)")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite's parameters and words in PostgreSQL's."""
    sql = sql.replace("%", "%%").replace("BEGIN IMMEDIATE", "BEGIN")
    return _PARAM.sub(lambda m: f"%({m[1]})s" if m[1] else "%s", sql)


def translate_ddl(statement: str) -> str:
    """A migration statement in PostgreSQL's types: SQLite's integers are 64-bit, its rowid key a
    sequence, its blobs bytea."""
    statement = statement.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
    return statement.replace(" INTEGER", " BIGINT").replace(" BLOB", " BYTEA")


class Connection:
    """Autocommit, like store.py's SQLite connection: transactions are its own BEGIN and COMMIT."""

    def __init__(self, dsn: str) -> None:
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, row_factory=_rows, connect_timeout=10)
        except psycopg.Error as exc:
            raise PostgresError(f"cannot connect to PostgreSQL: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        try:
            return self._conn.execute(translate(sql), params or None)
        except psycopg.Error as exc:
            raise PostgresError(str(exc).strip()) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        rows = list(rows)
        cursor = self._conn.cursor()
        if rows:
            try:
                cursor.executemany(translate(sql), rows)
            except psycopg.Error as exc:
                raise PostgresError(str(exc).strip()) from exc
        return cursor

    def close(self) -> None:
        self._conn.close()
