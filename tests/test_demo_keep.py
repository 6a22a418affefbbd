"""`demo` starts from a fresh demo.db each time; `demo --keep` keeps the last one as it was."""

from __future__ import annotations

from mlops_oncall.demo import DemoPlan


def _run(base, **kw) -> list[str]:
    plan = DemoPlan(base=base, calm=True, **kw)
    try:
        plan.prepare()
        plan.seed()
        return [r.title for r in plan.session.incidents.list()]
    finally:
        plan.stop()
        plan.session.close()


def _declare(base) -> None:
    plan = DemoPlan(base=base, calm=True, keep=True)
    try:
        plan.session.incidents.declare("mine, from the last demo", "SEV3")
    finally:
        plan.session.close()


def test_keep_keeps_the_last_demo_and_a_plain_demo_resets_it(tmp_path):
    seeded = _run(tmp_path)
    assert seeded and "mine, from the last demo" not in seeded
    _declare(tmp_path)
    kept = _run(tmp_path, keep=True)
    assert kept == ["mine, from the last demo", *seeded]  # kept, and not seeded twice
    assert _run(tmp_path) == seeded  # reset


def test_keep_on_a_first_run_seeds_the_history(tmp_path):
    assert _run(tmp_path, keep=True) == _run(tmp_path / "other")


def test_the_demo_command_offers_keep(cli):
    r = cli("demo", "--help")
    assert r.code == 0 and "--keep" in r.out and "demo/demo.db" in r.out
