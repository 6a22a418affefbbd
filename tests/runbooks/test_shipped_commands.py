"""The shipped commands: parameters, not example values; every placeholder fillable; each
runbook's commands, resolved from one fixed incident, pinned in a golden file.

Regenerate the goldens after an intended change: UPDATE_GOLDEN=1 pytest this file."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops_oncall.runbooks.commandtext import destructive_word, interactive_reason
from mlops_oncall.runbooks.library import Library
from mlops_oncall.runbooks.placeholders import NAMES, gather, resolve, uses

GOLDEN = Path(__file__).parent / "golden"
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

# One incident, its check, its deploys and a workspace's vars; the responder's answers after.
SOURCES = gather(
    incident={
        "public_id": "INC-0007",
        "service": "fraud-scoring",
        "severity": "SEV2",
        "detected_at": T0,
    },
    check={
        "id": "fraud.model-ready",
        "service": "fraud-scoring",
        "url": "http://fraud-scoring.ml-serving:8080/v2/models/fraud/ready",
    },
    deploys=[
        {"id": 12, "version": "42", "outcome": "succeeded"},
        {"id": 11, "version": "41", "outcome": "succeeded"},
    ],
    variables={
        "namespace": "ml-serving",
        "prometheus_url": "http://prometheus.monitoring:9090",
        "mlflow_tracking_uri": "http://mlflow.ml-platform:5000",
        "feature_server_url": "http://feature-server.feast:6566",
        "airflow_url": "http://airflow-api.airflow:8080",
        "dag_id": "nightly_training",
        "fallback_model": "fraud-lite",
        "flag_share": "0.012",
        "llm_api_url": "https://api.openai.com",
        "provider_status_url": "https://status.openai.com",
        "vector_db_url": "http://qdrant.search:6333",
        "index": "docs",
        "kafka_bootstrap": "kafka.streaming:9092",
        "consumer_group": "fraud-stream-scoring",
        "topic": "transactions",
    },
    now=T0.replace(minute=20),
).with_values({name: f"<{name}>" for name, (src, _) in NAMES.items() if src == "responder"})


@pytest.fixture(scope="module")
def lib() -> Library:
    return Library.load([], today=datetime(2026, 11, 28).date())


def _commands(lib):
    for entry in lib.entries.values():
        for step in entry.runbook.steps:
            if step.command:
                yield entry.runbook, step


# A date, a version pinned in a registry call, or a quoted decimal handed to a config.
_LITERALS = [
    (re.compile(r"\b20\d\d-\d\d-\d\d\b"), "a literal date"),
    (re.compile(r"\"version\"\s*:\s*\"?\d"), "a literal version"),
    (re.compile(r"'\d+'\)"), "a literal version"),
    (re.compile(r"\"\d*\.\d+\""), "a literal threshold or value"),
    (re.compile(r"<[a-z][a-z _-]*>"), "an <angle-bracket> stand-in, not a placeholder"),
    (
        re.compile(r"\$\{?(POD|NODE|RUN_ID|DS|START|DDL_TIME|GOOD_IMAGE|BAD_IMAGE)\b"),
        "a shell variable the responder must set by hand",
    ),
]


def test_no_shipped_command_holds_a_literal_version_threshold_or_date(lib):
    found = []
    for rb, step in _commands(lib):
        for pattern, what in _LITERALS:
            m = pattern.search(step.command)
            if m:
                found.append(f"{rb.id}/{step.id}: {what}: {m.group()!r}")
    assert found == []


def test_every_placeholder_has_a_source_and_every_destructive_command_says_so(lib):
    for rb, step in _commands(lib):
        for use in uses(step.command):
            assert use.name in NAMES, (rb.id, step.id, use.name)
        if destructive_word(step.command):
            assert step.risk_level == "destructive", (rb.id, step.id)
        assert interactive_reason(step.command) is None, (rb.id, step.id)


def _golden_text(rb) -> str:
    lines = [f"# {rb.id}: commands resolved for INC-0007 (fraud-scoring, detected {T0:%H:%MZ})"]
    for step in rb.steps:
        if not step.command:
            continue
        r = resolve(step.command, SOURCES)
        assert r.missing == [], (rb.id, step.id, r.missing)
        lines += ["", f"## {step.id} [{step.kind}, risk {step.risk_level}]", r.text.rstrip()]
    return "\n".join(lines) + "\n"


def test_each_runbook_resolves_to_its_golden_commands(lib):
    GOLDEN.mkdir(exist_ok=True)
    update = os.environ.get("UPDATE_GOLDEN") == "1"
    mismatched = []
    for entry in lib.entries.values():
        path = GOLDEN / f"{entry.id}.txt"
        text = _golden_text(entry.runbook)
        if update:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            mismatched.append(entry.id)
    assert mismatched == [], "resolved commands changed; review, then UPDATE_GOLDEN=1"
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(lib.entries)


BAD_ANSWERS = {  # the cause is serving bad answers: NaN/null scores, a failing canary, lookups
    "model-error-rate",
    "bad-model-rollout",
    "feature-store-outage",
    "stale-features-or-model",
}


def test_where_bad_answers_are_served_the_bleeding_stops_first(lib):
    tagged = {e.id for e in lib.entries.values() if "bad-answers" in e.runbook.tags}
    assert tagged >= BAD_ANSWERS
    for rb_id in sorted(tagged):
        steps = lib.get(rb_id).runbook.steps
        first = next(i for i, s in enumerate(steps) if s.kind == "mitigate")
        assert first <= 2, (rb_id, "the first mitigation is step", first + 1)
        assert steps[0].id == "what-changed", rb_id
        for s in steps[1:first]:  # only a decision may stand between: mitigate now, or not
            assert s.kind == "decide", (rb_id, s.id)
            assert steps[first].id in {c.next for c in s.choices}, (rb_id, s.id)
        if first == 1:
            assert steps[0].kind != "decide"


def test_restarts_and_caps_target_the_primary_never_the_canary_objects(lib):
    # Flagger serves stable traffic from <name>-primary; restarting <name> starts an analysis
    # and capping its HPA caps nothing that serves
    canary_target = re.compile(r"(rollout restart deploy/|patch hpa )fraud-scoring(?![\w-])")
    found = [f"{rb.id}/{s.id}" for rb, s in _commands(lib) if canary_target.search(s.command)]
    assert found == []


def test_one_psi_metric_name_across_runbooks_and_scenarios(lib):
    from mlops_oncall.resources import shipped

    names = set()
    for _rb, step in _commands(lib):
        names.update(re.findall(r"\b\w*psi\w*(?=[{(\s])", step.command))
    for path in shipped("scenarios").glob("*.yaml"):
        names.update(re.findall(r"\b\w*_psi\w*", path.read_text()))
    assert names == {"feature_drift_psi"}


def test_scenario_decisions_name_steps_and_choices_the_runbooks_have(lib):
    import yaml

    from mlops_oncall.resources import shipped

    wrong = []
    for path in sorted(shipped("scenarios").glob("*.yaml")):
        sc = yaml.safe_load(path.read_text())
        rb = lib.get(sc["runbook"]).runbook
        for inject in sc.get("injects", []):
            for action in inject.get("expected_actions", []):
                kind, _, rest = str(action).partition(":")
                if kind == "step" and rb.step(rest) is None:
                    wrong.append(f"{path.name}: {action}")
                if kind == "decide":
                    step_id, _, label = rest.partition(":")
                    step = rb.step(step_id)
                    if step is None or label not in [c.label for c in step.choices or []]:
                        wrong.append(f"{path.name}: {action}")
    assert wrong == []


def test_runbook_show_prints_the_references(cli):
    r = cli("runbook", "show", "model-error-rate")
    assert r.code == 0
    assert "## References" in r.out and "mlserver/rest/responses.py" in r.out
