"""The daemon's counters (Stats: updated by the daemon, read by /healthz and /metrics) and their Prometheus
text, which watcher/web/ops.py serves at /metrics. Plain text by hand: a dozen families, not worth
prometheus_client's registry and its process collectors."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from .clock import Clock, system_clock
from .errors import succeeded
from .models import SourceResult

LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120)


@dataclass
class Stats:
    """What /healthz and /metrics report; updated by the daemon, read by the HTTP handlers."""

    clock: Clock = system_clock
    started: dt.datetime = field(init=False)
    last_success: str | None = None
    checks: dict[str, int] = field(default_factory=dict)  # by outcome
    items: dict[str, int] = field(default_factory=lambda: {"new": 0, "changed": 0, "removed": 0})
    alerts: dict[str, int] = field(default_factory=lambda: {"sent": 0, "failed": 0})
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    reloads: dict[str, int] = field(default_factory=lambda: {"ok": 0, "rejected": 0})
    lags: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=10_000))
    dispatched: int = 0

    def __post_init__(self) -> None:
        self.started = self.clock()

    def lag(self, quantile: float) -> float:
        """How late due checks started (seconds), over the last 10,000."""
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    def record(self, result: SourceResult) -> None:
        outcome = str(result.status)
        self.checks[outcome] = self.checks.get(outcome, 0) + 1
        for kind in self.items:
            self.items[kind] += result.count(kind)
        if result.status.succeeded:
            self.last_success = self.clock().isoformat(timespec="seconds")
        index = next((i for i, b in enumerate(LATENCY_BUCKETS) if result.elapsed <= b), len(LATENCY_BUCKETS))
        self.latency[index] += 1
        self.latency_sum += result.elapsed


def exposition(s: Stats, outbox: Mapping[str, int], *, failing: int, running: int) -> str:
    """The counters in Prometheus' text format; `outbox`: alerts by status, `failing`: sources whose last
    check failed, `running`: checks in flight."""
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
    family("sources_failing", "gauge", "Sources whose last check failed.", failing)
    family("reloads_total", "counter", "Configuration reloads.", s.reloads, "result")
    family("start_time_seconds", "gauge", "When the daemon started (Unix time).", s.started.timestamp())
    family("checks_running", "gauge", "Checks in flight, each holding its source's claim.", running)
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
    return "\n".join(lines) + "\n"
