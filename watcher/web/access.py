"""Who may read the page and the feeds: anyone on loopback by default; with WATCHER_PAGE_PASSWORD (or
WATCHER_PAGE_PASSWORD_FILE, a Docker secret), HTTP basic auth with that password (any user name), or for a
feed its own token (`?token=`, derived from the password and the feed's path, so one subscriber's feed
address opens no other page). /healthz and /metrics stay open for probes: they name no notice and no
subscriber."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse

from ..secrets import secret

OPEN = ("/healthz", "/metrics")
PASSWORD = "WATCHER_PAGE_PASSWORD"


def page_password() -> str | None:
    return secret(PASSWORD) or None


def feed_token(password: str, path: str) -> str:
    """The token that opens one feed (its path, such as /feeds/subscribers/ops.xml) and nothing else."""
    return hmac.new(password.encode(), path.encode(), hashlib.sha256).hexdigest()[:32]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, password: str | None) -> str | None:
    """What to say at start-up when the page is served beyond this machine without a password."""
    if password or is_loopback(host):
        return None
    return (
        f"the page and the feeds on {host} are open to anyone who can reach it, subscriber names included: "
        f"set {PASSWORD} (or {PASSWORD}_FILE) to require a password"
    )


class Guard:
    """ASGI middleware: a request without the password (or its feed's token) is answered 401."""

    def __init__(self, app: Any, password: str) -> None:
        self.app, self.password = app, password

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        denied = PlainTextResponse(
            "a password is needed\n", status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="watcher", charset="UTF-8"'},
        )  # fmt: skip
        await denied(scope, receive, send)

    def _allowed(self, scope: dict[str, Any]) -> bool:
        path = scope["path"]
        if path.startswith("/feeds/"):
            tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
            if any(hmac.compare_digest(t, feed_token(self.password, path)) for t in tokens):
                return True
        headers = dict(scope.get("headers") or [])
        kind, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            _user, _, given = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), self.password.encode())
