"""One exception tree for the whole package.

    WatcherError
    ├── ConfigError          a configuration file is wrong (names file, line, field)
    ├── FetchError           a page could not be had
    │   ├── Blocked          403, or a 412/521 anti-bot challenge: the site refuses us
    │   ├── HTTPStatusError  any other non-2xx/304 answer
    │   ├── TooLarge         the body passed the size cap while streaming
    │   ├── Timeout          connect, read or total time ran out
    │   ├── ConnectError     DNS, TCP, TLS or redirect trouble
    │   │   └── CertificateError  the site's TLS certificate is not trusted (retrying will not help)
    │   └── RobotsDisallowed robots.txt forbids the URL
    ├── ExtractError         the bytes are not a page we can read (binary, empty)
    └── StoreError           the state's database failed (SQLite or PostgreSQL; the server's message)

Steps raise these; only the pipeline turns them into outcomes.
"""

from __future__ import annotations

from typing import Literal


class WatcherError(Exception):
    """Base of every error watcher raises on purpose."""


class ConfigError(WatcherError):
    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}")


class FetchError(WatcherError):
    """A page could not be fetched; `reason` is one short phrase for logs and tables."""

    status = "error"
    retryable = False  # worth another try after a backoff? (connections and timeouts are)

    def __init__(self, url: str, reason: str, retry_after: float | None = None) -> None:
        self.url, self.reason, self.retry_after = url, reason, retry_after
        super().__init__(f"{url}: {reason}")


class Blocked(FetchError):
    status = "blocked"
    scripted = False  # the refusal runs a script (a challenge that sets a cookie): a browser may pass it


class HTTPStatusError(FetchError):
    def __init__(self, url: str, code: int, retry_after: float | None = None) -> None:
        self.code = code
        super().__init__(url, f"HTTP {code}", retry_after)

    @property
    def retryable(self) -> bool:  # type: ignore[override]  # read-only here: it follows the status code
        return self.code >= 500 or self.code == 429


class TooLarge(FetchError):
    pass


class Timeout(FetchError):
    retryable = True


class ConnectError(FetchError):
    retryable = True


class CertificateError(ConnectError):
    retryable = False  # a certificate does not mend in a second


class RobotsDisallowed(FetchError):
    status = "blocked"


class ExtractError(WatcherError):
    pass


StoreFailure = Literal["full", "read_only", "damaged", "unreachable", "failed"]


class StoreError(WatcherError):
    """The state's database failed. `message` is the server's own words; `failure` what kind of failure it
    is, read from the error's code (SQLite's result code, PostgreSQL's SQLSTATE) rather than its words."""

    def __init__(self, message: str, failure: StoreFailure = "failed", store: str = "sqlite") -> None:
        self.message, self.failure, self.store = message, failure, store
        super().__init__(message)
