"""Copying a whole state into another (`watcher migrate-state`). Backups of a SQLite state are
watcher/state.py's (SQLite's online backup API); PostgreSQL's are its own tools'."""

from __future__ import annotations

from ..errors import StateError
from .database import Database
from .schema import TABLES


def copy_state(source: Database, target: Database, batch: int = 500) -> dict[str, int]:
    """Every row of one state into another, empty one (SQLite into PostgreSQL: `watcher migrate-state`),
    table by table in one transaction. Returns the rows copied per table."""
    if target.conn.execute("SELECT count(*) FROM items").fetchone()[0]:
        raise StateError("the target state already holds notices: give an empty database")
    copied: dict[str, int] = {}
    with target.transaction():
        for table in TABLES:
            cursor = source.conn.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
            copied[table] = 0
            while rows := source.conn.fetch(cursor, batch):
                target.conn.executemany(insert, [tuple(row) for row in rows])
                copied[table] += len(rows)
        target.dialect.continue_sequences(target.conn)  # the events' ids go on after the copied ones
    return copied
