"""The Starlette app and the uvicorn server that runs it inside the daemon's event loop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from ..clock import Clock, system_clock
from ..config import Config
from . import ops
from .access import Guard, page_password
from .feeds import Feeds
from .pages import Pages

if TYPE_CHECKING:
    from ..schedule import Daemon


def build_app(
    config: Config, daemon: Daemon | None = None, clock: Clock = system_clock, password: str | None = None
) -> Starlette:
    """The page and the feeds; with a daemon, also /healthz and /metrics. `password` (by default
    WATCHER_PAGE_PASSWORD or its _FILE): required of every page and feed (see access.py)."""
    now = clock
    pages = Pages((lambda: daemon.config) if daemon else (lambda: config), now)
    routes: list[Route] = [*pages.routes(), *Feeds(pages).routes()]
    if daemon is not None:
        routes += [Route(path, endpoint) for path, endpoint in ops.routes(daemon).items()]  # type: ignore[arg-type]
    password = password or page_password()
    app = Starlette(routes=routes, middleware=[Middleware(Guard, password=password)] if password else [])
    app.state.close = pages.close  # the read connections, for whoever stops the server
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon owns SIGTERM, SIGINT and SIGHUP


async def serve(app: Any, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    await _Server(config).serve()
