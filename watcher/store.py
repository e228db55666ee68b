"""The only SQLite code: migrations, sources' health, items, versions, evidence and the alert outbox.

One file under the state directory, in WAL mode so readers never wait for the daemon. Everything a
source check learns is written in ONE transaction (`save_check`), pending alerts included: a crash
leaves either all of it or none of it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from .models import BEIJING, Validators

DB_NAME = "watcher.db"

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY, url TEXT, last_check TEXT, last_success TEXT, status TEXT,
        error TEXT, failures INTEGER DEFAULT 0, next_due TEXT, item_count INTEGER DEFAULT 0
    );
    CREATE TABLE validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
    CREATE TABLE items (
        key TEXT PRIMARY KEY, source TEXT, url TEXT, title TEXT, date TEXT, tag TEXT,
        fingerprint TEXT, version_id TEXT, on_list INTEGER DEFAULT 0, first_seen TEXT, last_seen TEXT,
        removed_at TEXT, group_key TEXT
    );
    CREATE INDEX items_source ON items(source);
    CREATE TABLE versions (
        id TEXT PRIMARY KEY, item_key TEXT, fingerprint TEXT, seen_at TEXT, change TEXT, what TEXT,
        diff TEXT, title TEXT, url TEXT, date TEXT, publisher TEXT, tag TEXT, deadline TEXT,
        doc_number TEXT, attachments TEXT, related TEXT, text TEXT, search TEXT, classification TEXT
    );
    CREATE INDEX versions_item ON versions(item_key, seen_at);
    CREATE TABLE evidence (version_id TEXT PRIMARY KEY, url TEXT, encoding TEXT, html BLOB);
    CREATE TABLE events (id INTEGER PRIMARY KEY, source TEXT, at TEXT, kind TEXT, message TEXT);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY, subscriber TEXT, channel TEXT, version_id TEXT, item_key TEXT,
        reason TEXT, status TEXT DEFAULT 'pending', attempts INTEGER DEFAULT 0, next_try TEXT,
        created TEXT, sent_at TEXT, last_error TEXT, payload TEXT, due TEXT
    );
    CREATE INDEX alerts_status ON alerts(status, next_try);
    """,
    # 2: the sender looks pending alerts up by due time
    """
    CREATE INDEX alerts_due ON alerts(status, due);
    """,
]


def now_iso(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(BEIJING)).astimezone(BEIJING).isoformat(timespec="seconds")


@dataclass
class VersionRow:
    id: str
    item_key: str
    fingerprint: str
    seen_at: str
    change: str  # new | changed
    what: list[str]
    diff: str
    title: str
    url: str
    date: str | None
    publisher: str | None
    tag: str | None
    deadline: str | None
    doc_number: str | None
    attachments: list[dict[str, str]]
    related: list[dict[str, Any]]
    text: str
    search: str
    classification: dict[str, Any] | None = None


@dataclass
class CheckRecord:
    """Everything one source check writes, in one transaction."""

    source: str
    url: str
    status: str
    error: str | None = None
    at: str = field(default_factory=now_iso)
    next_due: str | None = None
    item_count: int | None = None
    validators: dict[str, Validators] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    evidence: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # version, url, encoding, body
    removed: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # kind, message
    alerts: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self, state_dir: str | Path) -> None:
        path = Path(state_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / DB_NAME
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self._migrate()

    def close(self) -> None:
        self.db.conn.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: a second writer waits (busy timeout) instead of failing mid-way."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -------------------------------------------------------------- reads

    def validators(self, url: str) -> Validators | None:
        row = self.db.execute("SELECT etag, last_modified FROM validators WHERE url=?", [url]).fetchone()
        return Validators(row[0], row[1]) if row else None

    def source_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM sources WHERE name=?", [name]))
        return rows[0] if rows else None

    def sources(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM sources ORDER BY name"))

    def item(self, key: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM items WHERE key=?", [key]))
        return rows[0] if rows else None

    def items_on_list(self, source: str) -> dict[str, dict[str, Any]]:
        q = "SELECT * FROM items WHERE source=? AND on_list=1 AND removed_at IS NULL"
        return {row["key"]: row for row in self.db.query(q, [source])}

    def version(self, version_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM versions WHERE id=?", [version_id]))
        return decode_version(rows[0]) if rows else None

    def versions_of(self, key: str) -> list[dict[str, Any]]:
        q = "SELECT * FROM versions WHERE item_key=? ORDER BY seen_at, rowid"
        return [decode_version(row) for row in self.db.query(q, [key])]

    def evidence(self, version_id: str) -> bytes | None:
        row = self.db.execute("SELECT html FROM evidence WHERE version_id=?", [version_id]).fetchone()
        return zlib.decompress(row[0]) if row else None

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params or []))

    # -------------------------------------------------------------- the one write of a check

    def save_check(self, rec: CheckRecord) -> None:
        with self.transaction():
            self._save_source(rec)
            for url, v in rec.validators.items():
                self.db.table("validators").upsert(
                    {"url": url, "etag": v.etag, "last_modified": v.last_modified}, pk="url"
                )
            for item in rec.items:
                self._upsert_item(item, rec.at)
            for row in rec.versions:
                values = asdict(row)
                for key in ("what", "attachments", "related", "classification"):
                    values[key] = json.dumps(values[key], ensure_ascii=False)
                self.db.table("versions").insert(values, pk="id", replace=True)
            for version_id, url, encoding, body in rec.evidence:
                blob = zlib.compress(body, 6)
                self.db.table("evidence").insert(
                    {"version_id": version_id, "url": url, "encoding": encoding, "html": blob},
                    pk="version_id",
                    replace=True,
                )
            for key in rec.removed:
                self.db.execute("UPDATE items SET removed_at=?, on_list=0 WHERE key=?", [rec.at, key])
            for kind, message in rec.events:
                self.db.table("events").insert(
                    {"source": rec.source, "at": rec.at, "kind": kind, "message": message}
                )
            for alert in rec.alerts:
                self.db.table("alerts").insert(alert, pk="id", ignore=True)  # deterministic id: never twice

    def _save_source(self, rec: CheckRecord) -> None:
        old = self.source_row(rec.source) or {}
        ok = rec.status in ("ok", "not_modified")
        row = {
            "name": rec.source,
            "url": rec.url,
            "last_check": rec.at,
            "last_success": rec.at if ok else old.get("last_success"),
            "status": rec.status,
            "error": rec.error,
            "failures": 0 if ok else (old.get("failures") or 0) + 1,
            "next_due": rec.next_due,
            "item_count": rec.item_count if rec.item_count is not None else old.get("item_count", 0),
        }
        self.db.table("sources").upsert(row, pk="name")

    def _upsert_item(self, item: dict[str, Any], at: str) -> None:
        existing = self.item(item["key"])
        row = dict(item, last_seen=at)
        if existing is None:
            row.setdefault("first_seen", at)
            self.db.table("items").insert(row, pk="key")
        else:
            if existing.get("on_list") and not item.get("on_list"):
                row.pop("on_list", None)  # a related-notice sighting does not take it off its list
            row["removed_at"] = None
            self.db.table("items").update(item["key"], row)

    # -------------------------------------------------------------- the alert outbox
    # Rows are written pending (with the change they describe, or by the reminder job), then marked.

    def add_alerts(self, rows: list[dict[str, Any]]) -> int:
        """Insert alerts whose id is not there yet; returns how many were new."""
        with self.transaction():
            before = self.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
            self.db.table("alerts").insert_all(rows, pk="id", ignore=True)
            return int(self.db.execute("SELECT count(*) FROM alerts").fetchone()[0] - before)

    def due_alerts(self, now: str) -> list[tuple[str, str, str, str]]:
        """(id, subscriber, channel, created) of pending alerts due now, oldest first."""
        q = """SELECT id, subscriber, channel, created FROM alerts WHERE status='pending' AND due<=?
               AND (next_try IS NULL OR next_try<=?) ORDER BY created, id"""
        return [tuple(row) for row in self.db.execute(q, [now, now]).fetchall()]

    def alert_payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, payload FROM alerts WHERE id IN ({marks})", ids).fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    def mark_sent(self, ids: list[str], at: str) -> None:
        self._update(ids, "status='sent', sent_at=?, attempts=attempts+1, last_error=NULL", [at])

    def mark_retry(self, ids: list[str], next_try: str, error: str) -> None:
        self._update(ids, "attempts=attempts+1, next_try=?, last_error=?", [next_try, error])

    def mark_failed(self, ids: list[str], error: str) -> None:
        self._update(ids, "status='failed', attempts=attempts+1, last_error=?", [error])

    def _update(self, ids: list[str], assignments: str, params: list[Any]) -> None:
        with self.transaction():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"UPDATE alerts SET {assignments} WHERE id IN ({marks})", [*params, *chunk])

    def alerts(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, params = ("WHERE status=?", [status]) if status else ("", [])
        q = f"SELECT * FROM alerts {where} ORDER BY created DESC, id LIMIT ?"
        return list(self.db.query(q, [*params, limit]))

    def alert_counts(self) -> dict[str, int]:
        return {
            row[0]: row[1] for row in self.db.execute("SELECT status, count(*) FROM alerts GROUP BY status")
        }

    def deadlines_between(self, first: str, last: str) -> list[dict[str, Any]]:
        """Current versions of items whose deadline falls in [first, last], with their source and first sight."""
        q = """SELECT v.*, i.source AS source, i.first_seen AS first_seen FROM items i
               JOIN versions v ON v.id = i.version_id
               WHERE v.deadline BETWEEN ? AND ? AND v.classification IS NOT NULL"""
        return [decode_version(row) for row in self.db.query(q, [first, last])]


def decode_version(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("what", "attachments", "related", "classification"):
        if out.get(key):
            out[key] = json.loads(out[key])
    return out
