"""A solved anti-bot challenge's cookies, kept per host for the plain fetcher."""

from __future__ import annotations

import json
from typing import Any

from .database import Database


class HostCookies(Database):
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
