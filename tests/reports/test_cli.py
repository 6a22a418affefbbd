"""`postmortem`, `report weekly` and `risk ...`: output, exit codes, JSON shapes, every error."""

from __future__ import annotations

import shlex

import pytest

from mlops_oncall.reports.risks import CATEGORIES

from .conftest import GOLDEN
from .seed import BEARER, TOKEN

pytestmark = pytest.mark.both_backends  # the week seeded on SQLite and on PostgreSQL

RISK_KEYS = {
    "id", "title", "description", "category", "likelihood", "impact", "score", "band", "owner",
    "treatment", "mitigation", "contingency", "early_warning", "status", "identified_on",
    "next_review", "last_reviewed", "overdue", "residual", "previous_score", "change", "links",
    "created_at", "updated_at", "inherent", "current", "approver", "expires",
    "acceptance_expired",
}  # fmt: skip
HISTORY_KEYS = {
    "kind", "score_kind", "at", "likelihood", "impact", "score", "band", "note", "actor",
}  # fmt: skip
CANDIDATE_KEYS = {
    "key", "source", "incident", "title", "description", "category", "likelihood", "impact",
    "owner", "mitigation", "existing",
}  # fmt: skip


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


# -- documents -------------------------------------------------------------------------------


def test_postmortem_to_stdout_and_to_a_file(week, cli):
    r = cli("postmortem", "INC-0001")
    assert r.code == 0, r.err
    assert r.out == golden("postmortem-INC-0001.md")
    r = cli("postmortem", "1", "-o", "postmortems/INC-0001.md")
    assert (r.code, r.out, r.err) == (0, "", "wrote postmortems/INC-0001.md\n")
    assert (week.root / "postmortems" / "INC-0001.md").read_text() == golden(
        "postmortem-INC-0001.md"
    )


def test_weekly_defaults_to_the_last_seven_days(week, cli):
    r = cli("report", "weekly")
    assert r.code == 0, r.err
    assert r.out == golden("weekly.md")
    r = cli("report", "weekly", "--since", "7d", "--until", "2026-11-30T00:00Z")
    assert r.out == golden("weekly.md")


def test_risk_export(week, cli):
    assert cli("risk", "export").out == golden("risks.md")
    assert cli("risk", "export", "--all").out == golden("risks-all.md")
    r = cli("risk", "export", "-o", "reports/risks.md")
    assert r.code == 0 and r.err == "wrote reports/risks.md\n"
    assert (week.root / "reports" / "risks.md").read_text() == golden("risks.md")


def test_json_prints_the_template_variables(week, cli):
    pm = cli("postmortem", "INC-0001", "--json").json()
    assert set(pm) == {
        "generated_at", "incident", "narrative", "detection", "milestones", "metrics",
        "timeline", "runbook", "action_items", "lessons", "supporting", "ml_impact",
    }  # fmt: skip
    assert pm["metrics"][0] == {
        "name": "TTD",
        "label": "Time to detect",
        "definition": "detected − impact started",
        "value": "3m 30s",
        "seconds": 210.0,
    }
    wk = cli("report", "weekly", "--since", "2026-11-28", "--until", "2026-11-29", "--json").json()
    assert set(wk) == {
        "generated_at", "period", "tldr", "rag", "checks", "latency_buckets_ms", "incidents",
        "deploys", "risks", "overdue_actions", "drills",
    }  # fmt: skip
    assert wk["period"]["since"] == "2026-11-28 00:00 UTC" and wk["incidents"]["count"] == 1
    ex = cli("risk", "export", "--json").json()
    assert set(ex) == {
        "generated_at",
        "scope",
        "limit",
        "total",
        "open",
        "overdue",
        "risks",
        "bands",
    }
    assert [r["id"] for r in ex["risks"]] == ["R-001", "R-005", "R-002", "R-003"]


def test_workspace_templates_folder_and_template_flag(week, cli, tmp_path):
    (week.root / "templates").mkdir()
    (week.root / "templates" / "risks.md.j2").write_text("{{ total }} risks\n")
    assert cli("risk", "export").out == "5 risks\n"
    (tmp_path / "one.j2").write_text("{{ open }} open\n")
    assert cli("risk", "export", "--template", str(tmp_path / "one.j2")).out == "4 open\n"


def test_no_secret_in_any_cli_output(week, cli):
    outputs = [
        cli("postmortem", "INC-0001"),
        cli("postmortem", "INC-0001", "--json"),
        cli("report", "weekly"),
        cli("report", "weekly", "--json"),
        cli("risk", "export", "--all"),
        cli("risk", "export", "--all", "--json"),
    ]
    for r in outputs:
        assert r.code == 0, r.err
        assert TOKEN not in r.out + r.err
        assert BEARER.split()[1] not in r.out + r.err


def test_a_broken_checks_file_costs_only_the_slos(week, cli):
    (week.root / "checks.yaml").write_text("checks:\n  - id: x\n")
    r = cli("report", "weekly")
    assert r.code == 0
    assert r.err.startswith(f"warning: {week.root / 'checks.yaml'} has 1 error, so check names")
    assert "| `fraud.model-ready` | – | 98.81% |" in r.out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["postmortem", "INC-0042"], 1, "unknown incident 'INC-0042'"),
        (["postmortem", "fraud"], 1, "unknown incident 'fraud' (ids look like INC-0001)"),
        (
            ["postmortem", "INC-0001", "--template", "nope.j2"],
            2,
            "cannot read the template nope.j2: No such file or directory",
        ),
        (
            ["report", "weekly", "--since", "2026-11-29", "--until", "2026-11-28"],
            2,
            "--since must be before --until",
        ),
        (
            ["report", "weekly", "--since", "soon"],
            2,
            "cannot read --since 'soon'; use a date (2026-11-23), a timestamp, or a duration ago such as 7d",
        ),
    ],
)
def test_document_errors(week, cli, args, code, message):
    r = cli(*args)
    assert (r.code, r.out, r.err) == (code, "", f"error: {message}\n")


def test_template_with_an_undefined_variable_is_a_usage_error(week, cli, tmp_path):
    (tmp_path / "t.j2").write_text("{{ incident.nope }}")
    r = cli("postmortem", "INC-0001", "--template", str(tmp_path / "t.j2"))
    assert (r.code, r.err) == (
        2,
        f"error: template {tmp_path / 't.j2'}, line 1: 'dict object' has no attribute 'nope'\n",
    )


# -- the risk commands -----------------------------------------------------------------------


def test_risk_add_list_show_update_review(week, cli):
    r = cli(
        "risk", "add", "--title", "Training data vendor changes schema", "--likelihood", "3",
        "--impact", "4", "--owner", "gus", "--category", "data-dependency", "--incident",
        "INC-0002", "--runbook", "upstream-schema-change", "--early-warning", "row count drops",
    )  # fmt: skip
    assert (r.code, r.out, r.err) == (0, "R-006 added: inherent score 12 (high)\n", "")
    shown = cli("risk", "show", "R-006", "--json").json()
    assert set(shown) == RISK_KEYS | {"history"}
    assert set(shown["history"][0]) == HISTORY_KEYS
    assert shown["links"] == {"incidents": ["INC-0002"], "runbooks": ["upstream-schema-change"]}
    assert shown["identified_on"] == "2026-11-30" and shown["next_review"] == "2026-12-14"
    assert shown["created_at"] == "2026-11-30T00:00:00Z"

    listed = cli("risk", "list", "--json").json()
    assert [x["id"] for x in listed] == ["R-001", "R-006", "R-005", "R-004", "R-002", "R-003"]
    assert all(set(x) == RISK_KEYS for x in listed)
    text = cli("risk", "list", "--status", "open").out.splitlines()
    assert text[0] == (
        "R-001  16 critical +4   open       carol        next review 2026-12-05  "
        "Feature store has no fallback for the fraud model"
    )
    assert text[-1].endswith("[review overdue]  GPU spend runs over budget")

    r = cli("risk", "update", "R-006", "--status", "monitoring", "--owner", "hana")
    assert (r.code, r.out) == (0, "R-006 updated: status, owner\n")  # in the order given
    r = cli(
        "risk", "review", "R-006", "--likelihood", "2", "--impact", "4", "--note", "contract signed"
    )
    assert r.out == (
        "R-006 reviewed: residual score 8 (medium), inherent 12, −4 since the last review; "
        "next review 2026-12-30\n"
    )
    reviewed = cli("risk", "review", "R-6", "--likelihood", "2", "--impact", "4", "--json").json()
    assert reviewed["change"] == 0 and len(reviewed["history"]) == 3

    show = cli("risk", "show", "R-006").out
    assert show.splitlines()[:4] == [
        "R-006  Training data vendor changes schema",
        "  inherent 3×4 = 12 (high)",
        "  residual 2×4 = 8 (medium), ±0 since the last review",
        "  data-dependency, monitoring, owner hana, treatment treat",
    ]
    assert (
        "  2026-11-30 00:00 UTC  review     residual 2×4 = 8 (medium) by tester: contract signed"
        in show
    )


def test_risk_tolerate_from_the_cli(week, cli):
    r = cli(
        "risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
        "--treatment", "tolerate",
    )  # fmt: skip
    assert r.code == 2 and r.err == (
        "error: tolerating a risk needs --approver (who accepts it) and --expires (the date the "
        "acceptance ends)\n"
    )
    r = cli(
        "risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
        "--treatment", "tolerate", "--approver", "cto", "--expires", "2027-01-31", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert (r.json()["approver"], r.json()["expires"]) == ("cto", "2027-01-31")
    show = cli("risk", "show", r.json()["id"]).out
    assert "  accepted by cto until 2027-01-31\n" in show


def test_risk_add_json_and_residual(week, cli):
    r = cli(
        "risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
        "--residual-likelihood", "1", "--residual-impact", "2", "--next-review", "2026-12-01",
        "--json",
    )  # fmt: skip
    data = r.json()
    assert set(data) == RISK_KEYS | {"history"}
    assert data["residual"] == {"likelihood": 1, "impact": 2, "score": 2, "band": "low"}
    assert data["next_review"] == "2026-12-01"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["risk", "add", "--title", "t", "--likelihood", "9", "--impact", "2", "--owner", "o"],
            2,
            "likelihood must be a whole number from 1 to 5, not 9",
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--category", "moneyy"],
            2,
            "unknown category 'moneyy'; expected one of " + ", ".join(CATEGORIES),
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--incident", "INC-0077"],
            1,
            "unknown incident 'INC-0077'",
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--runbook", "gpu-oomm"],
            1,
            "unknown runbook 'gpu-oomm' (did you mean 'gpu-oom'?)",
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--residual-impact", "1"],
            2,
            "give both --residual-likelihood and --residual-impact",
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--next-review", "next week"],
            2,
            "cannot read the date 'next week'; use YYYY-MM-DD",
        ),
        (
            ["risk", "add", "--title", "t", "--likelihood", "2", "--impact", "2", "--owner", "o",
             "--at", "2026-12-01T00:00Z"],
            1,
            "2026-12-01T00:00:00Z is in the future",
        ),
        (["risk", "show", "R-099"], 1, "unknown risk 'R-099'"),
        (["risk", "show", "high"], 1, "unknown risk 'high' (ids look like R-001)"),
        (["risk", "list", "--status", "gone"], 2, "unknown status 'gone'; expected one of open, monitoring, closed"),
        (
            ["risk", "update", "R-001"],
            2,
            "give at least one field to change (--title, --status, --owner, ...), --incident or --runbook",
        ),
        (["risk", "update", "R-099", "--owner", "x"], 1, "unknown risk 'R-099'"),
        (["risk", "update", "R-001", "--treatment", "pray"], 2,
         "unknown treatment 'pray'; expected one of treat, tolerate, transfer, terminate"),
        (
            ["risk", "review", "R-004", "--likelihood", "2", "--impact", "2"],
            1,
            "R-004 is closed; reopen it first with `risk update R-004 --status open`",
        ),
        (
            ["risk", "review", "R-001", "--likelihood", "2", "--impact", "0"],
            2,
            "impact must be a whole number from 1 to 5, not 0",
        ),
        (
            ["risk", "review", "R-001", "--likelihood", "2", "--impact", "2", "--at", "2026-11-27T00:00Z"],
            1,
            "R-001 was last scored at 2026-11-28T12:00:00Z; a review cannot be earlier",
        ),
        (["risk", "candidates", "INC-0099"], 1, "unknown incident 'INC-0099'"),
    ],
)  # fmt: skip
def test_risk_errors(week, cli, args, code, message):
    r = cli(*args)
    assert r.code == code, r.err
    assert (r.out, r.err) == ("", f"error: {message}\n")


def test_usage_errors_from_click_exit_2(week, cli):
    r = cli("risk", "add", "--title", "t", "--likelihood", "high", "--impact", "2", "--owner", "o")
    assert r.code == 2 and "'high' is not a valid integer" in r.err
    r = cli("risk", "add", "--title", "t")
    assert r.code == 2 and "Missing option '--likelihood'" in r.err


def test_risk_candidates(week, cli):
    found = cli("risk", "candidates", "INC-0001", "--json").json()
    assert [c["key"] for c in found] == ["lucky-1", "lucky-2", "action-1"]
    assert all(set(c) == CANDIDATE_KEYS for c in found)
    assert found[2]["existing"] == "R-005"  # accepted when the week was seeded
    text = cli("risk", "candidates", "INC-0001").out.splitlines()
    first = found[0]
    assert first["category"] == "availability"  # from the serving runbook INC-0001 followed
    assert text[:2] == [
        "lucky-1 (candidate): If INC-0001's luck does not repeat (it was a quiet night for "
        "payments), then Fraud scoring p99 above SLO, then 503s recurs at full impact",
        "  "
        + shlex.join(
            [
                "mlops-oncall", "risk", "add", "--incident", "INC-0001", "--title",
                first["title"], "--likelihood", "3", "--impact", "5", "--owner", "OWNER",
                "--category", "availability", "--description", first["description"],
            ]
        ),
    ]  # fmt: skip
    assert text[-1] == (
        'action-1 (already R-005): If "Alert on canary p99 before full rollout" is not done, '
        "then Fraud scoring p99 above SLO, then 503s can recur"
    )
    # running the printed line keeps the statement, its description and its category
    printed = shlex.split(text[1])[1:]
    printed[printed.index("OWNER")] = "ivy"
    kept = cli(*printed, "--json").json()
    assert (kept["title"], kept["description"], kept["category"]) == (
        first["title"],
        first["description"],
        "availability",
    )
    assert cli("risk", "candidates", "INC-0001", "--json").json()[0]["existing"] == kept["id"]
    r = cli("risk", "candidates", "INC-0002")
    assert (r.code, r.out) == (0, "")
    assert r.err == "INC-0002 has no candidate risks (no lucky lines, no open prevent items)\n"
    # accepting one: `risk add ... --incident` links it, and it stops being a candidate
    added = cli(
        "risk", "add", "--incident", "INC-0001", "--title", "It was a quiet night for payments",
        "--likelihood", "3", "--impact", "5", "--owner", "ivy",
    )  # fmt: skip
    assert added.out == "R-007 added: inherent score 15 (high)\n"


# -- lessons learned through `incident set` ---------------------------------------------------


def test_incident_set_writes_lessons_learned(week, cli):
    r = cli(
        "incident", "set", "INC-0002", "--went-well", "the alert", "--went-wrong", "slow ack",
        "--lucky", "low traffic", "--contributing-factors", "a cold cache",
    )  # fmt: skip
    assert (r.code, r.out) == (
        0,
        "INC-0002: set went_well, went_wrong, lucky, contributing_factors\n",
    )
    narrative = cli("incident", "show", "INC-0002", "--json").json()["narrative"]
    assert {
        k: narrative[k] for k in ("went_well", "went_wrong", "lucky", "contributing_factors")
    } == {
        "went_well": "the alert",
        "went_wrong": "slow ack",
        "lucky": "low traffic",
        "contributing_factors": "a cold cache",
    }
    text = cli("postmortem", "INC-0002").out
    assert "### What went well\n\n- the alert\n" in text
    assert "**Contributing factors:** a cold cache" in text
    events = cli("incident", "timeline", "INC-0002", "--json").json()
    assert [e["data"]["field"] for e in events if e["kind"] == "field_set"] == [
        "went_well", "went_wrong", "lucky", "contributing_factors",
    ]  # fmt: skip


def test_help_lists_the_new_commands(cli):
    out = cli("--help").out
    for name in ("postmortem", "risk", "report"):
        assert f"  {name} " in out


@pytest.mark.parametrize(
    "args",
    [
        ("risk", "show", "99999999999999999999"),
        ("risk", "show", "R-9223372036854775808"),
        ("risk", "review", "99999999999999999999", "--likelihood", "2", "--impact", "2"),
        ("risk", "update", "R-99999999999999999999", "--title", "x"),
    ],
)
def test_huge_risk_ids_are_unknown_risks(week, cli, args):
    r = cli(*args)
    assert (r.code, r.out) == (1, "")
    assert r.err == f"error: unknown risk '{args[2]}' (ids look like R-001)\n"


def test_the_largest_possible_risk_id_is_just_unknown(week, cli):
    # on PostgreSQL the id columns are int4: an id past 2**31 - 1 must still be just unknown
    r = cli("risk", "show", "R-9223372036854775807")
    assert (r.code, r.err) == (1, "error: unknown risk 'R-9223372036854775807'\n")
