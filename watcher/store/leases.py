"""Leases: the schedule in the sources table. The dispatcher takes due sources, oldest first, and claims
each (claimed_by, next_due pushed out as a lease) until its check writes its next due time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace

from ..models import SourceRow
from .database import Database, due_iso


class Leases(Database):
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
            rows = [
                SourceRow.of(dict(row))
                for row in self.conn.rows(
                    "SELECT * FROM sources WHERE next_due <= ? AND paused_at IS NULL "
                    "ORDER BY next_due LIMIT ?" + self.dialect.skip_locked,
                    [now, limit],
                )
            ]
            self.conn.executemany(
                "UPDATE sources SET next_due=?, claimed_by=? WHERE name=?",
                [(lease_until, owner, r.name) for r in rows],
            )
        claimed = [replace(r, next_due=lease_until, claimed_by=owner) for r in rows]  # as now written
        self.hold({r.name: r for r in claimed}, (r.url for r in claimed if r.url))
        return [(r.name, r.next_due or "") for r in rows]

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
