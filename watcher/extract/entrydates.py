"""The date of a list entry, in every form lists print it: whole, a [MM-DD] with the year from the URL,
the page or the clock, a two-digit year, in pieces across elements, apart from a summary's dates. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from ..clock import day_of
from ..models import DateValue
from ..normalize import calendar_day, parse_date, year_from_url
from .dom import Node, inside


def own_date(
    item: Node, anchor: Node, url: str, now: dt.datetime | None, year_hint: int | None
) -> DateValue | None:
    """The date of an entry that carries a summary: the last element of the entry outside its link that
    holds only a date (the summary's 2012年7月10日 is part of a sentence, the entry's stands alone)."""
    found = None
    whole: set[int] = set()  # an element holding the whole date is read, not its pieces (09/25 | 2020)
    for node in item.traverse(include_text=False):
        if node is item or node.tag in ("-text", "img", "br", "a") or inside(node, {anchor.mem_id} | whole):
            continue
        spaced = node.text(deep=True, separator=" ", strip=True)
        if (
            len(spaced) <= 30
            and DATE_ONLY.match(spaced)
            and sum(c.isdigit() for c in spaced) >= 4
            and (date := entry_date(spaced, url, now, year_hint))
        ):
            found = date
            whole.add(node.mem_id)
    return found


def apart_date(text: str, url: str, now: dt.datetime | None, year_hint: int | None) -> DateValue | None:
    """The last date of a summary entry's text that stands apart from its sentences (…报送材料。
    2026-01-19, www.….html 2026-01-19), where the summary's own dates are glued to words (2019年5月8日印发,
    3月1日前): the entry's date when no element holds it alone."""
    found = None
    for m in _APART_DATE.finditer(text):
        found = m
    return entry_date(found.group(1), url, now, year_hint) if found else None


_APART_DATE = re.compile(
    r"(?:^|(?<=[\s\[\]()（）【】|｜:：。，；,;]))((?:19|20)\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}日?"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)(?=$|[\s\[\]()（）【】|｜])"
)


DATE_ONLY = re.compile(
    r"^[\s\[\]()（）【】]*(?:(?:发布|更新)?(?:日期|时间)\s*[:：])?[\s\[\]()（）【】]*"
    r"[\d\s\-./年月日:：]+[\s\[\]()（）【】]*$"
)


def entry_date(text: str, url: str, now: dt.datetime | None, year_hint: int | None) -> DateValue | None:
    """An entry's date; a [MM-DD] takes the year of the entry's URL, else of the page, else of `now`
    (stepping back a year when that would put it in the future)."""
    if not text.strip():
        return None
    if label := _ENTRY_DATE_LABEL.search(text):  # 发布时间：… after a summary that cites other dates
        text = text[label.end() :]
    url_year = year_from_url(url)
    value = parse_date(text, now, url_year or year_hint)
    if value and str(value.day.year) not in text and _HAS_YEAR.search(text):
        value = split_date(text) or value  # 09/25 2020: the year printed beside the day, not a guessed one
    if value and now is not None and not url_year and not _HAS_YEAR.search(text):
        today = day_of(now)
        if value.day > today + dt.timedelta(days=2):
            value = DateValue(value.day.replace(year=value.day.year - 1), value.time, value.approximate)
    return value or short_year_date(text, url_year, now)


def short_year_date(text: str, url_year: int | None, now: dt.datetime | None) -> DateValue | None:
    """20-09-22: a date a list prints with a two-digit year (TRS columns do), read as 20YY; never when the
    entry's URL names another year, nor a day in the future."""
    m = _SHORT_YMD.search(text)
    if m is None:
        return None
    day = calendar_day(2000 + int(m[1]), int(m[3]), int(m[4]))
    if day is None or (url_year and url_year != day.year):
        return None
    if now is not None and day > day_of(now) + dt.timedelta(days=2):
        return None
    return DateValue(day)


def split_date(text: str) -> DateValue | None:
    """A date a list prints in pieces, each in its own element: 07 | 2020-11, or 2020.11 | 07."""
    for pattern, order in _SPLIT_DATES:
        if m := pattern.search(text):
            parts = dict(zip(order, (int(g) for g in m.groups()), strict=True))
            try:
                return DateValue(dt.date(parts["y"], parts["m"], parts["d"]))
            except ValueError:
                continue
    return None


_SPLIT_DATES = (
    (re.compile(r"(?<!\d)([0-3]?\d)\s+((?:19|20)\d{2})\s*[-./年]\s*([01]?\d)(?!\d)"), ("d", "y", "m")),
    (re.compile(r"(?<!\d)([01]?\d)\s*[-./]\s*([0-3]?\d)\s+((?:19|20)\d{2})(?!\d)"), ("m", "d", "y")),
    (
        re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-./年]\s*([01]?\d)月?\s+([0-3]?\d)(?![\d./-])"),
        ("y", "m", "d"),
    ),
)
# Two digits, month, day, one separator throughout, standing apart from other digits: 20-09-22, 18.11.27.
_SHORT_YMD = re.compile(r"(?<![\d./-])(\d{2})([-.])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?![\d./-])")
_ENTRY_DATE_LABEL = re.compile(r"(?:发布|發布|更新|发稿|發稿)(?:时间|時間|日期)\s*[:：]")
_HAS_YEAR = re.compile(r"(?:19|20)\d{2}")


def year_of_page(dates: Iterable[DateValue]) -> int | None:
    years = [d.day.year for d in dates]
    return max(set(years), key=years.count) if years else None
