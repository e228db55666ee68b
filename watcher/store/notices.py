"""Notices: items, their versions and evidence, attachments read, and the one write of a check
(`save_checks`, which may carry a few whole checks): a crash leaves either all of a check or none of it."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import fields
from functools import lru_cache
from typing import Any

from ..errors import succeeded
from ..models import AttachmentRead, CheckRecord, CurrentVersion, ItemRow, SourceRow, Validators, VersionRow
from .database import Database
from .outbox import insert_alerts

try:  # ISA-L writes the same zlib format 4-5x faster (28 against 122-150 us for a 30 KB page, 0.40 ratio)
    from isal.isal_zlib import compress
except ImportError:  # no wheel for this machine: the standard library's, same format
    from zlib import compress


class Notices(Database):
    """Reads of items, versions, evidence and attachments; the check write."""

    def validators(self, url: str) -> Validators | None:
        if url in self.held_validators:  # read ahead (database.py: hold)
            return self.held_validators.pop(url)
        row = self.conn.execute("SELECT etag, last_modified FROM validators WHERE url=?", [url]).fetchone()
        return Validators(row[0], row[1]) if row else None

    def source_row(self, name: str) -> SourceRow | None:
        if name in self.held_rows:  # read ahead (database.py: hold)
            return self.held_rows.pop(name)
        rows = [SourceRow.of(row) for row in self._rows("SELECT * FROM sources WHERE name=?", [name])]
        return rows[0] if rows else None

    def sources(self) -> list[SourceRow]:
        return [SourceRow.of(row) for row in self._rows("SELECT * FROM sources ORDER BY name")]

    def item(self, key: str) -> ItemRow | None:
        rows = [ItemRow.of(row) for row in self._rows("SELECT * FROM items WHERE key=?", [key])]
        return rows[0] if rows else None

    def items_on_list(self, source: str) -> dict[str, ItemRow]:
        q = "SELECT * FROM items WHERE source=? AND on_list=1 AND removed_at IS NULL"
        return {row["key"]: ItemRow.of(row) for row in self._rows(q, [source])}

    def version(self, version_id: str) -> VersionRow | None:
        rows = list(self._rows("SELECT * FROM versions WHERE id=?", [version_id]))
        return decode_version(rows[0]) if rows else None

    def versions_of(self, key: str) -> list[VersionRow]:
        q = f"SELECT * FROM versions WHERE item_key=? ORDER BY {self.dialect.write_order}"
        return [decode_version(row) for row in self._rows(q, [key])]

    def evidence(self, version_id: str) -> bytes | None:
        row = self.conn.execute("SELECT html FROM evidence WHERE version_id=?", [version_id]).fetchone()
        return zlib.decompress(row[0]) if row else None

    def sightings(self, urls: list[str]) -> dict[str, AttachmentRead]:
        """The last read of each of these attachment addresses, with what was read then (not the bytes)."""
        if not urls:
            return {}
        marks = ",".join("?" * len(urls))
        q = f"""SELECT u.url, u.sha, u.checked_at, coalesce(u.error, f.error) AS error, f.kind, f.size,
                       f.pages, f.text
                FROM attachment_urls u LEFT JOIN attachment_files f ON f.sha = u.sha WHERE u.url IN ({marks})"""
        return {row["url"]: AttachmentRead.of(row) for row in self._rows(q, urls)}

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

    def deadlines_between(self, first: str, last: str) -> list[CurrentVersion]:
        """Current versions of items whose deadline falls in [first, last], with their source and first sight."""
        q = """SELECT v.*, i.source AS source, i.first_seen AS first_seen FROM items i
               JOIN versions v ON v.id = i.version_id
               WHERE v.deadline BETWEEN ? AND ? AND v.classification IS NOT NULL"""
        return [
            CurrentVersion(decode_version(row), row["source"], row["first_seen"])
            for row in self._rows(q, [first, last])
        ]

    # -------------------------------------------------------------- the one write of a check

    def save_check(self, rec: CheckRecord) -> None:
        self.save_checks([rec])

    def save_checks(self, recs: list[CheckRecord]) -> None:
        """Whole checks in one transaction (a group commit): each check is all written or not at all."""
        with self.transaction():
            # Every check's source row and validators in one statement each: on PostgreSQL one round trip
            # for the batch, not two a check (no check of the batch reads another's rows).
            self._save_sources(recs)
            self.conn.executemany(
                "INSERT INTO validators (url, etag, last_modified) VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE "
                "SET etag=excluded.etag, last_modified=excluded.last_modified",
                [(url, v.etag, v.last_modified) for rec in recs for url, v in rec.validators.items()],
            )
            for rec in recs:
                self._write_check(rec)

    def _write_check(self, rec: CheckRecord) -> None:
        """The rest of a check: items, versions, evidence, attachments, events, alerts."""
        # Plain parameterised SQL here: sqlite-utils' insert/upsert introspected the table on every call,
        # which was a third of a cold check's CPU.
        execute, executemany = self.conn.execute, self.conn.executemany
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
        insert_alerts(self.conn, rec.alerts)  # deterministic ids: never twice

    def _save_sources(self, recs: list[CheckRecord]) -> None:
        self.conn.executemany(
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
            [{"name": rec.source, "url": rec.url, "at": rec.at, "ok": succeeded(rec.status), "status": str(rec.status),
              "error": rec.error, "next_due": rec.next_due, "item_count": rec.item_count, "region": rec.region}
             for rec in recs],
        )  # fmt: skip

    def _upsert_item(self, item: dict[str, Any], at: str) -> None:
        """Insert, or update the given columns; a related-notice sighting (on_list 0) never takes an item
        off its list, and a sighting clears `removed_at`."""
        columns = tuple(c for c in item if c != "first_seen")
        values = [item[c] for c in columns]
        self.conn.execute(_upsert_item_sql(columns), [*values, at, item.get("first_seen", at)])


VERSION_COLUMNS = tuple(f.name for f in fields(VersionRow))
_INSERT_VERSION = (
    f"INSERT INTO versions ({', '.join(VERSION_COLUMNS)}) VALUES ({', '.join('?' * len(VERSION_COLUMNS))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in VERSION_COLUMNS if c != 'id')}"
)
_JSON_COLUMNS = ("what", "attachments", "related", "classification")


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


def decode_version(row: Mapping[str, Any]) -> VersionRow:
    """A version from its stored row (other columns a join added are left out), its JSON columns decoded."""
    return VersionRow(**{c: _decoded(row[c]) if c in _JSON_COLUMNS else row[c] for c in VERSION_COLUMNS})


def _decoded(value: str | None) -> Any:
    return json.loads(value) if value else value
