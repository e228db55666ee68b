"""sources.yaml → Config. Defaults live here, once; every error names file, line and field."""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from . import yamlconf as y
from .alert.subscribers import AlertSettings, Subscriber, parse_alert_settings, parse_subscribers
from .attachments import AttachmentSettings
from .errors import ConfigError, SecretError
from .extract import EXTRACTORS, Selectors
from .fetch import DEFAULT_UA, FetchSettings
from .programmes import Programme, load_programmes, parse_programmes
from .secrets import secret
from .state import is_database_url

if TYPE_CHECKING:
    from .browser import BrowserSettings

NO_SELECTORS = Selectors()  # shared by the sources that give none (nearly all)
SOURCE_KINDS = ("auto", *sorted(k for k in EXTRACTORS if k != "html"))
FETCH_MODES = ("auto", "http", "browser")  # see transport.py
DEFAULT_CONFIG = "sources.yaml"
DEFAULT_STATE = "state"


@dataclass(frozen=True, slots=True)  # slots: a 5,000-source file is 5,000 of these
class Source:
    name: str
    url: str
    kind: str = "auto"
    interval: float = 3600.0
    selectors: Selectors = field(default_factory=Selectors)
    encoding: str | None = None
    follow: bool = True
    depth: int = 1
    max_follow: int = 30
    allowed_domains: tuple[str, ...] = ()
    verify_tls: bool = True
    robots: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    alert_removed: bool = False
    attachments: bool = True  # read the attachments of its new and changed notices
    adaptive: bool = False  # `interval: auto`: from how often it publishes, within min/max_interval
    min_interval: float = 900.0
    max_interval: float = 86400.0
    fetch: str = "auto"  # auto | http | browser: when its pages are read through headless Chromium

    def allows(self, url: str) -> bool:
        """May a followed link be fetched? Its host must sit under one of the allowed domains."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


@dataclass(frozen=True)
class Settings:
    user_agent: str = DEFAULT_UA
    concurrency: int = 16
    per_host_concurrency: int = 1
    per_host_delay: float = 1.0
    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    recheck_days: int = 30
    state: str = DEFAULT_STATE
    allow_private: tuple[str, ...] = ()
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    browser_pages: int = 2
    browser_seconds: float = 30.0
    browser_memory_mb: int = 1024
    browser_recycle: int = 200
    page_url: str | None = None  # where readers reach watcher's page: feed entries link to it

    def browser_settings(self) -> BrowserSettings:
        from .browser import BrowserSettings  # the browser's module only for a daemon that needs it

        return BrowserSettings(
            pages=self.browser_pages, page_seconds=self.browser_seconds, memory_mb=self.browser_memory_mb,
            recycle_after=self.browser_recycle, user_agent=self.user_agent,
        )  # fmt: skip

    def fetch_settings(self, own_hosts: tuple[str, ...] = ()) -> FetchSettings:
        """`own_hosts`: the configured sources' hosts, which may be internal (see gate.py)."""
        return FetchSettings(
            allow_private=(*self.allow_private, *own_hosts),
            user_agent=self.user_agent,
            read_timeout=self.timeout,
            total_timeout=self.timeout * 2,
            max_bytes=self.max_bytes,
            retries=self.retries,
            per_host_concurrency=self.per_host_concurrency,
            per_host_delay=self.per_host_delay,
        )


@dataclass(frozen=True)
class Config:
    path: str
    settings: Settings = field(default_factory=Settings)
    sources: tuple[Source, ...] = ()
    programmes: tuple[Programme, ...] = ()
    subscribers: tuple[Subscriber, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)

    @property
    def tracked_programmes(self) -> tuple[Programme, ...]:
        """The programmes in the file, else the bundled ones."""
        return self.programmes or load_programmes()

    def fetch_settings(self) -> FetchSettings:
        """The settings' fetch settings; each source's own host may be internal (an intranet bureau)."""
        hosts = tuple(dict.fromkeys((urlsplit(s.url).hostname or "").lower() for s in self.sources))
        return self.settings.fetch_settings(hosts)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def _headers(value: Any) -> str | None:
    for key, item in value.items():
        if any(c in f"{key}{item}" for c in "\r\n\0"):  # a header split in two: request smuggling
            return f"header {key!r} holds a line break"
    return None


def _check_interval(value: Any) -> str | None:
    if value == "auto":
        return None
    problem = y.check_duration(value)
    return f"{problem}, or auto" if problem else None


def _interval(value: Any) -> float:
    return -1.0 if value == "auto" else y.duration(value)  # -1: adaptive, settled in _sources


def _encoding(value: Any) -> str | None:
    try:
        codecs.lookup(value)
    except LookupError:
        return f"unknown encoding {value!r} (such as gbk, gb18030, utf-8)"
    return None


def _url(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "expected an http:// or https:// URL"
    return None


_SETTINGS = {
    "user_agent": y.Field(str, DEFAULT_UA),
    "concurrency": y.Field(int, 16, y.between(1, 1000)),
    "per_host": y.Field(dict, {}),
    "timeout": y.Field((int, float), 30.0, y.between(0.1, 600), float),
    "max_bytes": y.Field(int, 10 * 1024 * 1024, y.between(1024, 1024**3)),
    "retries": y.Field(int, 2, y.between(0, 10)),
    "recheck_days": y.Field(int, 30, y.between(0, 3650)),
    "state": y.Field(str, None),
    "allow_private": y.Field((list, str), None),
    "read_attachments": y.Field(bool, True),
    "max_attachment_bytes": y.Field(int, 20 * 1024 * 1024, y.between(1024, 1024**3)),
    "max_attachments": y.Field(int, 10, y.between(0, 100)),
    "attachment_seconds": y.Field((int, float), 30.0, y.between(1, 3600), float),
    "attachment_memory_mb": y.Field(int, 1024, y.between(128, 65536)),
    "browser_pages": y.Field(int, 2, y.between(1, 32)),
    "browser_seconds": y.Field((int, float), 30.0, y.between(1, 600), float),
    "browser_memory_mb": y.Field(int, 1024, y.between(256, 65536)),
    "browser_recycle": y.Field(int, 200, y.between(1, 100_000)),
    "page_url": y.Field(str, None, _url),
}
_PER_HOST = {
    "concurrency": y.Field(int, 1, y.between(1, 100)),
    "delay": y.Field((int, float), 1.0, y.between(0, 3600), float),
}
_SOURCE = {
    "name": y.Field(str),
    "url": y.Field(str, ..., _url),
    "kind": y.Field(
        str, "auto", lambda v: None if v in SOURCE_KINDS else f"one of {', '.join(SOURCE_KINDS)}"
    ),
    "interval": y.Field((int, float, str), 3600.0, _check_interval, _interval),
    "min_interval": y.Field((int, float, str), 900.0, y.check_duration, y.duration),
    "max_interval": y.Field((int, float, str), 86400.0, y.check_duration, y.duration),
    "selectors": y.Field(dict, {}),
    "encoding": y.Field(str, None, _encoding),
    "follow": y.Field(bool, True),
    "depth": y.Field(int, 1, lambda v: None if 0 <= v <= 3 else "must be 0 to 3"),
    "max_follow": y.Field(int, 30, y.between(1, 10_000)),
    "allowed_domains": y.Field((list, str), None),
    "verify_tls": y.Field(bool, True),
    "robots": y.Field(bool, True),
    "headers": y.Field(dict, {}, _headers),
    "alert_removed": y.Field(bool, False),
    "attachments": y.Field(bool, True),
    "fetch": y.Field(str, "auto", lambda v: None if v in FETCH_MODES else f"one of {', '.join(FETCH_MODES)}"),
}
_SELECTORS = {name: y.Field(str, None) for name in ("items", "title", "body", "date")}
TOP_LEVEL = ("settings", "sources", "programmes", "subscribers", "alerts")

# publicsuffixlist ships the Public Suffix List and reads it without network access; tldextract did the
# same but imported requests with it (25 MB of the daemon's memory against 3).
_PSL = PublicSuffixList()


def registrable_domain(url: str) -> str:
    """kjj.gz.gov.cn → gz.gov.cn; an IP address or a single-label host stays as it is."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or "." not in host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return str(_PSL.privatesuffix(host) or host)


def default_domains(url: str) -> tuple[str, ...]:
    """The source's registrable domain, and gov.cn sites of the same province (gd.gov.cn covers gz.gov.cn
    only by name, so Guangdong's cities are listed too)."""
    return _domains_around(registrable_domain(url))


@lru_cache(maxsize=4096)
def _domains_around(own: str) -> tuple[str, ...]:
    # cached: the sources of one site share one tuple (5,000 sources of one host were 5,000 copies)
    domains = [own]
    if own.endswith("gov.cn"):
        domains += list(GUANGDONG_GOV)
    return tuple(dict.fromkeys(domains))


GUANGDONG_GOV = (
    "gd.gov.cn", "gz.gov.cn", "foshan.gov.cn", "sz.gov.cn", "zhuhai.gov.cn", "dg.gov.cn", "zs.gov.cn",
    "jiangmen.gov.cn", "huizhou.gov.cn", "zhaoqing.gov.cn", "nanhai.gov.cn", "shunde.gov.cn", "ss.gov.cn",
)  # fmt: skip


def config_candidates() -> tuple[Path, ...]:
    """Where a configuration is looked for when neither --config nor WATCHER_CONFIG names one: the
    current directory, then the user's configuration directory (where `watcher init` may write one)."""
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(DEFAULT_CONFIG), Path(home) / "watcher" / DEFAULT_CONFIG


def find_config(path: str | os.PathLike[str] | None = None) -> str:
    """The file to read: the one named (--config, WATCHER_CONFIG), else the first candidate that exists,
    else ./sources.yaml (whose absence `load` reports with every path tried)."""
    named = path or os.environ.get("WATCHER_CONFIG")
    if named:
        return str(named)
    return str(next((p for p in config_candidates() if p.exists()), Path(DEFAULT_CONFIG)))


def _unreadable(path: str, named: bool, exc: ConfigError) -> ConfigError:
    """A configuration that cannot be read, with where it was looked for and how to choose another."""
    tried = [path] if named else [str(p) for p in config_candidates()]
    shown = ", ".join(str(Path(p).expanduser().absolute()) for p in tried)
    reason = exc.message.removeprefix("cannot read: ")
    return ConfigError(
        path, None, "(file)",
        f"cannot read the configuration ({reason}); tried {shown}. Choose a file with `--config FILE` or "
        "the WATCHER_CONFIG variable, or write a starter one with `watcher init`",
    )  # fmt: skip


def load(
    path: str | os.PathLike[str] | None = None,
    state: str | None = None,
    text: str | None = None,
    check_urls: bool = False,
) -> Config:
    """Read and validate a configuration file. `state` (or WATCHER_STATE) overrides the file's state path.
    `check_urls`: also have apprise parse every alert URL (a third of a second, to load its plugins)."""
    named = bool(path or os.environ.get("WATCHER_CONFIG"))
    path = find_config(path)
    seen: dict[str, str] = {}  # each source's name and URL → the name of the source that has it
    try:
        doc = y.load(path, text, build={("sources",): lambda d, at, item: _source(d, at, item, seen)})
    except ConfigError as exc:
        if exc.field == "(file)" and exc.message.startswith("cannot read"):
            raise _unreadable(path, named, exc) from exc
        raise
    top = doc.value if doc.value is not None else {}
    if not isinstance(top, dict):
        raise doc.error((), "the file must be a mapping with 'sources:'")
    for key in top:
        if key not in TOP_LEVEL:
            raise doc.error((key,), f"unknown section (known: {', '.join(TOP_LEVEL)})")
    settings = _settings(doc, top.get("settings") or {}, state)
    sources = _sources(doc, top.get("sources") or [])
    programmes = parse_programmes(doc, top["programmes"], ("programmes",)) if top.get("programmes") else ()
    known = {p.id: {t.id for t in p.tasks} for p in programmes or load_programmes()}
    subscribers = (
        parse_subscribers(doc, top["subscribers"], {s.name for s in sources}, known, check_urls)
        if top.get("subscribers")
        else ()
    )
    alerts = parse_alert_settings(doc, top.get("alerts") or {}, check_urls)
    return Config(
        path=path, settings=settings, sources=sources, programmes=programmes, subscribers=subscribers,
        alerts=alerts,
    )  # fmt: skip


def _settings(doc: y.Doc, value: Any, state: str | None) -> Settings:
    raw = y.record(doc, ("settings",), value, _SETTINGS, "settings")
    host = y.record(doc, ("settings", "per_host"), raw.pop("per_host"), _PER_HOST, "per_host")
    from_file = raw.pop("state")
    allowed = raw.pop("allow_private")
    raw["allow_private"] = y.str_list(doc, ("settings", "allow_private"), allowed) if allowed else ()
    raw["attachments"] = AttachmentSettings(
        read=raw.pop("read_attachments"), max_bytes=raw.pop("max_attachment_bytes"),
        max_count=raw.pop("max_attachments"), seconds=raw.pop("attachment_seconds"),
        memory_mb=raw.pop("attachment_memory_mb"),
    )  # fmt: skip
    try:
        state_dir = state or secret("WATCHER_STATE")
    except SecretError as exc:
        raise doc.error(("settings", "state"), str(exc)) from exc
    if not state_dir and from_file:  # `${PGPASSWORD}` in a PostgreSQL URL, say
        from_file = y.expand_env(doc, ("settings", "state"), from_file)
    if not state_dir and from_file and is_database_url(from_file):
        state_dir = from_file
    elif not state_dir:  # a path in the file is relative to the file
        state_dir = str(Path(doc.path).resolve().parent / (from_file or DEFAULT_STATE))
    return Settings(
        **raw, per_host_concurrency=host["concurrency"], per_host_delay=host["delay"], state=state_dir
    )


def _sources(doc: y.Doc, value: Any) -> tuple[Source, ...]:
    """The sources, each already built as its entry was read (see `_source`)."""
    if not isinstance(value, list):
        raise doc.error(("sources",), "expected a list of sources")
    return tuple(value)


def _source(doc: y.Doc, at: y.Path_, item: Any, seen: dict[str, str]) -> Source:
    raw = y.record(doc, at, item, _SOURCE, "a source")
    if f"name:{raw['name']}" in seen:
        raise doc.error((*at, "name"), f"duplicate source name {raw['name']!r}")
    if (other := seen.get(f"url:{raw['url']}")) is not None:  # its notices would be filed under one name
        raise doc.error((*at, "url"), f"the same URL as source {other!r}: one source per address")
    seen[f"name:{raw['name']}"] = seen[f"url:{raw['url']}"] = raw["name"]
    selectors = y.record(doc, (*at, "selectors"), raw.pop("selectors"), _SELECTORS, "selectors")
    domains = raw.pop("allowed_domains")
    raw["allowed_domains"] = (
        y.str_list(doc, (*at, "allowed_domains"), domains) if domains else default_domains(raw["url"])
    )
    raw["headers"] = tuple((str(k), str(v)) for k, v in raw["headers"].items())
    if raw["min_interval"] > raw["max_interval"]:
        raise doc.error((*at, "min_interval"), "must not be longer than max_interval")
    if raw["interval"] < 0:  # auto: start at an hour, within the bounds, and learn from the source
        raw["adaptive"] = True
        raw["interval"] = min(max(3600.0, raw["min_interval"]), raw["max_interval"])
    return Source(**raw, selectors=Selectors(**selectors) if any(selectors.values()) else NO_SELECTORS)
