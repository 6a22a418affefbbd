"""`runbook` and `schema` commands: exit codes, messages and pinned JSON shapes."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.conftest import FIXTURES


def test_validate_shipped_library_exits_0(cli):
    r = cli("runbook", "validate")
    assert r.code == 0, r.out + r.err
    assert "0 errors" in r.err


def test_validate_malformed_exits_1_with_located_lines(cli):
    f = FIXTURES / "malformed" / "unknown_next.yaml"
    r = cli("runbook", "validate", f)
    assert r.code == 1
    assert (
        r.out.strip() == f"{f}:23:11: steps[2].next: unknown step 'verfy' (did you mean 'verify'?)"
    )
    assert "1 error," in r.err


def test_validate_json_shape(cli):
    f = FIXTURES / "malformed" / "several_problems.yaml"
    r = cli("runbook", "validate", "--json", f)
    assert r.code == 1
    data = r.json()
    assert [set(d) for d in data] == [{"file", "line", "col", "path", "severity", "message"}] * 3
    assert data[0] == {
        "file": str(f),
        "line": 4,
        "col": 11,
        "path": "severity",
        "severity": "error",
        "message": "expected one of SEV1, SEV2, SEV3, SEV4; got 2",
    }


def test_validate_warnings_only_exits_0(cli):
    r = cli("runbook", "validate", "--json", FIXTURES / "malformed" / "unreachable_step.yaml")
    assert r.code == 0
    assert [d["severity"] for d in r.json()] == ["warning"]


def test_validate_missing_path(cli, tmp_path):
    r = cli("runbook", "validate", tmp_path / "nope")
    assert r.code == 1
    assert r.out.strip() == f"{tmp_path / 'nope'}:1:1: no such file or folder"


def test_list_json_shape(cli):
    r = cli("runbook", "list", "--json")
    assert r.code == 0
    data = r.json()
    assert len(data) >= 15
    assert set(data[0]) == {"id", "title", "category", "severity", "file", "source", "stale"}
    assert {d["source"] for d in data} == {"shipped"}
    serving = cli("runbook", "list", "--category", "serving", "--json").json()
    assert serving and {d["category"] for d in serving} == {"serving"}


def test_list_rejects_unknown_category(cli):
    r = cli("runbook", "list", "--category", "nope")
    assert r.code == 2
    assert "'nope' is not one of" in r.err


def test_workspace_runbooks_are_listed_with_their_source(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: team\nrunbooks: [rb]\n")
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "l.yaml").write_text((FIXTURES / "ranking" / "latency.yaml").read_text())
    data = cli("runbook", "list", "--json").json()
    ours = [d for d in data if d["id"] == "latency"]
    assert ours and ours[0]["source"] == "workspace"


def test_show_renders_and_unknown_id_suggests(cli):
    r = cli("runbook", "show", "model-latency-spike")
    assert r.code == 0
    assert "## Steps" in r.out and "what-changed" in r.out
    bad = cli("runbook", "show", "model-latency-spik")
    assert bad.code == 1
    assert (
        bad.err.strip()
        == "error: unknown runbook 'model-latency-spik' (did you mean 'model-latency-spike'?)"
    )


def test_show_json(cli):
    data = cli("runbook", "show", "gpu-oom", "--json").json()
    assert data["id"] == "gpu-oom" and data["source"] == "shipped"
    assert data["steps"][0]["id"] == "what-changed"


def test_search_json_shape_and_no_hits(cli):
    data = cli("runbook", "search", "gpu", "memory", "--json").json()
    assert data[0]["id"] == "gpu-oom"
    assert set(data[0]) == {"id", "title", "category", "severity", "score", "fields"}
    none = cli("runbook", "search", "qqqzzz")
    assert none.code == 1 and "no runbook matches" in none.err


def test_match_json_shape(cli):
    r = cli("runbook", "match", "--check", "gpu.memory", "--json")
    assert r.code == 0
    data = r.json()
    assert data[0]["id"] == "gpu-oom"
    assert set(data[0]) == {"id", "title", "severity", "score", "reasons"}
    assert "triggered by check gpu.memory" in data[0]["reasons"]


def test_match_needs_a_failure(cli):
    r = cli("runbook", "match")
    assert r.code == 2
    assert r.err.strip() == "error: give at least one of --check, --alert or --error-class"


def test_invalid_workspace_config_exits_2(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: x\ntimezone: Mars/Olympus\nrunbok: []\n")
    r = cli("runbook", "list")
    assert r.code == 2
    assert r.err.splitlines() == [
        f"{tmp_path / 'oncall.yaml'}:2:11: timezone: unknown time zone 'Mars/Olympus' (expected e.g. UTC, Europe/Berlin)",
        f"{tmp_path / 'oncall.yaml'}:3:1: runbok: unknown field 'runbok' (did you mean 'runbooks'?)",
        "error: the workspace config is invalid",
    ]


def test_missing_config_file_exits_2(cli, tmp_path):
    r = cli("--config", tmp_path / "none.yaml", "runbook", "list")
    assert r.code == 2
    assert f"{tmp_path / 'none.yaml'}:1:1: workspace config not found" in r.err


@pytest.mark.parametrize("name", ["runbook", "config"])
def test_schema_is_valid_json_schema(cli, name):
    r = cli("schema", name)
    assert r.code == 0
    schema = json.loads(r.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_shipped_runbooks_validate_against_the_json_schema(cli):
    from mlops_oncall.runbooks.library import shipped_dir

    schema = json.loads(cli("schema", "runbook").out)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for f in sorted(shipped_dir().glob("*.yaml")):
        data = yaml.safe_load(f.read_text())
        data["last_validated"] = data["last_validated"].isoformat()
        errors = list(validator.iter_errors(data))
        assert errors == [], (f.name, [e.message for e in errors])


def test_json_schema_rejects_what_the_loader_rejects(cli):
    schema = json.loads(cli("schema", "runbook").out)
    validator = jsonschema.Draft202012Validator(schema)
    bad = yaml.safe_load((FIXTURES / "malformed" / "unknown_step_field.yaml").read_text())
    bad["last_validated"] = str(bad["last_validated"])
    assert any("comand" in e.message for e in validator.iter_errors(bad))


def test_unknown_schema_exits_2(cli):
    r = cli("schema", "nope")
    assert r.code == 2
    assert r.err.strip().startswith("error: unknown schema 'nope'; expected one of: ")


def test_console_script_and_module_entry(cli_proc):
    r = cli_proc("--version")
    assert r.code == 0 and "mlops-oncall, version" in r.out
    r = cli_proc("runbook", "validate", FIXTURES / "malformed" / "empty.yaml")
    assert r.code == 1
    assert r.out.strip().endswith("empty.yaml:1:1: file is empty; expected a mapping")
    assert "Traceback" not in r.err


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    p = subprocess.run(
        [sys.executable, "-m", "mlops_oncall", "--help"], capture_output=True, text=True
    )
    assert p.returncode == 0 and "runbook" in p.stdout


# -- commands the confirmation dialog would refuse or show as a script --------------------------

RANKING_ONE = (FIXTURES / "ranking" / "latency.yaml").read_text()


def _with_command(tmp_path, yaml_command: str):
    """The ranking runbook with its first step's command replaced (written as YAML text)."""
    f = tmp_path / "rb" / "latency.yaml"
    f.parent.mkdir(exist_ok=True)
    f.write_text(RANKING_ONE.replace("command: mlops-oncall deploy list --since 2h", yaml_command))
    return f


def test_validate_warns_on_a_multi_line_command_and_still_exits_0(cli, tmp_path):
    f = _with_command(tmp_path, "command: |\n      echo harmless\n\n      touch /tmp/x")
    r = cli("runbook", "validate", f)
    assert r.code == 0, r.out + r.err
    assert r.out.strip() == (
        f"{f}:15:14: warning: steps[0].command: the command has 3 lines, run by one "
        "confirmation; prefer one command per step, or a script the step names"
    )


def test_validate_errors_on_an_escape_sequence_in_a_command(cli, tmp_path):
    f = _with_command(tmp_path, 'command: "rm -rf /srv\\e[2K\\recho harmless"')
    r = cli("runbook", "validate", "--json", f)
    assert r.code == 1
    (p,) = r.json()
    assert (p["line"], p["col"], p["path"], p["severity"]) == (15, 14, "steps[0].command", "error")
    assert p["message"] == (
        "the command cannot be run: it contains a terminal escape sequence (\\x1b at character 12)"
    )


# -- refused runbooks are reported by every command that loads the library -------------------


def _workspace(tmp_path, runbooks_line: str = "runbooks: [rb]"):
    import shutil

    rb = tmp_path / "ws" / "rb"
    rb.mkdir(parents=True)
    shutil.copy(FIXTURES / "ranking" / "latency.yaml", rb / "good.yaml")
    bad = rb / "bad.yaml"
    bad.write_text(
        (FIXTURES / "malformed" / "unknown_next.yaml")
        .read_text()
        .replace("id: latency", "id: broken-one")
    )
    cfg = tmp_path / "ws" / "oncall.yaml"
    cfg.write_text(f"name: t\n{runbooks_line}\n")
    return cfg, bad


REFUSED = (
    "{bad}:23:11: steps[2].next: unknown step 'verfy' (did you mean 'verify'?) (runbook refused)"
)


@pytest.mark.parametrize(
    "args",
    [
        ("runbook", "list"),
        ("runbook", "list", "--json"),
        ("runbook", "search", "latency"),
        ("runbook", "search", "--json", "latency"),
        ("runbook", "match", "--error-class", "timeout"),
        ("runbook", "match", "--json", "--error-class", "timeout"),
        ("runbook", "show", "latency"),
    ],
)
def test_every_command_that_loads_the_library_names_refused_runbooks(cli, tmp_path, args):
    cfg, bad = _workspace(tmp_path)
    r = cli("--config", cfg, *args)
    assert r.code == 0, r.err
    assert REFUSED.format(bad=bad) in r.err.splitlines()
    assert "broken-one" not in r.out and "bad.yaml" not in r.out  # stdout and --json unchanged
    if "--json" in args:
        assert isinstance(r.json(), list)


def test_the_refused_line_counts_further_problems_and_validate_prints_them_all(cli, tmp_path):
    cfg, bad = _workspace(tmp_path)
    bad.write_text(bad.read_text().replace("severity: SEV2", "severity: SEV9"))
    r = cli("--config", cfg, "runbook", "list")
    refused = [line for line in r.err.splitlines() if "refused" in line]
    assert refused == [
        f"{bad}:4:11: severity: expected one of SEV1, SEV2, SEV3, SEV4; got 'SEV9' "
        "(did you mean 'SEV4'?) (runbook refused; 1 more problem)"
    ]
    r = cli("--config", cfg, "runbook", "validate")
    assert r.code == 1 and "refused" not in r.err and len(r.out.strip().splitlines()) == 2


def test_a_missing_runbooks_folder_is_an_error(cli, tmp_path):
    cfg, _ = _workspace(tmp_path, "runbooks: [rb, gone]")
    gone = tmp_path / "ws" / "gone"
    r = cli("--config", cfg, "runbook", "list", "--json")
    assert r.code == 0
    assert f"{gone}:1:1: no such runbooks folder (no runbooks loaded from it)" in r.err
    r = cli("--config", cfg, "runbook", "validate")
    assert r.code == 1 and f"{gone}:1:1: no such runbooks folder" in r.out


def test_the_default_runbooks_folder_may_be_absent(cli, tmp_path):
    (tmp_path / "ws").mkdir()
    cfg = tmp_path / "ws" / "oncall.yaml"
    cfg.write_text("name: t\n")
    r = cli("--config", cfg, "runbook", "list")
    assert r.code == 0 and r.err == ""


@pytest.mark.parametrize("query", ["", "   ", "!!! --- ..."])
def test_search_without_words_matches_nothing_and_exits_1(cli, query):
    r = cli("runbook", "search", query)
    assert r.code == 1 and r.out == ""
    assert r.err.strip() == "no runbook matches: the query has no words"
    r = cli("runbook", "search", "--json", query)
    assert r.code == 1 and r.json() == []


def test_search_json_with_no_hits_exits_1_as_documented(cli):
    r = cli("runbook", "search", "--json", "qqqzzz")
    assert r.code == 1 and r.json() == []
