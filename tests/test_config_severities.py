"""`severities:` in oncall.yaml: what each severity means here; unset ones keep the defaults,
and a name that is not SEV1..SEV4 is a located error (exit 2), not a silent no-op."""

from __future__ import annotations

from mlops_oncall.config import DEFAULT_SEVERITIES, load_workspace


def test_workspace_definitions_override_the_defaults(tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: t\nseverities:\n  SEV2: Checkout is slow\n")
    got = load_workspace(tmp_path / "oncall.yaml").severities()
    assert list(got) == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert got["SEV2"] == "Checkout is slow"
    assert got["SEV1"] == DEFAULT_SEVERITIES["SEV1"]


def test_an_unknown_severity_is_a_located_error(cli, tmp_path):
    (tmp_path / "oncall.yaml").write_text("name: t\nseverities:\n  SEV5: nope\n")
    r = cli("incident", "list")
    assert r.code == 2
    first = r.err.strip().splitlines()[0]
    assert first.startswith(f"{tmp_path / 'oncall.yaml'}:3:") and "severities.SEV5" in first
    assert "expected one of SEV1, SEV2, SEV3, SEV4" in first
