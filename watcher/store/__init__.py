"""The store: sources' health, notices, the schedule and the alert outbox, on SQLite or PostgreSQL.

    database.py   opening either database, the one migration runner and ledger, transactions, `explain`
    schema.py     the migrations, the tables, the outbox's columns
    notices.py    items, versions, evidence, attachments, and the one write of a check
    leases.py     the schedule: due sources claimed with a lease
    outbox.py     pending alerts, claimed, marked sent, retried or failed
    cookies.py    a solved challenge's cookies per host
    group.py      checks finishing together written in one transaction
    copy.py       a whole state copied into another

`Store` is these rooms under one roof, so a caller holds one object.
"""

from __future__ import annotations

from ..models import AttachmentFile, AttachmentSighting, CheckRecord, VersionRow
from .cookies import HostCookies
from .copy import copy_state
from .database import Database, SQLiteConnection, connect, connect_read_only, due_iso, explain, now_iso
from .group import GroupCommit
from .leases import Leases
from .notices import VERSION_COLUMNS, Notices, decode_version
from .outbox import CLAIM_LEASE, Outbox
from .schema import ALERT_COLUMNS, MIGRATIONS, TABLES


class Store(Notices, Leases, Outbox, HostCookies):
    """One open state: `Store(directory)` or `Store("postgresql://…")`; a context manager."""


__all__ = [
    "ALERT_COLUMNS", "CLAIM_LEASE", "MIGRATIONS", "TABLES", "VERSION_COLUMNS", "AttachmentFile",
    "AttachmentSighting", "CheckRecord", "Database", "GroupCommit", "SQLiteConnection", "Store", "VersionRow", "connect",
    "connect_read_only", "copy_state", "decode_version", "due_iso", "explain", "now_iso",
]  # fmt: skip
