"""Chaos tests' fixtures: the asyncio backend and the facility file every node serves.

Redis comes from ``private_redis`` (``tests/conftest.py``): a redis-server of the test's own with
an append-only file fsynced on every write, which the tests kill, freeze and restart. Without
``redis-server`` those tests fail in CI (``CI`` set, as ``.ci/run``'s environment has it) and are
skipped elsewhere, saying why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_engine.config import load_facility
from queue_engine.domain.model import Facility
from tests.cluster.support import write_facility

from .support import COUNTERS


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def facility_path(tmp_path: Path) -> Path:
    """The demo puskesmas, open around the clock without quotas, with the desks' counters (see tests/cluster)."""
    return write_facility(tmp_path / "facility.toml", COUNTERS, datetime.now(UTC))


@pytest.fixture
def facility(facility_path: Path) -> Facility:
    return load_facility(facility_path)
