"""Arbitrary text gives runbooks or located problems, never an uncaught exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_oncall.formats.yamlsrc import decode, load_text
from mlops_oncall.runbooks.loader import load_runbook
from tests.conftest import FIXTURES

SEED = (FIXTURES / "malformed" / "unknown_next.yaml").read_text()
YAMLISH = st.sampled_from(
    [
        *list(":-[]{}&*!|>'\"%@`#,? \n\t"),
        "id: x\n",
        "steps:\n",
        "  - ",
        "next: ",
        "&a ",
        "*a",
        "<<: ",
    ]
)


def _check(problems, file):
    for p in problems:
        assert p.file == file
        assert p.line >= 1 and p.col >= 1
        assert p.severity in ("error", "warning")
        assert p.message


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    doc = load_text(text, "f.yaml")
    _check(doc.problems, "f.yaml")
    assert doc.ok or doc.problems


@settings(deadline=None, max_examples=300)
@given(st.lists(YAMLISH, max_size=60).map("".join))
def test_yaml_shaped_text(text):
    doc = load_text(text, "f.yaml")
    _check(doc.problems, "f.yaml")


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw):
    text, problems = decode(raw, "b.yaml")
    _check(problems, "b.yaml")
    assert (text is None) == bool(problems)


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pos=st.integers(0, len(SEED)), junk=st.text(max_size=12))
def test_mutated_runbook(tmp_path, pos, junk):
    f = tmp_path / "m.yaml"
    f.write_text(SEED[:pos] + junk + SEED[pos:], encoding="utf-8")
    loaded = load_runbook(f, "m.yaml")
    _check(loaded.problems, "m.yaml")
    assert loaded.runbook is not None or any(p.is_error for p in loaded.problems)
