"""Session is the one way in: it builds every service, once, over one store and one redactor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlops_oncall
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session

SRC = Path(mlops_oncall.__file__).parent
TOKEN = "tok-4f9a2c71e8"
LATER = "later-93be55d0"


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_TOKEN", TOKEN)
    monkeypatch.setenv("LATER_TOKEN", LATER)
    (tmp_path / "oncall.yaml").write_text(
        f"name: t\ndatabase: sqlite:///{tmp_path / 'oncall.db'}\n", encoding="utf-8"
    )
    _write_checks(tmp_path, "MODEL_TOKEN")
    s = Session(load_workspace(tmp_path / "oncall.yaml"))
    yield s
    s.close()


def _write_checks(root: Path, env: str) -> None:
    (root / "checks.yaml").write_text(
        "checks:\n"
        '  - {id: api, url: "http://127.0.0.1:9/health", '
        f'headers: {{X-Model-Token: "${{env:{env}}}"}}}}\n',
        encoding="utf-8",
    )


def test_every_service_shares_the_one_store_and_redactor(session):
    services = [session.incidents, session.deploys, session.risks, session.drills]
    services += [session.incidents_as("priya"), session.deploys_as("ci")]
    services.append(session.risks_as("alice"))
    assert all(svc.store is session.store for svc in services)
    assert all(svc.redactor is session.redactor for svc in services)
    assert session.incidents is session.incidents  # built once
    assert session.redactor.text(f"sent {TOKEN}") == "sent ***"


def test_incidents_as_records_the_other_actor(session):
    view = session.incidents_as("priya").declare("p99 up", "SEV3")
    session.incidents.note(view.id, "looking")
    actors = [e.actor for e in session.incidents.events(view.id)]
    assert actors[0] == "priya"
    assert actors[-1] == session.actor != "priya"


def test_sources_teach_the_session_redactor_a_secret_added_later(session, tmp_path):
    assert session.redactor.text(LATER) == LATER
    _write_checks(tmp_path, "LATER_TOKEN")
    sources = session.sources()
    assert sources.redactor is session.redactor
    assert set(sources.checks) == {"api"}
    assert session.incidents.redactor.text(f"{TOKEN} {LATER}") == "*** ***"


def test_loaded_checks_teach_the_redactor_without_reading_the_file_again(session, tmp_path):
    """The TUI's path: the checks are loaded first; the redactor learns their secrets from
    them, and a reload that adds one (use_checks) teaches it that one too."""
    checks = session.checks
    (tmp_path / "checks.yaml").unlink()  # a second read would now learn nothing
    assert session.redactor.text(f"sent {TOKEN}") == "sent ***"
    _write_checks(tmp_path, "LATER_TOKEN")
    assert session.redactor.text(LATER) == LATER
    reloaded, problems = session.load_checks()
    assert reloaded is not None and reloaded is not checks
    session.use_checks(reloaded, problems)
    assert session.incidents.redactor.text(f"{TOKEN} {LATER}") == "*** ***"


# what only session.py builds; a second place that builds one is a second, diverging way in
BUILT_BY_SESSION = {"Incidents", "Deploys", "Risks", "open_store"}
# a Redactor is built by the session (the workspace's), by the checks loader (the secrets it
# resolves, which the session's then learns), and once as the shapes-only DEFAULT of
# redact.py (what a service built without a session, in a test, masks with)
REDACTOR_BUILT_IN = {"session.py", "redact.py", "checks/config.py"}


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


def test_services_are_built_only_by_the_session():
    stray = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        called = _calls(path)
        if rel != "session.py":
            stray += [f"{rel}: {name}(...)" for name in sorted(called & BUILT_BY_SESSION)]
        if "Redactor" in called and rel not in REDACTOR_BUILT_IN:
            stray.append(f"{rel}: Redactor()")
    assert stray == []
