"""The DevTools protocol over one websocket, on aiohttp's client: commands by id, events by session."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from ..errors import CdpError


class Cdp:
    """The DevTools protocol over one websocket: commands by id, events by session."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._http, self._ws = http, ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {}  # session id ("": browser)
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    async def send(
        self, method: str, params: Mapping[str, Any] | None = None, session: str = "", timeout: float = 10.0
    ) -> dict[str, Any]:
        if self.closed:
            raise CdpError("the browser went away")
        number = next(self._ids)
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = done
        message: dict[str, Any] = {"id": number, "method": method, "params": dict(params or {})}
        if session:
            message["sessionId"] = session
        try:
            await self._ws.send_str(json.dumps(message))
            async with asyncio.timeout(timeout):
                return await done
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise CdpError(f"the browser went away ({exc})") from None
        finally:
            self._waiting.pop(number, None)

    async def _read(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "id" in data:
                    done = self._waiting.get(data["id"])
                    if done is None or done.done():
                        continue
                    if "error" in data:
                        done.set_exception(CdpError(data["error"].get("message", "error")))
                    else:
                        done.set_result(data.get("result") or {})
                elif handler := self.handlers.get(data.get("sessionId", "")):
                    handler(data["method"], data.get("params") or {})
        finally:
            self.closed = True
            for done in self._waiting.values():
                if not done.done():
                    done.set_exception(CdpError("the browser went away"))

    async def close(self) -> None:
        self.closed = True
        await self._ws.close()
        await self._http.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
