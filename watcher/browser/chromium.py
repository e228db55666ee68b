"""One Chromium process: started with its flags behind the gate's proxy, its DevTools connection, the pages
it renders (each in a context of its own, under the page budget), its memory, and its end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from collections import deque
from typing import Any

import aiohttp

from ..errors import BrowserUnavailable, CdpError, PageFailed
from ..gate import Gate
from ..gateproxy import GateProxy
from .cdp import Cdp
from .page import PageRun
from .records import BrowserSettings, Rendered

# The flags Chromium needs here: headless, no sandbox (containers), and none of its own traffic (sync,
# component updates, QUIC probes, first-run pages) which would try the network on its own.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
    "--deny-permission-prompts", "--disable-dev-shm-usage", "--password-store=basic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # no STUN probes around the gate
    "--disable-features=Translate,MediaRouter,OptimizationHints,NetworkPrediction,InterestFeedContentSuggestions",
    "--lang=zh-CN",  # an undeclared charset is read as GBK, as watcher reads it
    "--remote-debugging-port=0",  # the address is read from stderr; 127.0.0.1 only
)  # fmt: skip
EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def find_executable(given: str | None = None) -> str | None:
    if given:
        return given if os.access(given, os.X_OK) else shutil.which(given)
    return next(filter(None, map(shutil.which, EXECUTABLES)), None)


class Chromium:
    """One Chromium process, its profile directory and its DevTools connection."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        profile: str,
        cdp: Cdp,
        settings: BrowserSettings,
        proxy: GateProxy,
    ) -> None:
        self.proc, self.profile, self.cdp, self.settings = proc, profile, cdp, settings
        self.proxy, self.gate = proxy, proxy.gate
        self.active = self.served = 0
        self.retired = self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._runs: dict[str, PageRun] = {}  # browser context → its page, to hear of windows it opens
        cdp.handlers[""] = self._browser_event

    @classmethod
    async def launch(cls, executable: str, settings: BrowserSettings, gate: Gate) -> Chromium:
        import tempfile  # here: a daemon that never starts the browser does not carry it

        proxy = GateProxy(gate)
        address = await proxy.start()
        profile = tempfile.mkdtemp(prefix="watcher-chromium-")
        proc = await asyncio.create_subprocess_exec(
            executable, *FLAGS, f"--user-data-dir={profile}", f"--proxy-server={address}",
            "--proxy-bypass-list=<-loopback>",  # loopback too: Chromium would otherwise go there directly
            f"--js-flags=--max-old-space-size={settings.page_memory_mb}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,  # its own group: killed as one
        )  # fmt: skip
        tail: deque[str] = deque(maxlen=8)
        try:
            address = await asyncio.wait_for(_listening(proc, tail), 30)
            http = aiohttp.ClientSession()
            ws = await http.ws_connect(address, max_msg_size=64 << 20, autoping=False)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            _kill(proc)
            await proxy.close()
            shutil.rmtree(profile, ignore_errors=True)
            detail = " / ".join(tail) or str(exc) or type(exc).__name__
            raise BrowserUnavailable("", f"Chromium did not start: {detail[:300]}") from None
        asyncio.get_running_loop().create_task(_drain(proc, tail))  # a full stderr pipe would stall it
        chromium = cls(proc, profile, Cdp(http, ws), settings, proxy)
        await chromium.cdp.send("Target.setDiscoverTargets", {"discover": True})
        return chromium

    @property
    def dead(self) -> bool:
        return self.cdp.closed or self.proc.returncode is not None

    async def drained(self) -> None:
        await self._idle.wait()

    def _browser_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Target.targetCreated":
            info = params["targetInfo"]
            run = self._runs.get(info.get("browserContextId", ""))
            if run is not None and run.target and info["type"] == "page" and info["targetId"] != run.target:
                run.fail(PageFailed(run.url, "the page opened a window"))
        elif method == "Target.targetCrashed":
            for run in self._runs.values():
                if run.target == params.get("targetId"):
                    run.crashed()

    async def render(
        self, url: str, validators: tuple[str | None, str | None], headers: dict[str, str], verify: bool
    ) -> Rendered:
        self._idle.clear()
        context = (await self.cdp.send("Target.createBrowserContext", {"disposeOnDetach": True}))[
            "browserContextId"
        ]
        run = PageRun(self, context, url, validators, headers)
        self._runs[context] = run
        try:
            async with asyncio.timeout(self.settings.page_seconds):
                return await run.run(verify)
        except TimeoutError:
            raise PageFailed(
                url,
                f"the page did not settle within {self.settings.page_seconds:g} s (a script that never ends?)",
            ) from None
        except CdpError as exc:
            raise PageFailed(url, f"the browser failed on this page: {exc}") from None
        finally:
            run.stop()
            del self._runs[context]
            with contextlib.suppress(CdpError, TimeoutError):
                await self.cdp.send("Target.disposeBrowserContext", {"browserContextId": context}, timeout=5)
            if self.active <= 1:
                self._idle.set()

    def rss(self) -> int:
        """The summed resident memory of the browser's processes (its own process group), in bytes."""
        return _group_rss(self.proc.pid) if self.proc.returncode is None else 0

    async def close(self) -> None:
        if self._closed:  # the last page out and the next page in may both close a retired browser
            return
        self._closed = True
        with contextlib.suppress(CdpError, TimeoutError):
            if not self.cdp.closed:
                await self.cdp.send("Browser.close", timeout=2)
        await self.cdp.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            _kill(self.proc)
            await self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygotes, renderers) left in its group
        await self.proxy.close()
        shutil.rmtree(self.profile, ignore_errors=True)


async def _listening(proc: asyncio.subprocess.Process, tail: deque[str]) -> str:
    assert proc.stderr is not None
    while line := await proc.stderr.readline():
        text = line.decode("utf-8", "replace").strip()
        if found := _LISTENING.search(text):
            return found.group(1)
        if text and "dbus" not in text:
            tail.append(text)
    raise OSError(f"Chromium exited ({proc.returncode})")


async def _drain(proc: asyncio.subprocess.Process, tail: deque[str]) -> None:
    assert proc.stderr is not None
    with contextlib.suppress(OSError, ValueError):
        while line := await proc.stderr.readline():
            tail.append(line.decode("utf-8", "replace").strip())


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _group_rss(group: int) -> int:
    """The memory of the processes in a process group, in bytes, from /proc (0 where there is none): their
    proportional set sizes, so that what Chromium's processes share is counted once, not once each (their
    summed RSS is about twice as much)."""
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
                if int(stat[stat.rindex(b")") + 2 :].split()[2]) != group:  # state, ppid, pgrp
                    continue
                with open(f"/proc/{entry.name}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith(b"Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except (OSError, ValueError, IndexError):
                continue
    return total
