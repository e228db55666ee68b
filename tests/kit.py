"""The tests' one toolkit: a clock, configurations, checks, the CLI in-process, the daemon as a process and
notice pages. Test modules build on these instead of writing their own.

Time: in-process tests run on a `SteppedClock` (from NOW unless moved), handed to every check, sender and
CLI command, so they pass on any day. Tests that start watcher as a process run it on the system's clock,
so they date their sites from `real_today()`, Beijing's date.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from watcher import config as config_mod
from watcher import demo
from watcher.app import check_sources
from watcher.cli import cli
from watcher.clock import system_clock, today
from watcher.localsite import LocalServer
from watcher.models import BEIJING, SourceResult

from .receivers import free_port, wait_for

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)


class SteppedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def today(self) -> dt.date:
        return today(self)


def real_today() -> dt.date:
    """Beijing's date by the system's clock: for sites read by watcher running as a process."""
    return today(system_clock)


# ---------------------------------------------------------------- configuration

FAST = {"per_host": {"concurrency": 4, "delay": 0}, "timeout": 5, "retries": 0}  # one local host serves all


def source(name: str, url: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "url": url, **options}


def demo_source(server: LocalServer, name: str = "kjj", **options: Any) -> dict[str, Any]:
    """The demo's 通知公告 list (watcher.demo) as a source."""
    return source(name, server.url(demo.LIST_PATH), **options)


def subscriber(name: str, *urls: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "urls": list(urls), **options}


def config_yaml(
    sources: Sequence[Mapping[str, Any]],
    subscribers: Sequence[Mapping[str, Any]] = (),
    alerts: Mapping[str, Any] | None = None,
    **settings: Any,
) -> str:
    """A configuration file's text: `settings` over FAST's; `alerts` as given, or alerts on notices of the
    last 60 days (NOW's site has notices weeks old)."""
    data: dict[str, Any] = {"settings": {**FAST, **settings}, "sources": [dict(s) for s in sources]}
    if subscribers:
        data["subscribers"] = [dict(s) for s in subscribers]
    if alerts := {"recent_days": 60} if alerts is None else alerts:
        data["alerts"] = dict(alerts)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def write_config(path: Path, *args: Any, **kwargs: Any) -> Path:
    """`config_yaml(*args, **kwargs)` written to `path`: for the CLI and for processes."""
    path.write_text(config_yaml(*args, **kwargs), "utf-8")
    return path


def load_config(state: str | Path, *args: Any, **kwargs: Any) -> config_mod.Config:
    """`config_yaml(*args, **kwargs)` loaded with its state in `state` (a directory or a database URL)."""
    return config_mod.load("test.yaml", state=str(state), text=config_yaml(*args, **kwargs))


# ---------------------------------------------------------------- running watcher


def run_check(config: config_mod.Config, clock: SteppedClock | None = None) -> dict[str, SourceResult]:
    """One check of every source, in this process, at `clock`'s time (NOW by default); results by name."""
    results = asyncio.run(check_sources(config, clock=clock or SteppedClock()))
    return {r.name: r for r in results}


def invoke(clock: SteppedClock, *args: str, input: str | None = None) -> Result:
    """The CLI in this process, on `clock`."""
    return CliRunner().invoke(cli, list(args), obj=clock, input=input, catch_exceptions=False)


def watcher(
    config: Path, state: str | Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process (on the system's clock)."""
    cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--state", str(state), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def get(url: str) -> tuple[int, str]:
    """An HTTP GET's status and text; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


class DaemonProcess:
    """`watcher run` as a real process with its page on a free loopback port, logging JSON to `log`."""

    def __init__(self, config: Path, state: str | Path, log: Path | None = None) -> None:
        self.config, self.state, self.port = (
            config,
            Path(state) if "://" not in str(state) else state,
            free_port(),
        )
        self.log = log or Path(str(config)).parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> DaemonProcess:
        cmd = [sys.executable, "-m", "watcher", "--config", str(self.config), "--state", str(self.state),
               "run", "--http", f"127.0.0.1:{self.port}", "--log-format", "json"]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stderr=log, stdout=subprocess.DEVNULL)
        if wait:
            wait_for(lambda: get(self.url("/healthz"))[0] == 200, what="/healthz")
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def health(self) -> dict[str, Any]:
        status, body = get(self.url("/healthz"))
        return dict(json.loads(body)) if status else {}

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text("utf-8").splitlines() if line.startswith("{")]

    def checks_of(self, source: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("source") == source and "status" in line]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- pages

BOILERPLATE = "各有关单位：为做好科技计划项目申报工作，现将有关事项通知如下。"


def notice_page(
    title: str,
    paragraphs: Sequence[str] = (BOILERPLATE * 6,),
    date: str | None = None,
    attachments: Sequence[tuple[str, str]] = (),
    body_id: str = "zoom",
) -> str:
    """A notice: <title> and <h1>, an optional 发布日期 line, the paragraphs and links to attachments
    (name, href) in one body element."""
    dated = f"<p>发布日期：{date}</p>" if date else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    links = "".join(f'<p><a href="{href}">{name}</a></p>' for name, href in attachments)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{dated}"
        f"<div id='{body_id}'>{body}{links}</div></body></html>"
    )
