"""The three documents against golden files, as well-formed Markdown, with no secret in them.

Goldens are committed; MLOPS_ONCALL_UPDATE_GOLDEN=1 rewrites them (then read the diff).
"""

from __future__ import annotations

import pytest

from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports.postmortem import render_postmortem
from mlops_oncall.reports.register import render_register
from mlops_oncall.reports.risks import Risks
from mlops_oncall.reports.sources import Sources
from mlops_oncall.reports.weekly import render_weekly

from . import mdcheck
from .conftest import assert_golden
from .seed import BEARER, TOKEN

pytestmark = pytest.mark.both_backends  # the week seeded on SQLite and on PostgreSQL

POSTMORTEM_SECTIONS = [
    "Summary",
    "Impact",
    "ML impact",
    "Root causes and contributing factors",
    "Trigger",
    "Detection",
    "Resolution",
    "Milestones",
    "Timeline",
    "Runbook",
    "Action items",
    "Lessons learned",
    "What went well",
    "What went wrong",
    "Where we got lucky",
    "Supporting information",
    "Deploys",
    "Checks",
]
WEEKLY_SECTIONS = [
    "TL;DR",
    "Checks",
    "Incidents",
    "Deployments",
    "Top risks",
    "Overdue action items",
    "Drills",
]


@pytest.fixture
def docs(week):
    return _documents(week)


def _documents(week):
    src = week.sources()
    kw = {"sources": src, "clock": week.clock}
    docs = {
        f"postmortem-INC-000{n}.md": render_postmortem(n, sources=src, **week.pm())
        for n in (1, 2, 3, 4)
    }
    docs["weekly.md"] = render_weekly(sources=src, **week.wk())
    risks = Risks(week.store, clock=week.clock)
    docs["risks.md"] = render_register(risks, **kw)
    docs["risks-all.md"] = render_register(risks, include_all=True, **kw)
    return docs


@pytest.mark.parametrize(
    "name",
    [
        "postmortem-INC-0001.md",
        "postmortem-INC-0002.md",
        "postmortem-INC-0003.md",
        "postmortem-INC-0004.md",
        "weekly.md",
        "risks.md",
        "risks-all.md",
    ],
)
def test_golden(docs, name):
    assert_golden(name, docs[name])


def test_every_document_is_well_formed_markdown(docs):
    counts = {name: len(mdcheck.check(text)) for name, text in docs.items()}
    # milestones, metrics, runbook, action items, deploys, checks
    assert counts["postmortem-INC-0001.md"] == 6
    # checks, incidents by severity, incident list, top risks, overdue items, drills
    assert counts["weekly.md"] == 6
    assert counts["risks.md"] == 1


def test_postmortem_sections_are_in_the_google_sre_order(week):
    text = render_postmortem(1, sources=week.sources(), **week.pm())
    heads = mdcheck.headings(text)
    assert heads[0] == "Postmortem: Fraud scoring p99 above SLO, then 503s (INC-0001)"
    sections = [h for h in heads if h in POSTMORTEM_SECTIONS]
    assert sections == POSTMORTEM_SECTIONS
    # a multi-day incident: the timeline is grouped by UTC date
    assert "2026-11-26" in heads and "2026-11-27" in heads


def test_weekly_sections(week):
    text = render_weekly(sources=week.sources(), **week.wk())
    heads = mdcheck.headings(text)
    assert heads[0] == "Weekly status: 2026-11-23 to 2026-11-30"
    assert heads[2] == "Overall: RED"
    assert [h for h in heads if h in WEEKLY_SECTIONS] == WEEKLY_SECTIONS
    assert (
        "- RED: any SEV1 incident, any check below its availability SLO over the SLO's window, "
        "or a change failure rate above 40%." in text
    )


def test_no_secret_reaches_any_document(docs):
    for name, text in docs.items():
        assert TOKEN not in text, name
        assert BEARER.split()[1] not in text, name
        assert "OUTPUT-MUST-NOT-APPEAR" not in text, name
    pm = docs["postmortem-INC-0001.md"]
    assert "note: curl with token *** returns 503" in pm
    assert "(request sent with ***)" in pm
    assert "Rotate the *** service account" in docs["risks-all.md"]


def test_without_the_checks_file_the_token_is_unknown_but_still_not_shown_by_pattern(week):
    # the bearer credential is masked by pattern when it was stored; the bare token is only
    # known from the checks file, which is why every document loads it
    text = render_postmortem(1, sources=Sources(), **week.pm())
    assert BEARER.split()[1] not in text
    assert TOKEN in text


def test_commands_show_exit_codes_not_output(docs):
    text = docs["postmortem-INC-0001.md"]
    assert "- 00:10:00 ran `kubectl rollout undo deploy/fraud-model` → exit 0 (alice)" in text
    assert "ran `` kubectl get pods | grep `fraud` `` → exit 1" in text
    assert "rolled back OUTPUT" not in text


def test_flapping_check_collapses_to_two_lines_a_day(docs):
    text = docs["postmortem-INC-0001.md"]
    flap_lines = [
        line
        for line in text.splitlines()
        if line.startswith("- ") and "`fraud.model-ready`" in line
    ]
    assert flap_lines == [
        "- 22:44:00 check `fraud.model-ready` up → down: [STATUS] = 503, expected 200 "
        "(request sent with ***)",
        "- 22:47:00 check `fraud.model-ready` flapped 25 more times until 23:59:00 "
        "(12× → down, 13× → up); last state up",
        "- 00:02:00 check `fraud.model-ready` up → down: [STATUS] = 503, expected 200",
        "- 00:05:00 check `fraud.model-ready` flapped 23 more times until 01:11:00 "
        "(11× → down, 12× → up); last state up",
    ]
    assert "All times UTC. 48 state changes of flapping checks are summarised." in text


def test_outage_markers_sit_at_the_milestone_times(docs):
    text = docs["postmortem-INC-0001.md"]
    assert "- 22:40:00 **OUTAGE BEGINS**: impact started (manual)" in text
    assert "- 01:30:00 **OUTAGE ENDS**: mitigated: the impact stopped (manual)" in text
    begins, ends = text.index("OUTAGE BEGINS"), text.index("OUTAGE ENDS")
    assert text.index("### 2026-11-26") < begins < text.index("### 2026-11-27") < ends


def test_empty_sections_show_a_prompt(docs):
    text = docs["postmortem-INC-0002.md"]
    assert (
        "_Not written yet. What happened, in two or three sentences? "
        '(`mlops-oncall incident set INC-0002 --summary "…"`)_'
    ) in text
    assert "_No runbook was attached." in text
    assert "_No action items yet." in text
    assert '(`mlops-oncall incident set INC-0002 --lucky "…"`)_' in text
    # one day: no date headings, the date leads the first line
    assert "### 2026-11-28" not in text
    assert "- 2026-11-28 09:50:00 **OUTAGE BEGINS**" in text


def test_drill_and_declined_postmortems(docs):
    drill = docs["postmortem-INC-0003.md"]
    assert "> **Drill.** This incident was a drill (scenario `stale-features`)" in drill
    declined = docs["postmortem-INC-0004.md"]
    assert "- **Duration:** none: the incident was declined" in declined
    # a declined page's timeline stops when it was declined: no check history after it
    assert "flapped" not in declined


# -- empty data ------------------------------------------------------------------------------


def test_empty_database_documents(empty):
    kw = {"sources": Sources(), "clock": empty.clock}
    weekly = render_weekly(sources=kw["sources"], **empty.wk())
    risks = render_register(Risks(empty.store, clock=empty.clock), **kw)
    assert_golden("weekly-empty.md", weekly)
    assert_golden("risks-empty.md", risks)
    for text in (weekly, risks):
        mdcheck.check(text)
    assert "- Overall GREEN: nothing in this period meets the AMBER or RED rule." in weekly
    assert "- No incidents." in weekly and "- No check history in this period." in weekly
    assert "_No drills run in this period._" in weekly
    assert "_The register is empty." in risks


def test_postmortem_of_a_just_declared_incident(empty):
    svc = Incidents(empty.store, clock=empty.clock, actor="alice")
    svc.declare("model registry unreachable", "SEV2")
    text = render_postmortem("INC-0001", sources=Sources(), **empty.pm())
    assert_golden("postmortem-new.md", text)
    mdcheck.check(text)
    assert "- **Duration:** ongoing since 2026-11-30 00:00:00 UTC" in text
    assert "_No check history around this incident._" in text
    assert "_No deploys linked to INC-0001._" in text
