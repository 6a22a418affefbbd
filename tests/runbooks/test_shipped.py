"""The shipped library is product: it validates from the installed package and has substance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import mlops_oncall
from mlops_oncall.runbooks.library import Library, shipped_dir
from mlops_oncall.runbooks.schema import Runbook

FAILURE_MODES = {
    "model-latency-spike",
    "gpu-oom",
    "model-error-rate",
    "upstream-schema-change",
    "feature-null-spike",
    "data-drift",
    "training-serving-skew",
    "stale-features-or-model",
    "late-upstream-data",
    "training-job-failure",
    "airflow-dag-failure",
    "feature-store-outage",
    "accuracy-drop-label-delay",
    "bad-model-rollout",
    "runaway-cost",
    "llm-provider-rate-limit",
    "llm-token-latency",
    "embedding-index-mismatch",
    "tokenizer-artifact-mismatch",
    "label-pipeline-stopped",
    "inference-backlog",
    "registry-outage-blocks-scaleup",
}


@pytest.fixture(scope="module")
def lib() -> Library:
    return Library.load([], today=__import__("datetime").date(2026, 11, 28))


def test_shipped_data_comes_from_the_installed_package():
    path = shipped_dir()
    pkg = Path(mlops_oncall.__file__).parent
    if "site-packages" in str(pkg):  # a real (non-editable) install, as in CI
        assert path == pkg / "_data" / "runbooks"
    assert path.is_dir()


def test_every_shipped_runbook_validates_cleanly(lib):
    assert [str(p) for p in lib.problems] == []
    assert set(lib.entries) >= FAILURE_MODES
    assert all(e.source == "shipped" for e in lib.entries.values())


def _runbooks(lib) -> list[Runbook]:
    return [e.runbook for e in lib.entries.values()]


def test_each_runbook_has_the_required_shape(lib):
    for rb in _runbooks(lib):
        assert len(rb.steps) >= 8, rb.id
        assert rb.steps[0].id == "what-changed", rb.id
        assert rb.meaning and rb.impact and rb.symptoms, rb.id
        t = rb.triggers
        assert t.checks or t.alerts or t.error_classes, rb.id
        kinds = Counter(s.kind for s in rb.steps)
        for kind in ("decide", "mitigate", "verify", "communicate", "escalate", "diagnose"):
            assert kinds[kind] >= 1, (rb.id, kind)
        assert rb.escalation is not None, rb.id
        for rel in rb.related:
            assert rel in lib.entries, (rb.id, rel)


def test_decide_branches_lead_to_different_mitigations(lib):
    for rb in _runbooks(lib):
        ok = False
        for s in rb.steps:
            if s.kind != "decide":
                continue
            targets = {c.next for c in s.choices}
            reached = set()
            for t in targets:  # follow each branch to its first mitigation
                seen, cur = set(), t
                while cur and cur not in seen:
                    seen.add(cur)
                    step = rb.step(cur)
                    if step.kind == "mitigate":
                        reached.add(cur)
                        break
                    nxt = rb.successors(cur)
                    cur = nxt[0] if nxt else None
            ok = ok or len(reached) >= 2
        assert ok, f"{rb.id}: no decide step branches into two different mitigations"


def test_diagnosis_commands_say_what_healthy_and_unhealthy_look_like(lib):
    for rb in _runbooks(lib):
        diag = [s for s in rb.steps if s.kind == "diagnose" and s.command]
        assert len(diag) >= 2, rb.id
        for s in diag:
            assert s.expect and s.expect.healthy and s.expect.unhealthy, (rb.id, s.id)


def test_no_boilerplate_shared_between_runbooks(lib):
    shared_ok = {"what-changed", "communicate"}
    seen: dict[tuple[str, str], str] = {}
    for rb in _runbooks(lib):
        for s in rb.steps:
            if s.id in shared_ok:
                continue
            key = (s.title.strip().lower(), (s.command or "").strip())
            assert key not in seen, f"{rb.id}:{s.id} repeats {seen[key]}"
            seen[key] = f"{rb.id}:{s.id}"
