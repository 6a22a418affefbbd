"""A workspace with slos.yaml over the gallery's checks and a Session on it, its polls written
as the monitor writes them (ui/gallery/slos.seed_polls), for the documents' budget figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mlops_oncall.clock import FixedClock
from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.gallery.slos import seed_polls
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, T0, make_workspace

SLOS_YAML = """\
slos:
  - id: fraud-availability
    checks: [fraud.ready]
    objective: 99.9
  - id: gpu-availability
    checks: [gpu.memory]
    objective: 99.9
  - id: training-availability
    checks: [training-pipeline.freshness]
    objective: 99.9
"""


def polls(bad: dict[str, set[int]], minutes: int):
    """One poll a minute at :30 for ``minutes`` up to T0; ``bad``: minutes back of the bad ones."""
    for check, backs in bad.items():
        for back in range(minutes, 0, -1):
            at = T0 - timedelta(minutes=back) + timedelta(seconds=30)
            yield check, at, "down" if back in backs else "up"


def slo_session(tmp_path: Path, url: str, history) -> Session:
    cfg = make_workspace(tmp_path, FIXED_CHECKS)
    with cfg.open("a") as f:
        f.write(f"database: {url}\n")
    (cfg.parent / "slos.yaml").write_text(SLOS_YAML)
    s = Session(load_workspace(cfg), clock=FixedClock(T0))
    seed_polls(s.store, history, T0)
    return s


def outage(s: Session, minutes: int):
    """fraud.ready's outage as an incident: impact from ``minutes`` before T0, resolved at T0."""
    s.clock.set(T0 - timedelta(minutes=minutes))
    inc = s.incidents.declare(
        "Fraud model ready probe down",
        "SEV2",
        service="fraud-scoring",
        detected_at=T0 - timedelta(minutes=minutes),
        declared_from_check="fraud.ready",
    )
    s.clock.set(T0)
    s.incidents.set_status(inc.id, "investigating")
    s.incidents.mitigate(inc.id)
    s.incidents.resolve(inc.id)
    return inc


def contexts(tmp_path: Path) -> tuple[dict, dict]:
    """A postmortem's and a weekly report's contexts with every SLO variable given (two hours
    of polls, an outage of 10 minutes)."""
    from mlops_oncall.reports import postmortem, weekly

    tmp_path.mkdir(parents=True, exist_ok=True)
    s = slo_session(
        tmp_path,
        f"sqlite:///{tmp_path / 'slo.db'}",
        polls({"fraud.ready": set(range(1, 11)), "gpu.memory": set()}, 120),
    )
    try:
        inc = outage(s, 10)
        pm = postmortem.build_context(inc.id, sources=s.sources(), **s.postmortem_inputs())
        wk = weekly.build_context(sources=s.sources(), **s.weekly_inputs())
        return pm, wk
    finally:
        s.close()
