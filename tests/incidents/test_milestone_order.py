"""Milestones are listed in the order they happened, unset ones last, in `incident show` and on
the incident screen's header."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_oncall.incidents.lifecycle import in_time_order
from mlops_oncall.store.models import Incident


def _row(**times):
    return Incident(**{f"{k}_at": v for k, v in times.items()})


def test_in_time_order_sorts_set_milestones_and_puts_unset_last():
    t = [datetime(2026, 11, 28, 3, m, tzinfo=UTC) for m in range(4)]
    row = _row(detected=t[0], declared=t[1], acknowledged=t[2], impact_started=t[0])
    assert in_time_order(row) == [
        "impact_started",  # the same time as detected: the catalogue order breaks the tie
        "detected",
        "declared",
        "acknowledged",
        "mitigated",
        "resolved",
    ]


def test_incident_show_lists_declared_before_a_later_ack(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "m.db"))
    assert (
        cli(
            "incident",
            "declare",
            "--title",
            "slow",
            "--severity",
            "SEV2",
            "--at",
            "2026-11-28T03:00:00Z",
        ).code
        == 0
    )
    assert cli("incident", "ack", "INC-0001", "--at", "2026-11-28T03:05:00Z").code == 0
    out = cli("incident", "show", "INC-0001").out
    lines = [line.split()[0] for line in out.split("milestones:\n")[1].splitlines()[:3]]
    assert lines == ["detected", "declared", "acknowledged"]
