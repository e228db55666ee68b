"""Read-only questions asked of the store by the CLI and the web page."""

from __future__ import annotations

from typing import Any

from .diff import item_key
from .normalize import fold
from .store import Store


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
    if programme:
        where.append("EXISTS (SELECT 1 FROM versions p, json_each(p.classification, '$.matches') m "
                     "WHERE p.item_key = i.key AND json_extract(m.value, '$.programme') = ?)")  # fmt: skip
        params.append(programme)
    having = "HAVING versions > 1" if changed else ""
    sql = f"""
        SELECT i.key, i.title, i.url, i.date, i.source, i.first_seen, i.removed_at,
               (SELECT count(*) FROM versions v WHERE v.item_key = i.key) AS versions
        FROM items i WHERE {" AND ".join(where)} GROUP BY i.key {having}
        ORDER BY coalesce(i.date, substr(i.first_seen, 1, 10)) DESC, i.first_seen DESC LIMIT ?
    """
    return store.query(sql, [*params, limit])


def history(store: Store, item: str) -> list[dict[str, Any]]:
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
        WHERE v.search LIKE ? ESCAPE '\' ORDER BY i.date DESC LIMIT ?
    """
    return store.query(sql, [needle, limit])
