"""The alert outbox: rows written pending (with the change they describe, or by the reminder job), claimed
by one sender, then marked sent, retried or failed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..models import AlertRow
from .database import Database, now_iso
from .schema import ALERT_COLUMNS

CLAIM_LEASE = 120.0  # seconds a sender may hold an alert it is delivering (one message) before others may


class Outbox(Database):
    def add_alerts(self, rows: list[AlertRow]) -> int:
        """Insert alerts whose id is not there yet; returns how many were new."""
        with self.transaction():
            return insert_alerts(self.conn, rows)

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

    def alerts(self, status: str | None = None, limit: int = 100) -> list[AlertRow]:
        where, params = ("WHERE status=?", [status]) if status else ("", [])
        q = f"SELECT * FROM alerts {where} ORDER BY created DESC, id LIMIT ?"
        return [AlertRow.of(row) for row in self._rows(q, [*params, limit])]

    def alert_counts(self) -> dict[str, int]:
        return {
            row[0]: row[1] for row in self.conn.rows("SELECT status, count(*) FROM alerts GROUP BY status")
        }


def insert_alerts(conn: Any, rows: list[AlertRow]) -> int:
    """Alerts whose id is not there yet (deterministic ids: never twice); returns how many were new."""
    if not rows:
        return 0
    cursor = conn.executemany(
        f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(ALERT_COLUMNS))}) "
        "ON CONFLICT (id) DO NOTHING",
        [tuple(getattr(row, c) for c in ALERT_COLUMNS) for row in rows],
    )
    return int(cursor.rowcount)
