"""Fixtures: the seeded week (built once, copied per test), the documents' sources, goldens."""

from __future__ import annotations

import difflib
import os
import shutil
from functools import partial
from pathlib import Path

import pytest

from mlops_oncall import clock as clock_module
from mlops_oncall.clock import FixedClock
from mlops_oncall.redact import Redactor
from mlops_oncall.reports.sources import load_sources
from mlops_oncall.store.db import open_store
from tests.conftest import FIXTURES, pg_database

from .seed import NOW, TOKEN, seed

GOLDEN = FIXTURES / "reports"
UPDATE = os.environ.get("MLOPS_ONCALL_UPDATE_GOLDEN") == "1"


def pytest_generate_tests(metafunc):
    # a test marked both_backends gets the seeded week (and the empty workspace) on each backend
    if "week_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("week_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def week_backend(request) -> str:
    """sqlite, or each backend in turn for a test marked both_backends."""
    return getattr(request, "param", "sqlite")


def _seed_into(url: str, folder: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:  # session-scoped: isolated_env is not active yet
        mp.setenv("MLOPS_ONCALL_NO_CACHE", "1")
        mp.setenv("MLOPS_ONCALL_CACHE_DIR", str(folder / "_cache"))
        store = open_store(url)
        seed(store, folder)
        store.close()


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeded")
    _seed_into(f"sqlite:///{folder / 'week.db'}", folder)
    return folder


@pytest.fixture(scope="session")
def seeded_pg(pg_admin_url, tmp_path_factory):
    """The seeded week in a PostgreSQL database, built once and copied (as a template) per test."""
    for url in pg_database(pg_admin_url):
        _seed_into(url, tmp_path_factory.mktemp("seeded_pg"))
        yield url.rpartition("/")[2]


def _database(request, backend: str, name: str, template: str | None) -> str:
    """The URL of the test's database: a file in the workspace, a copy of a PostgreSQL template,
    or (no template) the run's shared PostgreSQL database, emptied."""
    if backend == "sqlite":
        return f"sqlite:///{name}"
    if template is None:
        return request.getfixturevalue("pg_store_url")
    admin = request.getfixturevalue("pg_admin_url")
    copy = pg_database(admin, template=request.getfixturevalue(template))
    request.addfinalizer(lambda: next(copy, None))
    return next(copy)


@pytest.fixture
def week(request, week_backend, seeded_db, tmp_path, monkeypatch):
    """A private copy of the seeded database, a workspace around it, and a fixed clock.

    The CLI reads the same workspace (oncall.yaml, checks.yaml, the database) and its clock is
    pinned to the same instant, so the CLI and the core render the same bytes.
    """
    monkeypatch.setenv("MODEL_TOKEN", TOKEN)
    for name in ("week.db", "checks.yaml"):
        shutil.copy(seeded_db / name, tmp_path / name)
    url = _database(request, week_backend, "week.db", "seeded_pg")
    (tmp_path / "oncall.yaml").write_text(f"database: {url}\n", encoding="utf-8")
    fixed = FixedClock(NOW)
    monkeypatch.setattr(clock_module.SYSTEM, "now", fixed.now)
    store = open_store(url if week_backend != "sqlite" else f"sqlite:///{tmp_path / 'week.db'}")
    yield Week(store, fixed, tmp_path)
    store.close()


class Week:
    def __init__(self, store, clock, root: Path):
        self.store = store
        self.clock = clock
        self.root = root
        self.checks_file = root / "checks.yaml"

    def sources(self):
        return load_sources(self.checks_file, Redactor())

    def pm(self, clock=None) -> dict:
        return postmortem_inputs(self.store, clock or self.clock)

    def wk(self, clock=None) -> dict:
        return weekly_inputs(self.store, clock or self.clock)


def postmortem_inputs(store, clock) -> dict:
    """What a postmortem reads, built over ``store`` as a Session would."""
    from mlops_oncall.incidents.deploys import Deploys
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.store.checks_history import transitions

    return {
        "incidents": Incidents(store, clock=clock),
        "deploys": Deploys(store, clock=clock),
        "transitions": partial(transitions, store),
        "clock": clock,
    }


def weekly_inputs(store, clock) -> dict:
    """What the weekly report reads, built over ``store`` as a Session would."""
    from mlops_oncall.drills.records import DrillRecords
    from mlops_oncall.reports.risks import Risks
    from mlops_oncall.store.checks_history import rollups

    pm = postmortem_inputs(store, clock)
    return {
        "incidents": pm["incidents"],
        "deploys": pm["deploys"],
        "rollups": partial(rollups, store),
        "risks": Risks(store, clock=clock),
        "drill_runs": DrillRecords(store, clock).runs(),
        "clock": clock,
    }


@pytest.fixture
def empty(request, week_backend, tmp_path, monkeypatch):
    """An empty workspace: no checks file, an empty database, the same fixed clock."""
    fixed = FixedClock(NOW)
    monkeypatch.setattr(clock_module.SYSTEM, "now", fixed.now)
    url = _database(request, week_backend, "empty.db", None)
    (tmp_path / "oncall.yaml").write_text(f"database: {url}\n", encoding="utf-8")
    store = open_store(url if week_backend != "sqlite" else f"sqlite:///{tmp_path / 'empty.db'}")
    yield Week(store, fixed, tmp_path)
    store.close()


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/fixtures/reports/NAME exactly; MLOPS_ONCALL_UPDATE_GOLDEN=1 rewrites."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden {path}; run with MLOPS_ONCALL_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"golden/{name}",
                "rendered",
            )
        )
        pytest.fail(f"{name} differs from its golden file:\n{diff}")
