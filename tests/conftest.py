from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.localsite import LocalServer

from .kit import NOW, SteppedClock

# Every test talks to servers on 127.0.0.1 that it starts; a proxy configured on the machine (watcher
# honours HTTP_PROXY like curl) must not carry those requests, here or in the processes tests start.
for _name in ("http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_name, None)
    os.environ.pop(_name.upper(), None)

FIXTURES = Path(__file__).parent / "fixtures"
__all__ = ["FIXTURES", "NOW"]


@pytest.fixture
def clock() -> SteppedClock:
    """The clock of in-process tests: NOW until the test moves it (tests/kit.py)."""
    return SteppedClock()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A PostgreSQL server for the session (tests/pg.py); skipped where PostgreSQL is not installed,
    unless WATCHER_REQUIRE_POSTGRES is set (CI), where that is a failure."""
    from .pg import Cluster

    try:
        cluster = Cluster()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("WATCHER_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL here: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh state on each store: a directory, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "state")
    return request.getfixturevalue("pg_cluster").new_database()
