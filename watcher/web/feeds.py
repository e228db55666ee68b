"""Atom feeds (feedgen): everything, one per programme, one per subscriber's filter.

Entry ids are stable per notice (`urn:watcher:<hash of its key>`) and `updated` is the time of its latest
version, so a feed reader shows a revised notice as updated, not as a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import queries
from ..alert.message import what_changed
from ..alert.plan import wants
from ..models import BEIJING
from .pages import Pages

ATOM = "application/atom+xml; charset=utf-8"


def entry_id(key: str) -> str:
    return "urn:watcher:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def atom(
    title: str, self_url: str, home: str, notices: list[queries.Listed], page_url: str | None = None
) -> bytes:
    """`page_url` (settings.page_url): each entry links to the notice's page on watcher (its versions and
    diffs), the original's address in its summary; without it, to the original."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.link(href=self_url, rel="self")
    fg.link(href=home, rel="alternate")
    fg.language("zh-CN")
    fg.updated(max((_time(n.updated) for n in notices), default=dt.datetime(2000, 1, 1, tzinfo=BEIJING)))
    for n in notices:
        d = n.data
        fe = fg.add_entry(order="append")
        fe.id(entry_id(n.key))
        fe.title(d.title)
        # One link: feedgen writes every entry link without its rel (so two would both be "alternate")
        fe.link(href=f"{page_url.rstrip('/')}/notice/{quote(n.key, safe='')}" if page_url else d.url)
        fe.published(_time(n.first_seen))
        fe.updated(_time(n.updated))
        fe.author(name=d.publisher or d.source)
        fe.category(term=d.kind)
        for p in d.programmes:
            fe.category(term=p.id, label=p.name)
        fe.summary(summary(n) + (f" | 原文 {d.url}" if page_url else ""))
    return bytes(fg.atom_str(pretty=True))


def summary(n: queries.Listed) -> str:
    d = n.data
    parts = [f"{d.kind}", *(f"{p.name}{' · ' + p.task if p.task else ''}" for p in d.programmes)]
    if d.deadline:
        parts.append(f"截止 {d.deadline}")
    if d.what:
        parts.append("更新：" + what_changed(d.what))
    return " | ".join(parts)


def _time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


class Feeds:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def all(self, request: Request) -> Response:
        notices = queries.listed(self.pages.store, limit=100)
        return self._atom(request, "watcher：全部通知", notices)

    def programme(self, request: Request) -> Response:
        pid = request.path_params["programme"]
        names = dict(self.pages.programmes())
        if pid not in names:
            return Response("no such programme\n", status_code=404, media_type="text/plain")
        return self._atom(
            request, f"watcher：{names[pid]}", queries.listed(self.pages.store, programme=pid, limit=100)
        )

    def subscriber(self, request: Request) -> Response:
        name = request.path_params["name"]
        sub = next((s for s in self.pages.config.subscribers if s.name == name), None)
        if sub is None:
            return Response("no such subscriber\n", status_code=404, media_type="text/plain")
        notices = [n for n in queries.listed(self.pages.store, limit=500) if wants(sub, n.data, n.search)][
            :100
        ]
        return self._atom(request, f"watcher：{name}", notices)

    def _atom(self, request: Request, title: str, notices: list[queries.Listed]) -> Response:
        home = str(request.base_url)
        page_url = self.pages.config.settings.page_url
        return Response(atom(title, str(request.url), page_url or home, notices, page_url), media_type=ATOM)

    def routes(self) -> list[Route]:
        return [
            Route("/feeds/all.xml", self.all),
            Route("/feeds/subscribers/{name}.xml", self.subscriber),
            Route("/feeds/{programme}.xml", self.programme),
        ]
