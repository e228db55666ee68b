"""/healthz and /metrics: how the daemon is doing, for container health checks and Prometheus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..metrics import exposition
from ..schedule import failing_sources

if TYPE_CHECKING:
    from ..schedule import Daemon


def healthz(daemon: Daemon) -> Response:
    failing = failing_sources(daemon)
    body = {
        "status": "ok" if daemon.healthy() else "stopping" if daemon.stopping.is_set() else "down",
        "scheduler": daemon.scheduler.running,
        "daemon": daemon.owner,
        "sources": len(daemon.config.sources),
        "checking": sorted(daemon.claimed),
        "last_success": daemon.stats.last_success,
        "store_error": daemon.store_error,
        "failing": [
            {
                "name": r["name"],
                "status": r["status"],
                "failures": r["failures"],
                "error": r["error"],
                "retry_at": r["next_due"],
            }
            for r in failing
        ],
    }
    return JSONResponse(body, status_code=200 if daemon.healthy() else 503)


def metrics(daemon: Daemon) -> Response:
    s = daemon.stats
    assert daemon.checker is not None
    outbox = daemon.checker.store.alert_counts()
    text = exposition(s, outbox, failing=len(failing_sources(daemon)), running=len(daemon.claimed))
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def routes(daemon: Daemon) -> dict[str, object]:
    async def health(request: Request) -> Response:
        return healthz(daemon)

    async def prom(request: Request) -> Response:
        return metrics(daemon)

    return {"/healthz": health, "/metrics": prom}
