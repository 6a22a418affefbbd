from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlops_oncall.clock import FixedClock
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def db_url(backend_url):
    """The store's URL: each test using it (or store, svc) runs on SQLite and on PostgreSQL."""
    return backend_url


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.close()


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def svc(store, clock):
    return Incidents(store, clock=clock, actor="alice")
