"""/healthz and /metrics: how the daemon is doing, for container health checks and Prometheus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..errors import succeeded
from ..schedule import LATENCY_BUCKETS, failing_sources

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
    lines: list[str] = []

    def family(
        name: str, kind: str, help_: str, samples: Mapping[str, float] | float, label: str = ""
    ) -> None:
        lines.extend([f"# HELP watcher_{name} {help_}", f"# TYPE watcher_{name} {kind}"])
        if isinstance(samples, Mapping):
            lines.extend(f'watcher_{name}{{{label}="{k}"}} {v:g}' for k, v in sorted(samples.items()))
        else:
            lines.append(f"watcher_{name} {samples:g}")

    family("checks_total", "counter", "Source checks by outcome.", s.checks, "outcome")
    failures = {k: v for k, v in s.checks.items() if not succeeded(k)}
    family("check_failures_total", "counter", "Failed source checks by kind.", failures, "kind")
    family("items_total", "counter", "Notices found, by change.", s.items, "change")
    family("alerts_total", "counter", "Alerts delivered or given up since start.", s.alerts, "status")
    family("outbox_alerts", "gauge", "Alerts in the outbox by status.",
           {k: outbox.get(k, 0) for k in ("pending", "sent", "failed")}, "status")  # fmt: skip
    family("sources_failing", "gauge", "Sources whose last check failed.", len(failing_sources(daemon)))
    family("reloads_total", "counter", "Configuration reloads.", s.reloads, "result")
    family("start_time_seconds", "gauge", "When the daemon started (Unix time).", s.started.timestamp())
    family(
        "checks_running", "gauge", "Checks in flight, each holding its source's claim.", len(daemon.claimed)
    )
    family("dispatched_total", "counter", "Due checks started by the dispatcher.", s.dispatched)
    lines += [
        "# HELP watcher_schedule_lag_seconds How late due checks started (the last 10,000).",
        "# TYPE watcher_schedule_lag_seconds summary",
        *(f'watcher_schedule_lag_seconds{{quantile="{q}"}} {s.lag(q):.3f}' for q in (0.5, 0.99)),
    ]
    lines += [
        "# HELP watcher_check_seconds Time a source check takes.",
        "# TYPE watcher_check_seconds histogram",
    ]
    total = 0
    for bound, count in zip([*LATENCY_BUCKETS, "+Inf"], s.latency, strict=True):
        total += count
        lines.append(f'watcher_check_seconds_bucket{{le="{bound}"}} {total}')
    lines += [f"watcher_check_seconds_sum {s.latency_sum:.3f}", f"watcher_check_seconds_count {total}"]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def routes(daemon: Daemon) -> dict[str, object]:
    async def health(request: Request) -> Response:
        return healthz(daemon)

    async def prom(request: Request) -> Response:
        return metrics(daemon)

    return {"/healthz": health, "/metrics": prom}
