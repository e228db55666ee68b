"""The store: migrations, sources' health, items, versions, evidence and the alert outbox, on SQLite (the
only SQLite code) or PostgreSQL (watcher/postgres.py), the SQL that differs asked of watcher/dialect.py.

One file under the state directory, in WAL mode so readers never wait for the daemon. Everything a
source check learns is written in one transaction (`save_checks`, which may carry a few whole checks),
pending alerts included: a crash leaves either all of it or none of it. Either database's errors leave
here as a StoreError with the server's message; `explain` turns one into the line a user reads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from .dialect import POSTGRES, SQLITE
from .errors import Outcome, StateError, StoreError, succeeded
from .models import BEIJING, Validators
from .state import (
    DB_NAME,
    POSTGRES_ADVICE,
    guard,
    is_database_url,
    mark,
    sqlite_error,
    sqlite_errors,
)

try:  # ISA-L writes the same zlib format 4-5x faster (28 against 122-150 us for a 30 KB page, 0.40 ratio)
    from isal.isal_zlib import compress
except ImportError:  # no wheel for this machine: the standard library's, same format
    from zlib import compress


MIGRATIONS: list[str] = [  # {serial}, {integer}, {blob}: each dialect's types (watcher/dialect.py)
    # 1: the first schema
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY, url TEXT, last_check TEXT, last_success TEXT, status TEXT,
        error TEXT, failures {integer} DEFAULT 0, next_due TEXT, item_count {integer} DEFAULT 0
    );
    CREATE TABLE validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
    CREATE TABLE items (
        key TEXT PRIMARY KEY, source TEXT, url TEXT, title TEXT, date TEXT, tag TEXT,
        fingerprint TEXT, version_id TEXT, on_list {integer} DEFAULT 0, first_seen TEXT, last_seen TEXT,
        removed_at TEXT, group_key TEXT
    );
    CREATE INDEX items_source ON items(source);
    CREATE TABLE versions (
        id TEXT PRIMARY KEY, item_key TEXT, fingerprint TEXT, seen_at TEXT, change TEXT, what TEXT,
        diff TEXT, title TEXT, url TEXT, date TEXT, publisher TEXT, tag TEXT, deadline TEXT,
        doc_number TEXT, attachments TEXT, related TEXT, text TEXT, search TEXT, classification TEXT
    );
    CREATE INDEX versions_item ON versions(item_key, seen_at);
    CREATE TABLE evidence (version_id TEXT PRIMARY KEY, url TEXT, encoding TEXT, html {blob});
    CREATE TABLE events (id {serial}, source TEXT, at TEXT, kind TEXT, message TEXT);
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY, subscriber TEXT, channel TEXT, version_id TEXT, item_key TEXT,
        reason TEXT, status TEXT DEFAULT 'pending', attempts {integer} DEFAULT 0, next_try TEXT,
        created TEXT, sent_at TEXT, last_error TEXT, payload TEXT, due TEXT
    );
    CREATE INDEX alerts_status ON alerts(status, next_try);
    """,
    # 2: the sender looks pending alerts up by due time
    """
    CREATE INDEX alerts_due ON alerts(status, due);
    """,
    # 3: the CSS path of the region each list source was read from, to spot a layout change
    """
    ALTER TABLE sources ADD COLUMN region TEXT;
    """,
    # 4: a sender claims each alert before it sends it
    """
    ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
    """,
    # 5: attachments read: each file once by its SHA-256 (bytes compressed, text), the last read of each
    # address, and where a version's deadline was found
    """
    CREATE TABLE attachment_files (
        sha TEXT PRIMARY KEY, kind TEXT, size {integer}, pages {integer}, text TEXT, error TEXT, data {blob}
    );
    CREATE TABLE attachment_urls (url TEXT PRIMARY KEY, sha TEXT, error TEXT, checked_at TEXT);
    ALTER TABLE versions ADD COLUMN deadline_from TEXT;
    """,
    # 6: the schedule lives here: the daemon's dispatcher takes due sources by next_due, oldest first, and
    # marks each as taken (claimed_by, next_due pushed out as a lease) until its check writes
    """
    ALTER TABLE sources ADD COLUMN claimed_by TEXT;
    CREATE INDEX sources_due ON sources(next_due);
    """,
    # 7: when a sender claimed an alert: on a shared database a claim older than CLAIM_LEASE is a dead
    # daemon's, given back
    """
    ALTER TABLE alerts ADD COLUMN claimed_at TEXT;
    """,
    # 8: the order versions were written in, which PostgreSQL has no rowid to tell
    """
    ALTER TABLE versions ADD COLUMN seq {integer};
    """,
    # 9: the cookies a solved anti-bot challenge set, per host (a JSON list), and when the first of them
    # expires (NULL: none says): the plain fetcher sends them until the site refuses them
    """
    CREATE TABLE host_cookies (host TEXT PRIMARY KEY, cookies TEXT, expires TEXT, saved_at TEXT);
    """,
    # 10: steering: a paused source is passed over by the dispatcher (`watcher sources pause`); the interval
    # (whole seconds) its due time was set with, so that a changed interval moves the due time on reload
    """
    ALTER TABLE sources ADD COLUMN paused_at TEXT;
    ALTER TABLE sources ADD COLUMN interval_s {integer};
    """,
]

CLAIM_LEASE = 120.0  # seconds a sender may hold an alert it is delivering (one message) before others may


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


def now_iso(now: dt.datetime) -> str:
    return now.astimezone(BEIJING).isoformat(timespec="seconds")


def due_iso(when: dt.datetime) -> str:
    """A due time, to the millisecond (a source every 2 s is not rounded to whole seconds). It sorts with
    `now_iso` values as the times they are: same zone, and '+' sorts before '.'."""
    return when.astimezone(BEIJING).isoformat(timespec="milliseconds")


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
    deadline_from: str | None = None  # 附件1 when the deadline was read in an attachment
    seq: int = field(default_factory=lambda: time.time_ns() // 1000)  # write order, in microseconds


@dataclass(frozen=True)
class AttachmentFile:
    """One attachment's bytes and what was read from them; stored once per content."""

    sha: str
    kind: str | None
    size: int
    pages: int | None
    text: str
    error: str | None
    data: bytes


@dataclass(frozen=True)
class AttachmentSighting:
    """The last read of one attachment address: its content then, or why it could not be had."""

    url: str
    sha: str | None
    error: str | None
    checked_at: str


@dataclass
class CheckRecord:
    """Everything one source check writes, in one transaction."""

    source: str
    url: str
    status: Outcome
    at: str  # when the check ran, by the checker's clock
    error: str | None = None
    next_due: str | None = None
    item_count: int | None = None
    region: str | None = None  # where the list was read from (kept when None)
    validators: dict[str, Validators] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    evidence: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # version, url, encoding, body
    removed: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # kind, message
    alerts: list[dict[str, Any]] = field(default_factory=list)
    files: list[AttachmentFile] = field(default_factory=list)
    sightings: list[AttachmentSighting] = field(default_factory=list)


class Store:
    def __init__(self, state: str | Path) -> None:
        """`state`: a directory (one SQLite file in it), or a postgresql:// URL (several daemons may share it)."""
        self.shared = is_database_url(str(state))
        self.dialect = POSTGRES if self.shared else SQLITE
        self.read_only = False
        self.path: Path | None = None
        if self.shared:
            from .postgres import Connection

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

    def __enter__(self) -> Store:
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

    # -------------------------------------------------------------- reads

    def _rows(self, sql: str, params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        return (dict(row) for row in self.conn.rows(sql, params or []))

    def validators(self, url: str) -> Validators | None:
        row = self.conn.execute("SELECT etag, last_modified FROM validators WHERE url=?", [url]).fetchone()
        return Validators(row[0], row[1]) if row else None

    def source_row(self, name: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM sources WHERE name=?", [name]))
        return rows[0] if rows else None

    def sources(self) -> list[dict[str, Any]]:
        return list(self._rows("SELECT * FROM sources ORDER BY name"))

    def item(self, key: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM items WHERE key=?", [key]))
        return rows[0] if rows else None

    def items_on_list(self, source: str) -> dict[str, dict[str, Any]]:
        q = "SELECT * FROM items WHERE source=? AND on_list=1 AND removed_at IS NULL"
        return {row["key"]: row for row in self._rows(q, [source])}

    def version(self, version_id: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM versions WHERE id=?", [version_id]))
        return decode_version(rows[0]) if rows else None

    def versions_of(self, key: str) -> list[dict[str, Any]]:
        q = f"SELECT * FROM versions WHERE item_key=? ORDER BY {self.dialect.write_order}"
        return [decode_version(row) for row in self._rows(q, [key])]

    def evidence(self, version_id: str) -> bytes | None:
        row = self.conn.execute("SELECT html FROM evidence WHERE version_id=?", [version_id]).fetchone()
        return zlib.decompress(row[0]) if row else None

    def sightings(self, urls: list[str]) -> dict[str, dict[str, Any]]:
        """The last read of each of these attachment addresses, with what was read then (not the bytes)."""
        if not urls:
            return {}
        marks = ",".join("?" * len(urls))
        q = f"""SELECT u.url, u.sha, u.checked_at, coalesce(u.error, f.error) AS error, f.kind, f.size,
                       f.pages, f.text
                FROM attachment_urls u LEFT JOIN attachment_files f ON f.sha = u.sha WHERE u.url IN ({marks})"""
        return {row["url"]: row for row in self._rows(q, urls)}

    def attachment_urls_of(self, key: str) -> list[str]:
        """The attachment addresses of an item's current version (one column, not the whole version)."""
        q = "SELECT v.attachments FROM items i JOIN versions v ON v.id = i.version_id WHERE i.key=?"
        row = self.conn.execute(q, [key]).fetchone()
        return [a["url"] for a in json.loads(row[0])] if row and row[0] else []

    def attachment_file(self, sha: str, with_data: bool = True) -> dict[str, Any] | None:
        """One stored attachment: what was read from it and (`with_data`) its bytes."""
        columns = "*" if with_data else "sha, kind, size, pages, text, error"
        rows = list(self._rows(f"SELECT {columns} FROM attachment_files WHERE sha=?", [sha]))
        if not rows:
            return None
        row = rows[0]
        if with_data:
            row["data"] = zlib.decompress(row["data"]) if row["data"] is not None else None
        return row

    def attachment_texts(self, shas: list[str]) -> dict[str, str]:
        if not shas:
            return {}
        marks = ",".join("?" * len(shas))
        q = f"SELECT sha, text FROM attachment_files WHERE sha IN ({marks})"
        return {row[0]: row[1] or "" for row in self.conn.rows(q, shas)}

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self._rows(sql, params))

    # -------------------------------------------------------------- the one write of a check

    def save_check(self, rec: CheckRecord) -> None:
        self.save_checks([rec])

    def save_checks(self, recs: list[CheckRecord]) -> None:
        """Whole checks in one transaction (a group commit): each check is all written or not at all."""
        with self.transaction():
            for rec in recs:
                self._write_check(rec)

    def _write_check(self, rec: CheckRecord) -> None:
        # Plain parameterised SQL here: sqlite-utils' insert/upsert introspected the table on every call,
        # which was a third of a cold check's CPU.
        execute, executemany = self.conn.execute, self.conn.executemany
        self._save_source(rec)
        executemany(
            "INSERT INTO validators (url, etag, last_modified) VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE "
            "SET etag=excluded.etag, last_modified=excluded.last_modified",
            [(url, v.etag, v.last_modified) for url, v in rec.validators.items()],
        )
        for item in rec.items:
            self._upsert_item(item, rec.at)
        executemany(_INSERT_VERSION, [_version_values(row) for row in rec.versions])
        executemany(  # level 1: evidence is written for every version and read rarely
            "INSERT INTO evidence (version_id, url, encoding, html) VALUES (?, ?, ?, ?) ON CONFLICT (version_id) "
            "DO UPDATE SET url=excluded.url, encoding=excluded.encoding, html=excluded.html",
            [(vid, url, enc, compress(body, 1)) for vid, url, enc, body in rec.evidence],
        )
        executemany(  # content-addressed: a file two notices share, or a version reverted to, is kept once
            "INSERT INTO attachment_files (sha, kind, size, pages, text, error, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (sha) DO NOTHING",
            [(f.sha, f.kind, f.size, f.pages, f.text, f.error, compress(f.data, 1)) for f in rec.files],
        )
        executemany(
            "INSERT INTO attachment_urls (url, sha, error, checked_at) VALUES (?, ?, ?, ?) ON CONFLICT (url) "
            "DO UPDATE SET sha=excluded.sha, error=excluded.error, checked_at=excluded.checked_at",
            [(s.url, s.sha, s.error, s.checked_at) for s in rec.sightings],
        )
        for key in rec.removed:
            execute("UPDATE items SET removed_at=?, on_list=0 WHERE key=?", [rec.at, key])
        executemany(
            "INSERT INTO events (source, at, kind, message) VALUES (?, ?, ?, ?)",
            [(rec.source, rec.at, kind, message) for kind, message in rec.events],
        )
        self._insert_alerts(rec.alerts)  # deterministic ids: never twice

    def _save_source(self, rec: CheckRecord) -> None:
        ok = succeeded(rec.status)
        self.conn.execute(
            """INSERT INTO sources (name, url, last_check, last_success, status, error, failures, next_due,
                                    item_count, region)
               VALUES (:name, :url, :at, CASE WHEN :ok THEN :at END, :status, :error, CASE WHEN :ok THEN 0 ELSE 1 END,
                       :next_due, coalesce(:item_count, 0), :region)
               ON CONFLICT(name) DO UPDATE SET url=excluded.url, last_check=excluded.last_check, claimed_by=NULL,
                   last_success=CASE WHEN :ok THEN :at ELSE sources.last_success END,
                   status=excluded.status, error=excluded.error,
                   failures=CASE WHEN :ok THEN 0 ELSE coalesce(sources.failures, 0) + 1 END,
                   next_due=excluded.next_due, item_count=coalesce(:item_count, sources.item_count),
                   region=coalesce(:region, sources.region)""",
            {"name": rec.source, "url": rec.url, "at": rec.at, "ok": ok, "status": str(rec.status), "error": rec.error,
             "next_due": rec.next_due, "item_count": rec.item_count, "region": rec.region},
        )  # fmt: skip

    def _upsert_item(self, item: dict[str, Any], at: str) -> None:
        """Insert, or update the given columns; a related-notice sighting (on_list 0) never takes an item
        off its list, and a sighting clears `removed_at`."""
        columns = tuple(c for c in item if c != "first_seen")
        values = [item[c] for c in columns]
        self.conn.execute(_upsert_item_sql(columns), [*values, at, item.get("first_seen", at)])

    def _insert_alerts(self, rows: list[dict[str, Any]]) -> int:
        """Alerts whose id is not there yet; returns how many were new."""
        if not rows:
            return 0
        cursor = self.conn.executemany(
            f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(ALERT_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING",
            [tuple(row.get(c) for c in ALERT_COLUMNS) for row in rows],
        )
        return int(cursor.rowcount)

    # -------------------------------------------------------------- a solved challenge's cookies

    def host_cookies(self, host: str, now: str) -> tuple[list[dict[str, Any]], str | None]:
        """The cookies kept for a host and when they expire; none once the first of them has expired."""
        row = self.conn.execute(
            "SELECT cookies, expires FROM host_cookies WHERE host=? AND (expires IS NULL OR expires > ?)",
            [host, now],
        ).fetchone()
        return (json.loads(row[0]), row[1]) if row else ([], None)

    def keep_host_cookies(
        self, host: str, cookies: list[dict[str, Any]], expires: str | None, at: str
    ) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO host_cookies (host, cookies, expires, saved_at) VALUES (?, ?, ?, ?) ON CONFLICT (host) "
                "DO UPDATE SET cookies=excluded.cookies, expires=excluded.expires, saved_at=excluded.saved_at",
                [host, json.dumps(cookies, ensure_ascii=False), expires, at],
            )

    def forget_host_cookies(self, host: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM host_cookies WHERE host=?", [host])

    # -------------------------------------------------------------- the schedule

    def sync_sources(self, configured: Mapping[str, str], first_due: Callable[[str], str]) -> tuple[int, int]:
        """Make the schedule match the configuration: `configured` maps each source's name to its URL, and
        `first_due(name)` says when a new one is first due. New sources are added, sources no longer
        configured are parked (no due time: the dispatcher never sees them; their history stays), parked
        ones configured again are due at once. Rows are made as they are written (100,000 sources on a
        fresh state are no list in memory). Returns (added, parked)."""
        known = {row[0]: row[1] is None for row in self.conn.rows("SELECT name, next_due FROM sources")}
        added = sum(1 for name in configured if name not in known)
        parked = [name for name, was_parked in known.items() if not was_parked and name not in configured]
        with self.transaction():
            self.conn.executemany(  # two daemons starting together may both add a source: once it is
                "INSERT INTO sources (name, url, next_due) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                ((name, url, first_due(name)) for name, url in configured.items() if name not in known),
            )
            self.conn.executemany(
                "UPDATE sources SET next_due=? WHERE name=?",
                ((first_due(name), name) for name in configured if known.get(name)),
            )
        self.park_sources(parked)
        return added, len(parked)

    def due_sources(self, now: str, limit: int, owner: str, lease_until: str) -> list[tuple[str, str]]:
        """Take up to `limit` due sources for `owner`, oldest due first, by the index: each is claimed, and
        its due time moved to `lease_until`, so it is not taken again before its check writes (which frees
        it) or the lease runs out (a daemon that died). Returns (name, due) pairs."""
        with self.transaction():  # on PostgreSQL, another daemon's picks are passed over
            rows = self.conn.rows(
                "SELECT name, next_due FROM sources WHERE next_due <= ? AND paused_at IS NULL "
                "ORDER BY next_due LIMIT ?" + self.dialect.skip_locked,
                [now, limit],
            )
            self.conn.executemany(
                "UPDATE sources SET next_due=?, claimed_by=? WHERE name=?",
                [(lease_until, owner, r[0]) for r in rows],
            )
        return [(r[0], r[1]) for r in rows]

    def release_sources(self, now: str, names: list[str] | None = None) -> int:
        """Claims given back: those named (checks cancelled at shutdown), or every claim, by a daemon that
        holds the state's write lock (so the claims it finds are a dead process's). Due again at once. On a
        shared database other daemons are alive: only named claims are given back, the rest expire."""
        if names is None and self.shared:
            return 0
        with self.transaction():
            if names is None:
                q = "UPDATE sources SET next_due=?, claimed_by=NULL WHERE claimed_by IS NOT NULL"
                return int(self.conn.execute(q, [now]).rowcount)
            q = "UPDATE sources SET next_due=?, claimed_by=NULL WHERE name=? AND claimed_by IS NOT NULL"
            return sum(self.conn.execute(q, [now, name]).rowcount for name in names)

    def park_sources(self, names: list[str]) -> None:
        """No due time: the dispatcher passes these over until a configuration names them again."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE sources SET next_due=NULL, claimed_by=NULL WHERE name=?", [(n,) for n in names]
            )

    def renew(self, owner: str, lease_until: str) -> None:
        """A live daemon's claims kept from running out while their checks go on."""
        with self.transaction():
            self.conn.execute("UPDATE sources SET next_due=? WHERE claimed_by=?", [lease_until, owner])

    def next_due(self) -> str | None:
        """When the next source falls due (None: nothing is scheduled)."""
        row = self.conn.execute("SELECT min(next_due) FROM sources WHERE paused_at IS NULL").fetchone()
        return row[0] if row else None

    def sync_intervals(self, intervals: Mapping[str, float], now: dt.datetime) -> list[str]:
        """Each configured source's interval remembered; where it changed, the due time moved in proportion
        from the last check (a backoff or spread stays, scaled), never before `now`. A source being checked
        keeps its lease (its check writes the next due time with the new interval). Returns those moved."""
        rows = self.conn.execute(
            "SELECT name, interval_s, last_check, next_due, claimed_by FROM sources"
        ).fetchall()
        moved, remembered = [], []
        for name, before, last, due, claimed in rows:
            if name not in intervals or before == (after := round(intervals[name])):
                continue
            remembered.append((after, name))
            if before and last and due and not claimed:
                checked = dt.datetime.fromisoformat(last)
                scaled = checked + (dt.datetime.fromisoformat(due) - checked) * (after / before)
                moved.append((due_iso(max(scaled, now)), name))
        with self.transaction():
            self.conn.executemany("UPDATE sources SET interval_s=? WHERE name=?", remembered)
            self.conn.executemany("UPDATE sources SET next_due=? WHERE name=?", moved)
        return [name for _, name in moved]

    def check_now(self, names: list[str], now: str) -> list[str]:
        """Due at once, for whichever daemon looks next (`watcher check` beside a daemon): those not being
        checked already and not paused. Returns the names made due."""
        q = "UPDATE sources SET next_due=? WHERE name=? AND claimed_by IS NULL AND paused_at IS NULL AND next_due IS NOT NULL"
        with self.transaction():
            return [name for name in names if self.conn.execute(q, [now, name]).rowcount]

    def pause(self, name: str, url: str, at: str | None) -> None:
        """Pause a source (`at`: since when), or with None resume it: its due time stays (at once if passed)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO sources (name, url, paused_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET paused_at=excluded.paused_at",
                [name, url, at],
            )

    def new_items_since(self, source: str, since: str) -> int:
        """Notices a source listed for the first time since `since`: how often it publishes."""
        q = """SELECT count(*) FROM items WHERE source=? AND on_list=1 AND first_seen >= ?
               AND first_seen > (SELECT min(first_seen) FROM items WHERE source=?)"""
        return int(self.conn.execute(q, [source, since, source]).fetchone()[0])

    # -------------------------------------------------------------- the alert outbox
    # Rows are written pending (with the change they describe, or by the reminder job), then marked.

    def add_alerts(self, rows: list[dict[str, Any]]) -> int:
        """Insert alerts whose id is not there yet; returns how many were new."""
        with self.transaction():
            return self._insert_alerts(rows)

    def due_alerts(self, now: str) -> list[tuple[str, str, str]]:
        """(id, subscriber, channel) of pending alerts due now, oldest first."""
        q = """SELECT id, subscriber, channel FROM alerts WHERE status='pending' AND due<=?
               AND (next_try IS NULL OR next_try<=?) AND claimed_by IS NULL ORDER BY created, id"""
        return [tuple(row) for row in self.conn.rows(q, [now, now])]

    def alert_payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.rows(f"SELECT id, payload FROM alerts WHERE id IN ({marks})", ids)
        return {row[0]: json.loads(row[1]) for row in rows}

    def retry_state(self, ids: list[str]) -> tuple[str, int]:
        """When the oldest of these alerts was written, and the most attempts any of them has had."""
        marks = ",".join("?" * len(ids))
        row = self.conn.execute(f"SELECT min(created), max(attempts) FROM alerts WHERE id IN ({marks})", ids)
        created, attempts = row.fetchone()
        return str(created), int(attempts or 0)

    def claim(self, ids: list[str], owner: str, now: dt.datetime) -> list[str]:
        """Take these pending alerts for one sender, atomically: of two senders, one gets each alert."""
        with self.transaction():
            marks = ",".join("?" * len(ids))
            q = f"""UPDATE alerts SET claimed_by=?, claimed_at=? WHERE id IN ({marks}) AND status='pending'
                    AND claimed_by IS NULL RETURNING id"""
            taken = {row[0] for row in self.conn.rows(q, [owner, now_iso(now), *ids])}
        return [i for i in ids if i in taken]

    def release_claims(self, now: dt.datetime) -> int:
        """Claims left by a sender that died before marking its alerts: they are sent again (at least
        once). On SQLite the caller holds the state's write lock, so no other sender is alive and every
        claim is a dead one's; on a shared database, only claims older than CLAIM_LEASE are."""
        stale = now_iso(now - dt.timedelta(seconds=CLAIM_LEASE)) if self.shared else None
        with self.transaction():
            return int(
                self.conn.execute(
                    "UPDATE alerts SET claimed_by=NULL WHERE claimed_by IS NOT NULL AND status='pending'"
                    + (" AND claimed_at < ?" if stale else ""),
                    [stale] if stale else [],
                ).rowcount
            )

    def mark_sent(self, ids: list[str], at: str) -> None:
        self._update(
            ids, "status='sent', sent_at=?, attempts=attempts+1, last_error=NULL, claimed_by=NULL", [at]
        )

    def mark_retry(self, ids: list[str], next_try: str, error: str) -> None:
        self._update(ids, "attempts=attempts+1, next_try=?, last_error=?, claimed_by=NULL", [next_try, error])

    def mark_failed(self, ids: list[str], error: str) -> None:
        self._update(ids, "status='failed', attempts=attempts+1, last_error=?, claimed_by=NULL", [error])

    def _update(self, ids: list[str], assignments: str, params: list[Any]) -> None:
        with self.transaction():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.conn.execute(f"UPDATE alerts SET {assignments} WHERE id IN ({marks})", [*params, *chunk])

    def alerts(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, params = ("WHERE status=?", [status]) if status else ("", [])
        q = f"SELECT * FROM alerts {where} ORDER BY created DESC, id LIMIT ?"
        return list(self._rows(q, [*params, limit]))

    def alert_counts(self) -> dict[str, int]:
        return {
            row[0]: row[1] for row in self.conn.rows("SELECT status, count(*) FROM alerts GROUP BY status")
        }

    def deadlines_between(self, first: str, last: str) -> list[dict[str, Any]]:
        """Current versions of items whose deadline falls in [first, last], with their source and first sight."""
        q = """SELECT v.*, i.source AS source, i.first_seen AS first_seen FROM items i
               JOIN versions v ON v.id = i.version_id
               WHERE v.deadline BETWEEN ? AND ? AND v.classification IS NOT NULL"""
        return [decode_version(row) for row in self._rows(q, [first, last])]


TABLES = ("sources", "validators", "items", "versions", "evidence", "events", "alerts", "attachment_files",
          "attachment_urls", "host_cookies")  # fmt: skip


def copy_state(source: Store, target: Store, batch: int = 500) -> dict[str, int]:
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


VERSION_COLUMNS = tuple(f.name for f in fields(VersionRow))
_INSERT_VERSION = (
    f"INSERT INTO versions ({', '.join(VERSION_COLUMNS)}) VALUES ({', '.join('?' * len(VERSION_COLUMNS))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in VERSION_COLUMNS if c != 'id')}"
)
_JSON_COLUMNS = ("what", "attachments", "related", "classification")
ALERT_COLUMNS = ("id", "subscriber", "channel", "version_id", "item_key", "reason", "status", "attempts",
                 "next_try", "created", "sent_at", "last_error", "payload", "due")  # fmt: skip  # claimed_by: claim()


def _version_values(row: VersionRow) -> tuple[Any, ...]:
    """A shallow row (dataclasses.asdict deep-copies the nested lists: a quarter of a save)."""
    return tuple(
        json.dumps(getattr(row, c), ensure_ascii=False) if c in _JSON_COLUMNS else getattr(row, c)
        for c in VERSION_COLUMNS
    )


@lru_cache(maxsize=64)
def _upsert_item_sql(columns: tuple[str, ...]) -> str:
    names = [*columns, "last_seen", "first_seen"]
    updates = [f"{c}=excluded.{c}" for c in columns if c not in ("key", "on_list")]
    if "on_list" in columns:
        updates.append(  # the larger of the two, written so that SQLite and PostgreSQL both read it
            "on_list=CASE WHEN excluded.on_list > coalesce(items.on_list, 0) THEN excluded.on_list "
            "ELSE coalesce(items.on_list, 0) END"
        )
    updates += ["last_seen=excluded.last_seen", "removed_at=NULL"]
    return (
        f"INSERT INTO items ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT(key) DO UPDATE SET {', '.join(updates)}"
    )


def decode_version(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("what", "attachments", "related", "classification"):
        if out.get(key):
            out[key] = json.loads(out[key])
    return out
