"""One exception tree for the whole package, one outcome vocabulary, and the one mapping between them.

    WatcherError
    ├── ConfigError          a configuration file is wrong (names file, line, field)
    ├── FetchError           a page could not be had
    │   ├── Blocked          403, or a 412/521 anti-bot challenge: the site refuses us
    │   ├── HTTPStatusError  any other non-2xx/304 answer
    │   ├── TooLarge         the body passed the size cap while streaming
    │   ├── Timeout          connect, read or total time ran out
    │   ├── ConnectError     DNS, TCP, TLS or redirect trouble
    │   │   └── CertificateError  the site's TLS certificate is not trusted (retrying will not help)
    │   ├── RobotsDisallowed robots.txt forbids the URL
    │   ├── Refused          the gate refused the URL (a scheme or an internal address; see gate.py)
    │   ├── BrowserUnavailable  no Chromium here, or it would not start
    │   └── PageFailed       a page broke the browser's budget (time, memory, a window, a crash)
    ├── ExtractError         the bytes are not a page we can read (binary, empty)
    ├── Unreadable           an attachment cannot be read (the reason in a few words)
    ├── CdpError             Chromium answered a DevTools command with an error, or went away
    ├── StoreError           the state's database failed (SQLite or PostgreSQL; the server's message)
    ├── StateError           the state directory cannot be used as asked (busy, lost, ...)
    └── SecretError          a NAME_FILE variable names a file that cannot be read

Steps raise these; `outcome_of` turns one into an `Outcome` and the words a user reads, for the
pipeline, the daemon, the CLI and the sender alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NamedTuple


class Outcome(StrEnum):
    """How the check of one source ended; stored and shown as its value."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"  # the list answered 304
    ERROR = "error"
    BLOCKED = "blocked"  # the site refuses us (403, a challenge, robots.txt)

    @property
    def succeeded(self) -> bool:
        return self in (Outcome.OK, Outcome.NOT_MODIFIED)


def succeeded(status: str | None) -> bool:
    """Does a status read back from the store or counted by the daemon name a check that succeeded?"""
    return status in (Outcome.OK, Outcome.NOT_MODIFIED)


class WatcherError(Exception):
    """Base of every error watcher raises on purpose."""


class ConfigError(WatcherError):
    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}")


class FetchError(WatcherError):
    """A page could not be fetched; `reason` is one short phrase for logs and tables."""

    status = Outcome.ERROR
    retryable = False  # worth another try after a backoff? (connections and timeouts are)

    def __init__(self, url: str, reason: str, retry_after: float | None = None) -> None:
        self.url, self.reason, self.retry_after = url, reason, retry_after
        super().__init__(f"{url}: {reason}")


class Blocked(FetchError):
    status = Outcome.BLOCKED
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
    status = Outcome.BLOCKED


class Refused(FetchError):
    """The gate refused a URL: never retried, never requested."""

    retryable = False


class BrowserUnavailable(FetchError):
    """No Chromium here, or it would not start."""


class PageFailed(FetchError):
    """The page broke its budget: time, memory, a window, a crash. That source fails, nothing else."""


class ExtractError(WatcherError):
    pass


class Unreadable(WatcherError):
    """The attachment cannot be read; the message says why in a few words."""


class CdpError(WatcherError):
    """Chromium answered a DevTools command with an error, or went away mid-command."""


StoreFailure = Literal["full", "read_only", "damaged", "unreachable", "failed"]


class StoreError(WatcherError):
    """The state's database failed. `message` is the server's own words; `failure` what kind of failure it
    is, read from the error's code (SQLite's result code, PostgreSQL's SQLSTATE) rather than its words."""

    def __init__(self, message: str, failure: StoreFailure = "failed", store: str = "sqlite") -> None:
        self.message, self.failure, self.store = message, failure, store
        super().__init__(message)


class StateError(WatcherError):
    """The state directory cannot be used as asked; the message says what to do."""


class SecretError(WatcherError):
    """A NAME_FILE variable names a file that cannot be read."""


class Failure(NamedTuple):
    outcome: Outcome
    message: str  # what the user reads: the reason, without the address it concerns
    expected: bool  # a WatcherError; otherwise a bug or a page nobody foresaw, worth a traceback


def outcome_of(exc: BaseException) -> Failure:
    """The one mapping from an exception to an outcome and a message."""
    if isinstance(exc, FetchError):
        return Failure(exc.status, exc.reason, True)
    if isinstance(exc, WatcherError):
        return Failure(Outcome.ERROR, str(exc), True)
    return Failure(Outcome.ERROR, f"unexpected {type(exc).__name__}: {exc}"[:300], False)
