"""The subscriber page: notices by programme and task, deadlines ahead, a notice with its versions and why
it matched, search, and source health. Server-rendered with Jinja2, autoescaped, read-only."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import queries, when
from ..alert.message import what_changed
from ..clock import Clock
from ..config import Config, Source
from ..errors import succeeded
from ..models import SourceRow, VersionRow
from ..store import Store

STATUS_WORDS = {"ok": "正常", "not_modified": "正常（无变化）", "error": "出错", "blocked": "被网站拒绝"}


@dataclass(frozen=True)
class SourceLine:
    """One source as the sources page says it: in words, against the page's clock."""

    name: str
    url: str
    every: str
    next_check: str
    last_check: str
    healthy: bool
    failures: int
    error: str


def source_row(source: Source, row: SourceRow, now: dt.datetime) -> SourceLine:
    every = when.interval(source.interval, chinese=True)
    if row.paused_at:
        upcoming = f"已暂停（{when.in_words(row.paused_at, now)}起）"
    elif row.claimed_by:
        upcoming = "正在检查"
    else:
        upcoming = when.until_words(row.next_due, now) or "未排期（守护进程未运行）"
    status = row.status
    last = f"{STATUS_WORDS.get(status or '', status)} · {when.in_words(row.last_check, now)}" if (
        row.last_check) else "未检查"  # fmt: skip
    return SourceLine(
        name=source.name, url=source.url, every=f"自动（当前{every}）" if source.adaptive else every,
        next_check=upcoming, last_check=last, healthy=succeeded(status),
        failures=row.failures or 0, error=row.error or "",
    )  # fmt: skip


def marked_lines(version: VersionRow) -> list[tuple[str, bool]]:
    """The notice's text line by line, each with whether the latest revision added or changed it (a `+`
    line of its diff)."""
    added = {
        line[1:].strip() for line in (version.diff or "").splitlines() if line.startswith("+")
    } if version.change == "changed" else set()  # fmt: skip
    lines = [line.strip() for line in (version.text or "").splitlines()]
    return [(line, line in added) for line in lines if line]


@lru_cache(maxsize=1)
def templates() -> Any:
    """The Jinja2 environment, built by the first page request (a daemon may serve only /healthz)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("watcher", "web/templates"), autoescape=select_autoescape(default=True)
    )
    env.globals["what_changed"] = lambda what: what_changed(what or ())
    return env


class Pages:
    def __init__(self, config: Callable[[], Config], clock: Clock) -> None:
        self.current, self.clock = config, clock  # the daemon's configuration can change on SIGHUP
        self._local = threading.local()  # one read connection per worker thread
        self._opened: list[Store] = []  # all of them, to close when the server stops
        self._lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self.current()

    @property
    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.config.settings.state)
            with self._lock:
                self._opened.append(store)
        return store

    def close(self) -> None:
        """Close every worker thread's connection (the server has stopped)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()

    def programmes(self) -> list[tuple[str, str]]:
        return [(p.id, p.name) for p in self.config.tracked_programmes]

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        now = self.clock()
        page = (
            templates()
            .get_template(name)
            .render(
                today=now.date(),
                programmes=self.programmes(),
                words=lambda t: when.in_words(t, now),
                **context,
            )
        )
        return HTMLResponse(page, status_code=status)

    # -------------------------------------------------------------- views

    def index(self, request: Request) -> Response:
        wanted = request.query_params.get("programme")
        notices = queries.listed(self.store, programme=wanted, limit=300)
        groups: dict[str, list[queries.Listed]] = {}
        for n in notices:
            for p in n.data.programmes or ():
                if not wanted or p.id == wanted:
                    groups.setdefault(p.id, []).append(n)
        names = dict(self.programmes())
        sections = [(pid, names.get(pid, pid), groups[pid]) for pid, _ in self.programmes() if pid in groups]
        others = [n for n in notices if not n.data.programmes][:30] if not wanted else []
        return self.render("index.html", sections=sections, others=others, wanted=wanted)

    def deadlines(self, request: Request) -> Response:
        today = self.clock().date()
        notices = queries.listed(self.store, deadline_from=today.isoformat(), limit=300)
        return self.render("deadlines.html", notices=notices)

    def notice(self, request: Request) -> Response:
        key = request.path_params["key"]
        listed = queries.one(self.store, key)
        if listed is None:
            return self.render("missing.html", status=404, key=key)
        versions = self.store.versions_of(key)
        why = (versions[-1].classification or {}).get("matches", []) if versions else []
        body = marked_lines(versions[-1]) if versions else []
        return self.render("notice.html", n=listed, versions=list(reversed(versions)), why=why, body=body)

    def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        found = (
            [queries.one(self.store, row["key"]) for row in queries.search(self.store, q, 50)] if q else []
        )
        return self.render("search.html", q=q, found=[n for n in found if n])

    def sources(self, request: Request) -> Response:
        health = {row.name: row for row in self.store.sources()}
        now = self.clock()
        return self.render(
            "sources.html",
            rows=[source_row(s, health.get(s.name) or SourceRow(s.name), now) for s in self.config.sources],
        )

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index), Route("/deadlines", self.deadlines), Route("/search", self.search),
            Route("/sources", self.sources), Route("/notice/{key:path}", self.notice),
        ]  # fmt: skip
