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
