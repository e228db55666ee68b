from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.localsite import LocalServer
from watcher.models import BEIJING

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv
