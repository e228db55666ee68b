"""Times in words, Beijing time, against a `now` the caller passes (its injected clock): `今天 09:12`,
`3 天前` on the page, `in 12m` and `3h ago` on the command line."""

from __future__ import annotations

import datetime as dt

from .clock import day_of
from .models import BEIJING


def parse(value: str | dt.datetime | None) -> dt.datetime | None:
    """A stored ISO time (or a datetime) in Beijing time; None for nothing or a value that is no time."""
    if value is None or value == "":
        return None
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=BEIJING)).astimezone(BEIJING)


def in_words(value: str | dt.datetime | None, now: dt.datetime) -> str:
    """`今天 09:12`, `昨天 18:40`, `明天 08:00`; `3 天前` or `3 天后` within a week; else the date
    (`11月2日`, with the year when it is not this year's)."""
    when = parse(value)
    if when is None:
        return ""
    today = day_of(now)
    days = (when.date() - today).days
    named = {0: "今天", -1: "昨天", 1: "明天"}
    if days in named:
        return f"{named[days]} {when:%H:%M}"
    if -7 <= days < 0:
        return f"{-days} 天前"
    if 0 < days <= 7:
        return f"{days} 天后"
    if when.year == today.year:
        return f"{when.month}月{when.day}日"
    return f"{when.year}年{when.month}月{when.day}日"


def relative(value: str | dt.datetime | None, now: dt.datetime) -> str:
    """`in 12m`, `3h ago`, `2d ago`, `now` (within a minute): short, for a table."""
    when = parse(value)
    if when is None:
        return ""
    seconds = (when - now).total_seconds()
    if abs(seconds) < 60:
        return "now"
    size = abs(seconds)
    amount = (
        f"{size // 60:.0f}m"
        if size < 3600
        else f"{size // 3600:.0f}h"
        if size < 86400
        else f"{size // 86400:.0f}d"
    )
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def until_words(value: str | dt.datetime | None, now: dt.datetime) -> str:
    """When something is next due, on the page: `即将` (due or within a minute), `12 分钟后`, `3 小时后`,
    then as `in_words` says it."""
    when = parse(value)
    if when is None:
        return ""
    seconds = (when - now).total_seconds()
    if seconds < 60:
        return "即将"
    if seconds < 3600:
        return f"{seconds // 60:.0f} 分钟后"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} 小时后"
    return in_words(when, now)


_UNITS = ((86400, "d", "天"), (3600, "h", "小时"), (60, "m", "分钟"), (1, "s", "秒"))


def interval(seconds: float, chinese: bool = False) -> str:
    """`1h`, `30m`, `90s`, `1d` as a source's interval is written; `每 1 小时` in Chinese."""
    size, short, long = next(u for u in _UNITS if seconds % u[0] == 0 or u[0] == 1)
    amount = f"{seconds / size:g}"
    return f"每 {amount} {long}" if chinese else f"{amount}{short}"
