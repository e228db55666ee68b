"""Read-only questions asked of the store by the CLI and the web page, in SQL both stores read (what
differs, JSON membership, asked of the store's dialect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .alert.message import AlertData, alert_data
from .diff import item_key
from .models import VersionRow
from .normalize import fold
from .store import Store, decode_version


def items(
    store: Store,
    source: str | None = None,
    since: str | None = None,
    changed: bool = False,
    programme: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    where, params = ["1=1"], []
    if source:
        where.append("i.source = ?")
        params.append(source)
    if since:
        where.append("i.first_seen >= ?")
        params.append(since)
    if programme:  # any version of the item matched it
        matched = store.dialect.json_array_has("p.classification", "matches", "programme")
        where.append(f"EXISTS (SELECT 1 FROM versions p WHERE p.item_key = i.key AND {matched})")
        params.append(programme)
    if changed:
        where.append("(SELECT count(*) FROM versions v WHERE v.item_key = i.key) > 1")
    sql = f"""
        SELECT i.key, i.title, i.url, i.date, i.source, i.first_seen, i.removed_at,
               (SELECT count(*) FROM versions v WHERE v.item_key = i.key) AS versions
        FROM items i WHERE {" AND ".join(where)}
        ORDER BY coalesce(i.date, substr(i.first_seen, 1, 10)) DESC, i.first_seen DESC, i.key LIMIT ?
    """
    return store.query(sql, [*params, limit])


def history(store: Store, item: str) -> list[VersionRow]:
    key = item_key(item) if item.startswith(("http://", "https://")) else item
    return store.versions_of(key)


def search(store: Store, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """A LIKE over the folded (Simplified, lower-case) title and body of each item's latest version.

    SQLite's FTS tokenizers do not fit Chinese (unicode61 sees a sentence as one token; trigram cannot
    find two-character words such as 广佛), and a scan of folded text answers in milliseconds at the
    sizes watcher keeps.
    """
    needle = "%" + fold(text).replace("%", r"\%").replace("_", r"\_") + "%"
    sql = r"""
        SELECT i.key, i.title, i.url, i.date, i.source FROM items i JOIN versions v ON v.id = i.version_id
        WHERE v.search LIKE ? ESCAPE '\' ORDER BY i.date DESC NULLS LAST, i.key LIMIT ?
    """
    return store.query(sql, [needle, limit])


@dataclass(frozen=True)
class Listed:
    """A notice as the page and the feeds show it: its current version, when it was first and last seen."""

    data: AlertData
    first_seen: str
    updated: str
    versions: int
    search: str = ""

    @property
    def key(self) -> str:
        return self.data.item_key


_LISTED = """
    SELECT v.*, i.key AS item_key, i.source AS source, i.first_seen AS first_seen,
           (SELECT count(*) FROM versions c WHERE c.item_key = i.key) AS n_versions
    FROM items i JOIN versions v ON v.id = i.version_id
"""


def listed(
    store: Store, programme: str | None = None, deadline_from: str | None = None, limit: int = 200
) -> list[Listed]:
    """Current notices, newest first; or, with `deadline_from`, those closing on or after it, soonest first."""
    where, params = ["i.removed_at IS NULL"], []
    if programme:  # the current version matches it
        where.append(store.dialect.json_array_has("v.classification", "matches", "programme"))
        params.append(programme)
    order = "coalesce(i.date, substr(i.first_seen, 1, 10)) DESC, i.first_seen DESC, i.key"
    if deadline_from:
        where.append("v.deadline >= ?")
        params.append(deadline_from)
        order = "v.deadline, i.date DESC NULLS LAST, i.key"
    sql = f"{_LISTED} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    return [_listed(row) for row in store.query(sql, [*params, limit])]


def one(store: Store, key: str) -> Listed | None:
    rows = store.query(f"{_LISTED} WHERE i.key = ?", [key])
    return _listed(rows[0]) if rows else None


def _listed(row: dict[str, Any]) -> Listed:
    version = decode_version(row)
    data = alert_data(version.change or "new", version, row["source"])
    return Listed(data, row["first_seen"], version.seen_at, row["n_versions"], version.search or "")
