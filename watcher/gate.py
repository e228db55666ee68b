"""One gate for every request watcher makes: http and https only, and public addresses only.

Lists, notices, related notices, feed and gkmlpt entries, robots.txt and each redirect hop all go
through `Fetcher._send`, which asks the gate before connecting. A host may resolve to an internal
address (loopback, private, link-local, CGNAT, multicast, reserved, unspecified, IPv4-mapped) only when
it is a configured source's own host or is listed in `settings.allow_private` (a name, an address or a
network), for bureaus whose pages sit on an intranet. The addresses that were checked are pinned: the
connection goes to them, with no second DNS lookup that could answer differently.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from .errors import FetchError, Refused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
PIN_SECONDS = 60.0


def is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_internal(ip.ipv4_mapped)
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
    )  # fmt: skip


class Gate(AbstractResolver):
    """The rules, and aiohttp's resolver: it resolves through the default resolver, checks, and pins."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            self.allow(entry)
        self._pins: dict[tuple[str, int], tuple[float, list[ResolveResult]]] = {}
        self._inner: AbstractResolver | None = None
        self._literals: set[str] = set()  # scheme://host:port already admitted as an allowed address

    def allow(self, entry: str) -> None:
        """A host name, an address or a network that may be internal."""
        entry = entry.strip().lower()
        try:
            self.networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            self.hosts.add(entry.rstrip("."))

    def check_url(self, url: str) -> tuple[str, int]:
        """(host, port) of a URL watcher may request, or Refused naming the rule. A host written as an
        address (127.0.0.2, [::1], 2130706433, 127.1) is checked here; names when they resolve."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise Refused(url, f"refused: not a usable address ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise Refused(
                url, f"refused: only http and https are fetched, not {parts.scheme or 'a bare path'}:"
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise Refused(url, "refused: no host")
        literal = _literal(host)
        if literal is not None:
            self._check(host, [literal], url)
        return host, port or (443 if parts.scheme == "https" else 80)

    async def admit(self, url: str, resolve: bool = True) -> None:
        """Check a URL and its host's addresses before any connection; pins what was checked. Through a
        proxy (`resolve` false) the proxy resolves the name: only the scheme and literal addresses are
        checked here."""
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        if key in self._literals:  # the common case in a check: the source's own address, again
            return
        host, port = self.check_url(url)
        if _literal(host) is not None:
            self._literals.add(key)
        elif resolve and self._pinned(host, port) is None:
            await self._resolve_checked(host, port, url)

    # aiohttp's resolver interface: the connector asks here, and gets the pinned, checked addresses.
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return self._pinned(host, port) or await self._resolve_checked(host, port, f"{host}:{port}", family)

    def _pinned(self, host: str, port: int) -> list[ResolveResult] | None:
        """The addresses checked for this host within PIN_SECONDS: no second lookup in that time."""
        pinned = self._pins.get((host, port))
        return pinned[1] if pinned and pinned[0] > time.monotonic() else None

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()

    async def _resolve_checked(
        self, host: str, port: int, url: str, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = DefaultResolver()
        try:
            found = await self._inner.resolve(host, port, family)
        except OSError as exc:
            raise FetchError(url, f"cannot resolve {host}: {exc.strerror or exc}") from None
        self._check(host, [ipaddress.ip_address(r["host"].split("%")[0]) for r in found], url)
        self._pins[(host, port)] = (time.monotonic() + PIN_SECONDS, found)
        return found

    def _check(self, host: str, addresses: list[IPAddress], url: str) -> None:
        if host.lower() in self.hosts:
            return
        for ip in addresses:
            if is_internal(ip) and not any(ip in net for net in self.networks):
                raise Refused(
                    url,
                    f"refused: {host} is an internal address ({ip}); only a source's own host or one listed "
                    "in settings.allow_private may be",
                )


def _literal(host: str) -> IPAddress | None:
    """An address written as the host, in any form a resolver would accept (2130706433, 127.1, 0x7f.1)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _NUMERIC.fullmatch(host):
        try:  # the forms inet_aton accepts: decimal, octal, hex, short
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


_NUMERIC = re.compile(r"[0-9a-fA-FxX.]+")
