"""Subscribers and alert settings from the configuration file, validated like the sources.

```yaml
subscribers:
  - name: foshan-park
    urls: ["mailto://…", "wecombot://${WECOM_KEY}"]   # apprise URLs; ${ENV} from the environment
    programmes: [guangfo, prd/joint-research]          # programme ids, or programme/task
    kinds: [申报, 遴选]
    regions: [佛山, 南海区]
    sources: [fs-kjj-gkmlpt]
    keywords: [孵化器]            # notices with these words, matched to a programme or not
    changes: true                 # also revised notices
    digest: "08:30"               # a daily digest at this time; without it, each alert at once
    quiet: "22:00-07:30"          # immediate alerts wait for the end of this window
    reminders: [3, 1]             # days before a deadline
alerts:
  admin: ["mailto://…"]          # told when an alert finally fails
  retry_for: 24h
  recent_days: 14
```

Secrets stay out of sight: a channel is identified by the hash of its URL *as written* (with `${VAR}`),
and shown masked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from .. import yamlconf as y
from ..classify import KINDS

CONSOLE_URL = "console://"


@dataclass(frozen=True)
class Channel:
    template: str  # the URL as written, ${VAR} unexpanded
    url: str  # expanded: never print or log it
    secrets: tuple[str, ...] = ()  # the expanded values, scrubbed from error messages

    @property
    def key(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()[:12]

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()

    @property
    def masked(self) -> str:
        return mask_url(self.template)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time

    def contains(self, t: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # over midnight


@dataclass(frozen=True)
class Subscriber:
    name: str
    channels: tuple[Channel, ...]
    programmes: tuple[str, ...] = ()  # "guangfo" or "guangfo/task-id"; empty: any programme
    kinds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    changes: bool = True
    digest: dt.time | None = None
    quiet: QuietHours | None = None
    reminders: tuple[int, ...] = (3, 1)
    everything: bool = False  # the console fallback hears every new or changed notice

    def channel(self, key: str) -> Channel | None:
        return next((c for c in self.channels if c.key == key), None)


CONSOLE = Subscriber("console", (Channel(CONSOLE_URL, CONSOLE_URL),), everything=True)


@dataclass(frozen=True)
class AlertSettings:
    admin: tuple[Channel, ...] = ()
    retry_for: float = 24 * 3600.0
    retry_base: float = 60.0
    recent_days: int = 14


def _hhmm(value: Any) -> str | None:
    return None if _time(value) else "expected a time such as 08:30"


def _time(value: Any) -> dt.time | None:
    if isinstance(value, int):  # YAML reads 08:30 unquoted as a sexagesimal number of minutes
        return dt.time(value // 60, value % 60) if 0 <= value < 24 * 60 else None
    m = re.fullmatch(r"\s*(\d{1,2})[:：](\d{2})\s*", str(value))
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    return dt.time(int(m[1]), int(m[2]))


def _quiet(value: Any) -> QuietHours:
    start, _, end = str(value).partition("-")
    a, b = _time(start), _time(end)
    assert a and b
    return QuietHours(a, b)


def _check_quiet(value: Any) -> str | None:
    start, sep, end = str(value).partition("-")
    return None if sep and _time(start) and _time(end) else "expected a window such as 22:00-07:30"


def _check_kinds(value: Any) -> str | None:
    bad = [k for k in (value if isinstance(value, list) else [value]) if k not in KINDS]
    return f"unknown kind {bad[0]!r} (known: {', '.join(KINDS)})" if bad else None


def _check_days(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(d, int) and 0 < d <= 365 for d in value)
    return None if ok else "expected a list of whole numbers of days from 1 to 365, such as [3, 1]"


_SUBSCRIBER = {
    "name": y.Field(str),
    "urls": y.Field((list, str)),
    "programmes": y.Field((list, str), []),
    "kinds": y.Field((list, str), [], _check_kinds),
    "regions": y.Field((list, str), []),
    "sources": y.Field((list, str), []),
    "keywords": y.Field((list, str), []),
    "changes": y.Field(bool, True),
    "digest": y.Field((str, int), None, _hhmm, _time),
    "quiet": y.Field(str, None, _check_quiet, _quiet),
    "reminders": y.Field(list, [3, 1], _check_days, lambda v: tuple(sorted(set(v), reverse=True))),
}
_ALERTS = {
    "admin": y.Field((list, str), []),
    "retry_for": y.Field((int, float, str), 24 * 3600.0, y.check_duration, y.duration),
    "retry_base": y.Field((int, float, str), 60.0, y.check_duration, y.duration),
    "recent_days": y.Field(int, 14, y.between(0, 3650)),
}
_LISTS = ("programmes", "kinds", "regions", "sources", "keywords")


def parse_subscribers(
    doc: y.Doc, value: Any, sources: set[str], programmes: dict[str, set[str]], check_urls: bool = False
) -> tuple[Subscriber, ...]:
    """`programmes` maps each known programme id to its task ids, so a typo is an error, not silence;
    `check_urls`: each URL parsed by apprise too (see `apprise_problem`)."""
    if not isinstance(value, list):
        raise doc.error(("subscribers",), "expected a list of subscribers")
    out: list[Subscriber] = []
    for i, item in enumerate(value):
        at: y.Path_ = ("subscribers", i)
        raw = y.record(doc, at, item, _SUBSCRIBER, "a subscriber")
        if raw["name"] in {s.name for s in out} or raw["name"] in ("console", "admin"):
            raise doc.error((*at, "name"), f"duplicate or reserved subscriber name {raw['name']!r}")
        for key in _LISTS:
            raw[key] = y.str_list(doc, (*at, key), raw[key]) if raw[key] else ()
        for j, wanted in enumerate(raw["programmes"]):
            _check_programme(doc, (*at, "programmes", j), wanted, programmes)
        for j, name in enumerate(raw["sources"]):
            if name not in sources:
                raise doc.error((*at, "sources", j), f"no source named {name!r}")
        raw["channels"] = channels(doc, (*at, "urls"), raw.pop("urls"), check_urls)
        if not raw["channels"]:
            raise doc.error((*at, "urls"), "a subscriber needs at least one URL")
        out.append(Subscriber(**raw))
    return tuple(out)


def _check_programme(doc: y.Doc, at: y.Path_, wanted: str, programmes: dict[str, set[str]]) -> None:
    pid, _, task = wanted.partition("/")
    if pid not in programmes:
        raise doc.error(at, f"no programme with id {pid!r} (known: {', '.join(programmes)})")
    if task and task not in programmes[pid]:
        raise doc.error(at, f"programme {pid!r} has no task {task!r}")


def parse_alert_settings(doc: y.Doc, value: Any, check_urls: bool = False) -> AlertSettings:
    raw = y.record(doc, ("alerts",), value, _ALERTS, "alerts")
    urls = raw.pop("admin")
    admin = channels(doc, ("alerts", "admin"), urls, check_urls) if urls else ()
    return AlertSettings(**raw, admin=admin)


def channels(doc: y.Doc, at: y.Path_, value: Any, check_urls: bool = False) -> tuple[Channel, ...]:
    out = []
    for j, template in enumerate(y.str_list(doc, at, value)):
        where = (*at, j) if isinstance(value, list) else at
        url = y.expand_env(doc, where, template)
        if "://" not in url:
            raise doc.error(where, "expected an apprise URL such as mailto://… or wecombot://KEY")
        secrets = tuple(y.expand_env(doc, where, m) for m in re.findall(r"\$\{[A-Za-z_]\w*\}", template))
        channel = Channel(template, url, tuple(s for s in secrets if s))
        if check_urls and (problem := apprise_problem(url)):
            raise doc.error(where, channel.scrub(problem))
        out.append(channel)
    return tuple(out)


def apprise_problem(url: str) -> str | None:
    """Why apprise cannot use `url`, in apprise's own words (its parser, the one that will send), or None.
    Only when asked: importing apprise and loading its plugins takes a third of a second."""
    if url == CONSOLE_URL:
        return None
    import logging

    import apprise

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:  # type: ignore[no-untyped-call]
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is not None:
        return None
    said = [line for line in log.getvalue().splitlines() if line and not line.startswith("Could not load")]
    return "apprise cannot use this URL" + (f": {said[0]}" if said else "")


_SECRET_KEYS = re.compile(r"key|token|secret|pass|pwd|sign|access", re.I)


def mask_url(url: str) -> str:
    """An apprise URL fit to show: `${VAR}` as written; passwords, tokens and long path parts masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "****"
    body, _, query = rest.partition("?")
    netloc, *path = body.split("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    host, _, port = hostport.partition(":")
    shown = _mask_part(user) + (":****" if colon else "") + at if at else ""
    shown += host if ("." in host or host == "localhost") else _mask_part(host)
    shown += f":{port if port.isdigit() else _mask_part(port)}" if port else ""
    shown += "".join("/" + _mask_part(p) for p in path)
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    masked = [
        f"{k}={'****' if _SECRET_KEYS.search(k) and not v.startswith('${') else v}" for k, _, v in pairs
    ]
    return f"{scheme}://{shown}" + (f"?{'&'.join(masked)}" if masked else "")


def _mask_part(part: str) -> str:
    if not part or part.startswith("${") or len(part) <= 4:
        return part
    return part[:2] + "****"


__all__ = [
    "CONSOLE",
    "AlertSettings",
    "Channel",
    "QuietHours",
    "Subscriber",
    "channels",
    "mask_url",
    "parse_alert_settings",
    "parse_subscribers",
]
