"""The one outcome vocabulary and the one mapping from an exception to an outcome and a message."""

from __future__ import annotations

import pytest

from watcher import errors
from watcher.errors import (
    Blocked,
    CertificateError,
    ConnectError,
    ExtractError,
    HTTPStatusError,
    Outcome,
    Refused,
    RobotsDisallowed,
    StateError,
    StoreError,
    Timeout,
    Unreadable,
    WatcherError,
    outcome_of,
    succeeded,
)

URL = "http://bureau.example/list/"


@pytest.mark.parametrize(
    ("exc", "outcome", "message", "expected"),
    [
        (Blocked(URL, "anti-bot challenge (HTTP 412)"), Outcome.BLOCKED, "anti-bot challenge (HTTP 412)", True),
        (RobotsDisallowed(URL, "robots.txt disallows"), Outcome.BLOCKED, "robots.txt disallows", True),
        (HTTPStatusError(URL, 503), Outcome.ERROR, "HTTP 503", True),
        (Timeout(URL, "timed out (read)"), Outcome.ERROR, "timed out (read)", True),
        (CertificateError(URL, "TLS certificate not trusted"), Outcome.ERROR, "TLS certificate not trusted", True),
        (Refused(URL, "refused: 10.0.0.1 is an internal address"), Outcome.ERROR,
         "refused: 10.0.0.1 is an internal address", True),
        (ExtractError("binary content, not a text page"), Outcome.ERROR, "binary content, not a text page", True),
        (StoreError("database or disk is full", "full"), Outcome.ERROR, "database or disk is full", True),
        (StateError("the state is busy"), Outcome.ERROR, "the state is busy", True),
        (KeyError("title"), Outcome.ERROR, "unexpected KeyError: 'title'", False),
        (ValueError("x" * 400), Outcome.ERROR, "unexpected ValueError: " + "x" * 277, False),
    ],
)  # fmt: skip
def test_outcome_of(exc: BaseException, outcome: Outcome, message: str, expected: bool) -> None:
    failure = outcome_of(exc)
    assert (failure.outcome, failure.message, failure.expected) == (outcome, message, expected)
    assert not failure.outcome.succeeded


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        ("ok", True),
        ("not_modified", True),
        ("error", False),
        ("blocked", False),
        ("crashed", False),
        (None, False),
    ],
)
def test_succeeded_reads_stored_statuses(status: str | None, ok: bool) -> None:
    assert succeeded(status) is ok
    if status in Outcome.__members__.values():
        assert Outcome(status).succeeded is ok


def test_outcomes_are_their_stored_words() -> None:
    assert [str(o) for o in Outcome] == ["ok", "not_modified", "error", "blocked"]
    assert f"{Outcome.NOT_MODIFIED}" == "not_modified" and Outcome.BLOCKED == "blocked"


def test_every_exception_watcher_defines_is_in_the_tree() -> None:
    """Each exception class any watcher module defines derives from WatcherError (and lives in errors.py)."""
    import importlib
    import pkgutil

    import watcher

    strays = []
    for info in pkgutil.walk_packages(watcher.__path__, "watcher."):
        if info.name.endswith(("__main__", ".child")):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and info.name != "watcher.errors"
            ):
                strays.append(f"{info.name}.{value.__name__}")
    assert strays == []
    assert issubclass(Unreadable, WatcherError) and issubclass(ConnectError, errors.FetchError)
