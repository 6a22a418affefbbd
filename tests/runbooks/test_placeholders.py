"""Placeholders: plain {{ name }} substitution, quoted for the shell context each lands in;
missing names reported, never run; unknown names refused by validate with file:line:col."""

from __future__ import annotations

import shlex
import subprocess
from datetime import UTC, datetime

from mlops_oncall.runbooks.library import Library
from mlops_oncall.runbooks.placeholders import gather, malformed, resolve

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _echo_args(command: str) -> list[str]:
    """The words a real shell splits the command into (printed one per line by printf)."""
    out = subprocess.run(
        ["sh", "-c", command.replace("echo-args", "printf '%s\\n'", 1)],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return out.stdout.splitlines()


def test_values_are_substituted_and_missing_names_reported():
    r = resolve(
        "kubectl -n {{ namespace }} rollout undo deploy/{{service}} {{ pod }}",
        {
            "namespace": "ml-serving",
            "service": "fraud-scoring",
        },
    )
    assert r.text == "kubectl -n ml-serving rollout undo deploy/fraud-scoring {{ pod }}"
    assert r.missing == ["pod"] and not r.complete


def test_a_hostile_value_stays_one_word_in_every_quoting_context(tmp_path):
    evil = "x'; touch " + str(tmp_path / "pwned") + "; echo '$(id)\"`id`"
    command = (
        "echo-args {{ v }} 'single {{ v }} end' \"double {{ v }} end\" pre{{ v }}post "
        '"nested $(printf %s "in {{ v }}")"'
    )
    r = resolve(command, {"v": evil})
    assert r.complete
    words = _echo_args(r.text)
    assert words == [
        evil,
        f"single {evil} end",
        f"double {evil} end",
        f"pre{evil}post",
        f"nested in {evil}",
    ]
    assert not (tmp_path / "pwned").exists()
    assert shlex.quote(evil) in r.text


def test_safe_values_go_in_as_they_are_inside_quotes():
    r = resolve(
        "curl --data-urlencode 'query=up{namespace=\"{{ namespace }}\"}'",
        {"namespace": "ml-serving"},
    )
    assert r.text == "curl --data-urlencode 'query=up{namespace=\"ml-serving\"}'"


def test_malformed_placeholders_are_found():
    assert malformed("echo {{ ok }} and {{ Bad-Name }}") == 18
    assert malformed("echo {{ ok }}") is None
    assert malformed("echo {{ unclosed") == 5


def test_gather_fills_from_incident_check_deploys_and_vars():
    incident = {
        "public_id": "INC-0007",
        "service": "fraud-scoring",
        "severity": "SEV2",
        "detected_at": T0,
    }
    check = {
        "id": "fraud.model-ready",
        "service": "fraud-scoring",
        "url": "http://fraud.ml:8080/v2/models/fraud/ready",
    }
    deploys = [  # newest first, as Deploys.list gives them
        {"id": 9, "version": "43", "outcome": "rolled_back"},
        {"id": 8, "version": "42", "outcome": "succeeded"},
        {"id": 7, "version": "42", "outcome": "succeeded"},
        {"id": 6, "version": "41", "outcome": "succeeded"},
    ]
    src = gather(
        incident=incident,
        check=check,
        deploys=deploys,
        variables={"namespace": "ml-serving", "service": "ignored"},
        now=T0.replace(minute=30),
    )
    v = src.values
    assert v["service"] == "fraud-scoring" and v["incident"] == "INC-0007"
    assert v["detected_at"] == "2026-11-28T03:00:00Z"
    assert v["since"] == "150m"  # 2h before detection until 30 min after it
    assert v["model"] == "fraud" and v["base_url"] == "http://fraud.ml:8080"
    assert (v["current_version"], v["previous_version"]) == ("42", "41")
    assert v["namespace"] == "ml-serving"
    assert src.origins["previous_version"] == "deploy 6"
    assert "logical_date" not in v and src.hints["logical_date"] == "2026-11-27T00:00:00+00:00"


def _runbook(tmp_path, command: str):
    text = f"""\
id: t
title: T
category: serving
severity: SEV2
owner: me
last_validated: 2026-11-20
triggers: {{alerts: [A]}}
meaning: m
impact: i
steps:
  - id: a
    title: A
    command: >-
      kubectl -n {{{{ namespace }}}} get pods
      -l app={{{{ servce }}}}
  - id: b
    title: B
    command: {command}
"""
    d = tmp_path / "rb"
    d.mkdir()
    (d / "t.yaml").write_text(text)
    return d


def test_validate_reports_unknown_placeholders_at_their_line_and_column(tmp_path, cli):
    d = _runbook(tmp_path, "echo {{ cluster }}")
    r = cli("runbook", "validate", d)
    assert r.code == 1
    lines = [ln for ln in r.out.splitlines() if "unknown placeholder" in ln]
    assert len(lines) == 2
    assert lines[0].startswith(f"{d / 't.yaml'}:15:14: steps[0].command: unknown placeholder")
    assert "'{{ servce }}'" in lines[0] and "did you mean 'service'" in lines[0]
    assert lines[1].startswith(f"{d / 't.yaml'}:18:19: steps[1].command:")
    assert "'{{ cluster }}'" in lines[1]


def test_workspace_vars_make_a_name_known(tmp_path, cli):
    d = _runbook(tmp_path, "echo {{ cluster }}")
    lib = Library.load(paths=[d], variables=["cluster", "servce"])
    assert [str(p) for p in lib.errors] == []
    assert lib.get("t") is not None
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(f"runbooks: [{d}]\nvars: {{cluster: prod, servce: x}}\n")
    r = cli("--config", ws / "oncall.yaml", "runbook", "validate")
    assert "unknown placeholder" not in r.out + r.err


def test_bad_var_name_is_a_located_config_error(tmp_path, cli):
    (tmp_path / "oncall.yaml").write_text("vars:\n  Bad-Name: 1\n")
    r = cli("--config", tmp_path / "oncall.yaml", "runbook", "list")
    assert r.code == 2
    assert "oncall.yaml:2:" in r.err and "cannot be a placeholder name" in r.err


# -- the check's labels and what it last saw --------------------------------------------------
CHECKS = """\
checks:
  - id: fraud.ready
    service: fraud-scoring
    url: http://127.0.0.1:9/v2/models/fraud/ready
    conditions: ["[STATUS] == 200", "[BODY].data[0].Score < 0.9", "[RESPONSE_TIME] < 300"]
    labels: {namespace: ml-fraud, replicas: 3, service: not-this, severity: SEV9}
  - id: fraud.queue
    service: fraud-scoring
    url: http://127.0.0.1:9/metrics
    labels: {namespace: ignored, topic: fraud-events}
"""


def _sources(tmp_path, *, declared_from: str | None, transition=None):
    from mlops_oncall.checks.config import load_checks
    from mlops_oncall.incidents.checklink import record_transitions
    from mlops_oncall.incidents.commands import command_sources
    from mlops_oncall.incidents.deploys import Deploys
    from mlops_oncall.incidents.service import Incidents
    from mlops_oncall.store.db import open_store

    (tmp_path / "checks.yaml").write_text(CHECKS)
    checks, problems = load_checks(tmp_path / "checks.yaml")
    assert checks is not None, problems
    store = open_store(f"sqlite:///{tmp_path / 'oncall.db'}")
    incidents = Incidents(store, actor="t")
    ref = incidents.declare(
        "fraud down", "SEV2", service="fraud-scoring", declared_from_check=declared_from
    ).id
    if transition is not None:
        record_transitions(incidents, [transition])
    variables = {"namespace": "from-vars", "prometheus_url": "http://prom:9090"}
    return command_sources(incidents, Deploys(store), checks, variables, ref, T0), ref


def test_labels_fill_and_win_over_vars_but_not_over_the_incident(tmp_path):
    src, ref = _sources(tmp_path, declared_from="fraud.ready")
    v = src.values
    assert v["namespace"] == "ml-fraud" and src.origins["namespace"] == "checks.yaml labels"
    assert v["replicas"] == "3"
    assert v["topic"] == "fraud-events"  # another check of the service fills what it lacks
    assert v["prometheus_url"] == "http://prom:9090"  # vars still fill the rest
    assert (v["service"], v["severity"], v["incident"]) == ("fraud-scoring", "SEV2", ref)


def test_labels_of_the_service_s_checks_fill_an_incident_not_declared_from_a_check(tmp_path):
    src, _ = _sources(tmp_path, declared_from=None)
    assert src.values["namespace"] == "ml-fraud"  # the first check of the service, file order
    assert "observed_status" not in src.values


def _transition(observed: dict, check_id: str = "fraud.ready"):
    from mlops_oncall.checks.state import Transition

    return Transition(
        check_id=check_id,
        from_state="up",
        to_state="down",
        at=T0,
        previous_since=None,
        error_class="http_status",
        message="[STATUS] (503) == 200",
        observed=observed,
        first_failure_at=T0,
        service="fraud-scoring",
    )


def test_observed_values_come_from_the_check_s_latest_transition(tmp_path):
    seen = {
        "[STATUS] == 200": 503,
        "[BODY].data[0].Score < 0.9": 0.97,
        "[RESPONSE_TIME] < 300": 1250,
    }
    src, _ = _sources(tmp_path, declared_from="fraud.ready", transition=_transition(seen))
    v = src.values
    assert v["observed_status"] == "503"
    assert v["observed_latency_ms"] == "1250"
    assert v["observed_error_class"] == "http_status"
    assert v["observed_body_data_0_score"] == "0.97"
    assert src.origins["observed_status"] == "check fraud.ready (observed)"
    r = resolve("echo {{ observed_status }} {{ observed_body_data_0_score }}", src)
    assert r.text == "echo 503 0.97"


def test_another_check_s_transition_is_not_observed(tmp_path):
    t = _transition({"[STATUS] == 200": 500}, check_id="fraud.queue")
    src, _ = _sources(tmp_path, declared_from="fraud.ready", transition=t)
    assert "observed_status" not in src.values


def test_a_check_run_s_conditions_latency_and_status_are_observed():
    from mlops_oncall.runbooks.placeholders import observed_values

    data = {
        "check": "c",
        "state": "down",
        "error_class": None,
        "latency_ms": 41.6,
        "status": 500,
        "conditions": [
            {"condition": "[BODY].model.Ready == true", "observed": False, "success": False},
            {"condition": "len([BODY].items) > 0", "observed": 0, "success": False},
        ],
    }
    assert observed_values(data) == {
        "observed_body_model_ready": "false",
        "observed_latency_ms": "42",
        "observed_status": "500",
    }


LABELLED_RUNBOOK = "echo {{ cluster }} {{ observed_body_data_score }} {{ observd_status }}"


def test_validate_accepts_check_labels_and_observed_body_names(tmp_path, cli):
    d = _runbook(tmp_path, LABELLED_RUNBOOK)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "checks.yaml").write_text(
        "checks:\n  - id: a\n    url: http://127.0.0.1:9/\n    labels: {cluster: prod, servce: x}\n"
    )
    (ws / "oncall.yaml").write_text(f"runbooks: [{d}]\nchecks: checks.yaml\n")
    r = cli("--config", ws / "oncall.yaml", "runbook", "validate")
    unknown = [ln for ln in r.out.splitlines() if "unknown placeholder" in ln]
    assert len(unknown) == 1 and "'{{ observd_status }}'" in unknown[0]
    assert "did you mean 'observed_status'" in unknown[0]
    assert r.code == 1


def test_a_bad_label_name_is_a_located_error_in_check_validate(tmp_path, cli):
    (tmp_path / "checks.yaml").write_text(
        "checks:\n  - id: a\n    url: http://127.0.0.1:9/\n    labels:\n      ok: 1\n"
        "      Name-Space: x\n      flag: true\n"
    )
    r = cli("check", "validate", "--checks", tmp_path / "checks.yaml")
    assert r.code == 1, r.out + r.err
    text = r.out + r.err
    assert (
        f"{tmp_path / 'checks.yaml'}:6:7: checks[0].labels.Name-Space: label 'Name-Space'" in text
    )
    assert (
        "checks.yaml:7:13: checks[0].labels.flag: expected text or a number; write 'true'" in text
    )
    assert "Traceback" not in text


def test_labels_are_in_the_checks_schema(cli):
    r = cli("schema", "checks")
    labels = r.json()["$defs"]["Check"]["properties"]["labels"]
    assert labels["propertyNames"] == {"pattern": "^[a-z_][a-z0-9_]*$"}
