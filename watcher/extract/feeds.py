"""List sources that are not HTML: Guangdong's gkmlpt JSON list, and RSS / Atom feeds."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from typing import Any

from ..errors import ExtractError
from ..models import BEIJING, DateValue, Link
from ..normalize import clean_space, parse_date, split_tag
from .links import absolute

_GKMLPT_DATES = (
    "first_publish_time",
    "display_publish_time",
    "publish_time",
    "created_at",
    "create_time",
    "date",
)


def looks_like_gkmlpt(text: str) -> bool:
    head = text.lstrip()[:2048]
    return head.startswith("{") and '"articles"' in head


def looks_like_feed(text: str) -> bool:
    """An RSS, Atom or RDF document: its root element, after any XML declaration, stylesheet or comment."""
    return _FEED_ROOT.match(text[:4096]) is not None


_FEED_ROOT = re.compile(r"(?:\s|\ufeff|<\?[^>]*\?>|<!--.*?-->)*<(?:rss|feed|rdf:rdf)\b", re.S | re.I)


def gkmlpt_links(text: str, base: str) -> list[Link]:
    """`/gkmlpt/api/all/<catid>` answers {"total": n, "articles": [{"title", "url", …}]}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractError(f"gkmlpt list is not JSON: {exc}") from exc
    articles = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise ExtractError("gkmlpt list has no 'articles' array")
    links = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        url = article.get("url") or article.get("post_url") or article.get("link")
        title = clean_space(str(article.get("title") or ""))
        if not url or not title:
            continue
        tag, title = split_tag(title)
        if link_url := absolute(base, str(url)):  # javascript: and the like are never stored
            links.append(Link(title=title, url=link_url, date=_gkmlpt_date(article), tag=tag))
    return links


def _gkmlpt_date(article: dict[str, Any]) -> DateValue | None:
    for key in _GKMLPT_DATES:
        value = article.get(key)
        if isinstance(value, int | float) and value > 0:
            return _moment(value)
        if isinstance(value, str) and (parsed := parse_date(value)):
            return parsed
    return None


def feed_links(text: str, base: str) -> tuple[str | None, list[Link]]:
    import feedparser

    try:
        parsed = feedparser.parse(text)
    except (OverflowError, ValueError, RecursionError) as exc:  # feedparser on hostile input (&#xFFFFFFFF;)
        raise ExtractError(f"unreadable feed: {type(exc).__name__}: {exc}") from exc
    if parsed.bozo and not parsed.entries:
        raise ExtractError(f"unreadable feed: {parsed.get('bozo_exception')}")
    links = []
    for entry in parsed.entries:
        url, title = entry.get("link"), clean_space(entry.get("title") or "")
        if not url or not title:
            continue
        tag, title = split_tag(title)
        if link_url := absolute(base, str(url)):
            links.append(Link(title=title, url=link_url, date=_feed_date(entry), tag=tag))
    return parsed.feed.get("title"), links


def _feed_date(entry: Any) -> DateValue | None:
    for key in ("published_parsed", "updated_parsed"):
        stamp = entry.get(key)
        if stamp:
            return _moment(calendar.timegm(stamp))
    return None


def _moment(stamp: float) -> DateValue | None:
    """A Unix time as a Beijing date; None for one no calendar holds (1e20, NaN)."""
    try:
        moment = dt.datetime.fromtimestamp(stamp, BEIJING)
    except (OverflowError, OSError, ValueError):
        return None
    return DateValue(moment.date(), moment.time())
