"""The HTTP side: /healthz and /metrics for the daemon, the subscriber page and Atom feeds. Read-only."""

from .server import build_app, serve

__all__ = ["build_app", "serve"]
