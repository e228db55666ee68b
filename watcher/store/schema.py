"""The schema: the migrations in order ({serial}, {integer}, {blob} are each dialect's types, filled in by
watcher/dialect.py), the tables a copy carries, and the outbox's columns."""

from __future__ import annotations

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


TABLES = ("sources", "validators", "items", "versions", "evidence", "events", "alerts", "attachment_files",
          "attachment_urls", "host_cookies")  # fmt: skip

ALERT_COLUMNS = ("id", "subscriber", "channel", "version_id", "item_key", "reason", "status", "attempts",
                 "next_try", "created", "sent_at", "last_error", "payload", "due")  # fmt: skip  # claimed_by: claim()
