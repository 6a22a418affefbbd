"""A lenient load of checks.yaml (the TUI's): one broken entry refuses that entry only."""

from __future__ import annotations

from mlops_oncall.checks.config import load_checks

GOOD_AND_BAD = """\
defaults: {interval: 30s, timeout: 1s}
checks:
  - id: good
    url: http://127.0.0.1:9/ok
  - id: typo
    url: http://127.0.0.1:9/x
    warn: ["[RESPONSE_TIM] < 300"]
  - id: also-good
    url: http://127.0.0.1:9/ok
    depends_on: [typo]
  - id: model
    preset: oip_v2
    base_url: http://127.0.0.1:9
    model: fraud
  - id: bad-field
    url: http://127.0.0.1:9/x
    intervall: 5s
"""


def test_partial_builds_the_valid_checks_and_lists_the_refused(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(GOOD_AND_BAD)
    strict, _ = load_checks(path, display="checks.yaml")
    assert strict is None  # the CLI's strict load is unchanged
    checkset, problems = load_checks(path, display="checks.yaml", partial=True)
    assert checkset is not None
    assert set(checkset.specs) == {
        "good",
        "also-good",
        "model.live",
        "model.ready",
        "model.model-ready",
    }
    assert [(r.id, r.index, r.line) for r in checkset.refused] == [
        ("typo", 1, 5),
        ("bad-field", 4, 15),
    ]
    typo = checkset.refused[0].problems
    assert len(typo) == 1
    assert str(typo[0]).startswith("checks.yaml:7:") and "warn[0]" in str(typo[0])
    assert "unknown field 'intervall'" in str(checkset.refused[1].problems[0])
    # the dependency on a refused check is dropped, with a located warning
    assert checkset.specs["also-good"].depends_on == ()
    assert any(
        p.severity == "warning" and p.path == "checks[2].depends_on[0]" and "typo" in p.message
        for p in problems
    )
    # positions survive the entries left out: the source line is the entry's own
    assert checkset.specs["also-good"].source == "checks.yaml:8"
    assert checkset.specs["model.ready"].source == "checks.yaml:11"


def test_partial_still_refuses_a_file_level_error(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text("defaults: {interval: banana}\nchecks:\n  - id: a\n    url: http://x\n")
    checkset, problems = load_checks(path, partial=True)
    assert checkset is None and any(p.path.startswith("defaults") for p in problems)
    path.write_text("checks:\n  - id: a\n    url: [http://x\n")
    checkset, problems = load_checks(path, partial=True)
    assert checkset is None and problems and problems[0].is_error


def test_partial_refused_entry_without_an_id_is_named_by_position(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text("checks:\n  - url: http://127.0.0.1:9/\n  - id: ok\n    url: http://x.test/\n")
    checkset, _ = load_checks(path, partial=True)
    assert checkset is not None and list(checkset.specs) == ["ok"]
    assert [r.id for r in checkset.refused] == ["checks[0]"]


def test_partial_duplicate_id_refuses_the_second_only(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  - id: a\n    url: http://x.test/1\n  - id: a\n    url: http://x.test/2\n"
    )
    checkset, _ = load_checks(path, partial=True)
    assert checkset is not None
    assert checkset.specs["a"].url == "http://x.test/1"
    assert [(r.id, r.index) for r in checkset.refused] == [("a", 1)]


def test_the_tui_session_warns_of_a_runbook_that_does_not_exist(tmp_path):
    """`check validate` refused an unknown `runbook:`; the TUI's load said nothing."""
    from mlops_oncall.config import Config, Workspace
    from mlops_oncall.session import Session

    (tmp_path / "runbooks").mkdir()
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  - id: fraud\n    url: http://127.0.0.1:9/ok\n    runbook: model-latency-spke\n"
    )
    ws = Workspace(config=Config(name="t", runbooks=["runbooks"]), root=tmp_path)
    session = Session(ws, checks_file=path, database_url="sqlite:///:memory:")
    checkset = session.checks  # at boot the checks load before the library
    session.note_unknown_runbooks()  # the TUI calls this once the library has loaded
    assert checkset is not None and "fraud" in checkset.specs  # still polled
    (problem,) = [p for p in session.check_problems if "runbook" in p.message]
    assert not problem.is_error and problem.line == 4
    assert "model-latency-spke" in problem.message
