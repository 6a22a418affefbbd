"""Every malformed runbook gives exact, located problems: file, line, column, path, message."""

from __future__ import annotations

import pytest

from mlops_oncall.runbooks.loader import load_runbook
from tests.conftest import FIXTURES

MALFORMED = FIXTURES / "malformed"

EXPECTED: dict[str, list[str]] = {
    "alias_bomb.yaml": [
        "31:33: document expands to more than 200000 values; aliases that multiply (an alias bomb) are refused"
    ],
    "bad_category.yaml": [
        "3:11: category: expected one of serving, data, pipeline, quality, release, cost; got 'servng' (did you mean 'serving'?)"
    ],
    "bad_date.yaml": ["6:17: last_validated: expected a date as YYYY-MM-DD, got 'last tuesday'"],
    "impossible_date.yaml": [
        "6:17: last_validated: expected a date as YYYY-MM-DD, got '2026-13-01'"
    ],
    "bad_duration.yaml": [
        "30:21: escalation.after: expected a duration with a unit such as '30s', '5m', '26h' or '7d', got '30 minutes'"
    ],
    "bad_error_class.yaml": [
        "9:28: triggers.error_classes[0]: expected one of dns, connect, tls, timeout, http_status, body_too_large, redirects, body_parse, condition, protocol, service_unknown, unimplemented, unauthenticated, grpc_status, promql_bad_data, promql_execution, promql_unavailable, no_data; got 'timeot' (did you mean 'timeout'?)"
    ],
    "bad_id.yaml": [
        "1:5: id: expected an id of lowercase letters, digits, '-', '_' or '.', got 'Model Latency'"
    ],
    "bad_severity.yaml": [
        "4:11: severity: expected one of SEV1, SEV2, SEV3, SEV4; got 'SEV5' (did you mean 'SEV4'?)"
    ],
    "bad_step_kind.yaml": [
        "29:11: steps[4].kind: expected one of diagnose, decide, mitigate, verify, communicate, escalate; got 'verfy' (did you mean 'verify'?)"
    ],
    "choice_missing_next.yaml": [
        "19:9: steps[1].choices[1].next: required field is missing",
        "24:5: warning: steps[3]: step 'scale-out' is unreachable: no step or choice leads to it",
    ],
    "choices_on_mitigate.yaml": [
        "20:5: steps[2]: only decide steps have a question and choices (this is 'mitigate')"
    ],
    "comments_only.yaml": ["1:1: file is empty; expected a mapping"],
    "decide_with_next.yaml": [
        "13:5: steps[1]: a decide step flows only through its choices; remove 'next'"
    ],
    "decide_without_choices.yaml": [
        "13:5: steps[1]: a decide step needs at least two 'choices'",
        "21:5: warning: steps[3]: step 'scale-out' is unreachable: no step or choice leads to it",
    ],
    "deep_nesting.yaml": ["95:129: nesting deeper than 64 levels is refused"],
    "duplicate_key.yaml": ["6:1: duplicate key 'owner' (first defined on line 5)"],
    "duplicate_step_id.yaml": [
        "19:29: steps[1].choices[1].next: unknown step 'scale-out' (did you mean 'rolled-out'?)",
        "24:9: steps[3].id: duplicate step id 'rollback' (first used by steps[2])",
    ],
    "empty.yaml": ["1:1: file is empty; expected a mapping"],
    "invalid_utf8.yaml": ["8:26: invalid UTF-8 (byte 0xe9); save the file as UTF-8"],
    "missing_steps.yaml": ["1:1: steps: required field is missing"],
    "missing_title.yaml": ["1:1: title: required field is missing"],
    "no_steps.yaml": ["9:8: steps: needs at least 1 item"],
    "several_problems.yaml": [
        "4:11: severity: expected one of SEV1, SEV2, SEV3, SEV4; got 2",
        "12:5: steps[0].comand: unknown field 'comand' (did you mean 'command'?)",
        "23:11: steps[2].next: unknown step 'verfy' (did you mean 'verify'?)",
    ],
    "steps_not_list.yaml": ["9:8: steps: expected a list, got 'check the dashboard'"],
    "symptoms_mapping.yaml": ["9:11: symptoms: expected a list, got a mapping"],
    "tab_indent.yaml": ["11:1: tab character used for indentation; YAML needs spaces"],
    "title_empty.yaml": ["2:8: title: must not be empty"],
    "top_level_list.yaml": ["1:1: the top level must be a mapping of fields, got a list"],
    "top_level_scalar.yaml": [
        "1:1: the top level must be a mapping of fields, got the text 'just some text'"
    ],
    "unclosed_bracket.yaml": [
        "31:1: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping started on line 30)"
    ],
    "unknown_choice.yaml": [
        "18:30: steps[1].choices[0].next: unknown step 'rollbak' (did you mean 'rollback'?)"
    ],
    "unknown_field.yaml": ["3:1: tittle: unknown field 'tittle' (did you mean 'title'?)"],
    "unknown_next.yaml": ["23:11: steps[2].next: unknown step 'verfy' (did you mean 'verify'?)"],
    "unknown_step_field.yaml": [
        "12:5: steps[0].comand: unknown field 'comand' (did you mean 'command'?)"
    ],
    "unreachable_step.yaml": [
        "24:5: warning: steps[3]: step 'orphan' is unreachable: no step or choice leads to it"
    ],
}


def test_every_fixture_has_an_expectation():
    on_disk = {p.name for p in MALFORMED.glob("*.yaml")}
    assert on_disk == set(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_fixture(name):
    loaded = load_runbook(MALFORMED / name, name)
    got = [str(p) for p in loaded.problems]
    assert got == [f"{name}:{e}" for e in EXPECTED[name]]
    has_error = any(p.is_error for p in loaded.problems)
    # a runbook with any error is never handed out to be worked
    assert (loaded.runbook is None) == has_error


def test_warnings_alone_leave_a_usable_runbook():
    loaded = load_runbook(MALFORMED / "unreachable_step.yaml")
    assert loaded.ok
    assert loaded.runbook is not None
    assert loaded.runbook.step("orphan") is not None


def test_missing_file_and_directory(tmp_path):
    missing = load_runbook(tmp_path / "nope.yaml", "nope.yaml")
    assert [str(p) for p in missing.problems] == ["nope.yaml:1:1: file not found"]
    folder = load_runbook(tmp_path, "dir")
    assert [str(p) for p in folder.problems] == ["dir:1:1: is a directory, expected a YAML file"]


def test_json_problem_shape():
    loaded = load_runbook(MALFORMED / "unknown_next.yaml", "x.yaml")
    assert loaded.problems[0].to_json() == {
        "file": "x.yaml",
        "line": 23,
        "col": 11,
        "path": "steps[2].next",
        "severity": "error",
        "message": "unknown step 'verfy' (did you mean 'verify'?)",
    }
