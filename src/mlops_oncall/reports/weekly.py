"""The weekly status report: one page of figures computed from the store, with a RAG status
whose rule is printed in the report itself.

Drills are reported in their own section and never enter an incident figure, as everywhere.
Check figures come from the hourly roll-ups: uptime counts degraded polls as up (the service
answered) and shows them separately; latency percentiles are read from the merged fixed-bucket
histograms, so each is the upper edge of its bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_oncall.checks.rollup import BUCKETS_MS, percentile
from mlops_oncall.clock import SYSTEM, Clock
from mlops_oncall.formats.refs import public_id
from mlops_oncall.formats.words import plural
from mlops_oncall.incidents.deploys import Deploys
from mlops_oncall.incidents.lifecycle import SEVERITIES
from mlops_oncall.incidents.metrics import incident_metrics, summarise
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.reports import text as fmt
from mlops_oncall.reports.budgets import period_budgets
from mlops_oncall.reports.render import render_document
from mlops_oncall.reports.risks import Risks
from mlops_oncall.reports.sources import Sources
from mlops_oncall.slo.service import Slos
from mlops_oncall.store.models import CheckRollup, Incident

TEMPLATE = "weekly.md.j2"
PERIOD = timedelta(days=7)
TOP_RISKS = 5
MTTX = ("ttd", "tta", "ttm", "ttr")
NO_DATA = "no data"
READINESS_DUE = timedelta(days=90)  # a service not reviewed for this long is "review due"


def rag_rule(sources: Sources, slos: bool = False) -> tuple[str, ...]:
    """The rule as printed in the report; the SLO clauses only with slos.yaml's SLOs."""
    amber, red = fmt.percent(sources.cfr_amber_above), fmt.percent(sources.cfr_red_above)
    red_slo = " any SLO whose error budget is spent at the end of the period," if slos else ""
    amber_slo = (
        " any SLO with no data in its window, any SLO that spent more of its error budget in "
        "the period than the period's share of its window (7 days of a 30-day window: 23.3%),"
        if slos
        else ""
    )
    return (
        "RED: any SEV1 incident, any check below its availability SLO over the SLO's window,"
        f"{red_slo} or a change failure rate above {red}.",
        "AMBER: any SEV2 incident, any check with no data in its SLO window, any check whose "
        f"p95 latency is above its latency SLO,{amber_slo} a change failure rate above "
        f"{amber}, an overdue action item, or an open critical risk (score 16 or more).",
        "GREEN: none of the above.",
    )


def build_context(
    *,
    incidents: Incidents,
    deploys: Deploys,
    rollups: Callable[..., Iterable[CheckRollup]],
    risks: Risks,
    drill_runs: dict[str, dict[str, Any]],
    since: datetime | None = None,
    until: datetime | None = None,
    sources: Sources | None = None,
    clock: Clock = SYSTEM,
    slos: Slos | None = None,
    readiness: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The weekly template's context for [since, until) (default: the 7 days up to now).

    It reads what it is given: the incidents and deploys services, the checks' hourly
    roll-ups (``rollups(since=, until=)``), the risk register, the drill runs by public
    id (scenario, score, status), the workspace's SLOs (slos.yaml) and the kept readiness
    reviews by service, oldest first (``Session.readiness_summaries``)."""
    sources = sources or Sources()
    until = until or clock.now()
    since = since or until - PERIOD
    checks = _checks(rollups, since, until, sources)
    incident_figures = _incidents(incidents, since, until)
    dora = _deploys(deploys, since, until)
    risk_figures = _risks(risks)
    overdue = _overdue_actions(incidents, until)
    drills = _drills(incidents, drill_runs, since, until)
    budgets = period_budgets(slos, since, until)
    rag = _rag(checks, incident_figures, dora, risk_figures, overdue, sources, budgets)
    ctx = {
        "generated_at": fmt.ts_utc(clock.now()),
        "period": {
            "since": fmt.ts_minute(since),
            "until": fmt.ts_minute(until),
            "since_date": fmt.day(since),
            "until_date": fmt.day(until),
            "days": f"{(until - since).total_seconds() / 86400:.4g}",
        },
        "tldr": _tldr(rag, checks, incident_figures, dora, risk_figures, overdue, drills),
        "rag": rag,
        "checks": checks,
        "latency_buckets_ms": list(BUCKETS_MS),
        "incidents": incident_figures,
        "deploys": dora,
        "risks": risk_figures,
        "overdue_actions": overdue,
        "drills": drills,
    }
    if slos is not None:  # with a slos.yaml only: the JSON without one is unchanged
        ctx["slos"] = budgets
    reviewed = _readiness(readiness or {}, until)
    if reviewed:  # with a kept review only: the JSON without one is unchanged
        ctx["readiness"] = reviewed
    return sources.redact(ctx)


def render_weekly(
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
    sources: Sources | None = None,
    **inputs: Any,
) -> str:
    """The weekly document; ``inputs`` are build_context's."""
    sources = sources or Sources()
    ctx = build_context(sources=sources, **inputs)
    return render_document(
        TEMPLATE, ctx, sources, templates_dir=templates_dir, template_file=template_file
    )


# -- checks --------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return fmt.NONE
    if value == float("inf"):
        return f"> {BUCKETS_MS[-1]} ms"
    return f"{value:g} ms"


def _sums(hours: list[CheckRollup]) -> dict[str, Any]:
    t = {"polls": 0, "up": 0, "degraded": 0, "down": 0, "counts": [0] * (len(BUCKETS_MS) + 1)}
    for h in hours:
        t["polls"] += h.polls
        t["up"] += h.successes
        t["degraded"] += h.degraded
        t["down"] += h.down
        if h.latency_counts:
            t["counts"] = [a + b for a, b in zip(t["counts"], h.latency_counts, strict=True)]
    return t


def _uptime(t: dict[str, Any], degraded: str) -> float | None:
    """The share of polls that count as up; a degraded poll counts as its SLO says."""
    if not t["polls"]:
        return None
    good = t["up"] + (t["degraded"] if degraded == "up" else 0)
    return good / t["polls"]


def _checks(rollups, since, until, sources: Sources) -> list[dict[str, Any]]:
    windows = [info.slo_window for info in sources.checks.values()]
    earliest = min([since, *(until - w for w in windows)])
    by_check: dict[str, list[CheckRollup]] = defaultdict(list)
    for h in rollups(since=earliest, until=until):
        by_check[h.check_id].append(h)
    week_ids = {c for c, hours in by_check.items() if any(h.hour >= since for h in hours)}
    out = []
    for check_id in sorted(week_ids | set(sources.checks)):
        hours = by_check.get(check_id, [])
        info = sources.checks.get(check_id)
        slo_a = info.slo_availability if info else None
        slo_l = info.slo_latency_ms if info else None
        degraded_as = info.slo_degraded if info else "up"
        window = info.slo_window if info else PERIOD
        t = _sums([h for h in hours if h.hour >= since])
        w = _sums([h for h in hours if h.hour >= until - window])
        polls = t["polls"]
        uptime = _uptime(t, degraded_as)
        window_uptime = _uptime(w, degraded_as)
        p50 = percentile(t["counts"], 50) if polls else None
        p95 = percentile(t["counts"], 95) if polls else None
        met = None if slo_a is None or window_uptime is None else window_uptime >= slo_a
        if not w["polls"]:
            status = "no data"
        elif slo_a is None:
            status = "no SLO"
        else:
            status = "met" if met else "missed"
        out.append(
            {
                "id": check_id,
                "name": info.name if info else check_id,
                "service": info.service if info else None,
                "polls": polls,
                "up_polls": t["up"],
                "degraded_polls": t["degraded"],
                "down_polls": t["down"],
                "uptime": uptime,
                "uptime_pct": fmt.percent(uptime) if polls else NO_DATA,
                "degraded_pct": fmt.percent(t["degraded"] / polls if polls else None),
                "degraded_counts_as": degraded_as,
                "p50_ms": None if p50 in (None, float("inf")) else p50,
                "p95_ms": None if p95 in (None, float("inf")) else p95,
                "p50": _ms(p50),
                "p95": _ms(p95),
                "slo_availability": slo_a,
                "slo_availability_pct": fmt.percent(slo_a) if slo_a is not None else None,
                "slo_latency_ms": slo_l,
                "slo_latency": _ms(slo_l) if slo_l is not None else None,
                "slo_window": fmt.duration(window.total_seconds()),
                "slo_window_seconds": window.total_seconds(),
                "slo_window_polls": w["polls"],
                "slo_window_uptime": window_uptime,
                "slo_window_uptime_pct": fmt.percent(window_uptime) if w["polls"] else NO_DATA,
                "availability_met": met,
                "latency_met": None if slo_l is None or p95 is None else p95 <= slo_l,
                "status": status,
            }
        )
    return out


# -- incidents and drills ------------------------------------------------------------------


def _medians(rows: list[Incident]) -> dict[str, Any]:
    series: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for name, value in incident_metrics(r).items():
            if value is not None:
                series[name].append(value)
    out: dict[str, Any] = {}
    for name in MTTX:
        median = summarise(series[name])["median"]
        out[name] = fmt.duration(median)
        out[f"{name}_seconds"] = median
    return out


def _incidents(incidents: Incidents, since, until) -> dict[str, Any]:
    # the same population as `incident metrics`: no drills, nothing declined
    rows = [r for r in incidents.in_window(since, until, drills=False) if r.status != "declined"]
    overall = incidents.metrics(since, until)
    by_sev = []
    for sev in SEVERITIES:
        sev_rows = [r for r in rows if r.severity == sev]
        by_sev.append({"severity": sev, "count": len(sev_rows), **_medians(sev_rows)})
    all_row = {"severity": "all", "count": overall["incidents"]}
    for name in MTTX:
        median = overall[name]["median"]
        all_row[name] = fmt.duration(median)
        all_row[f"{name}_seconds"] = median
    listed = []
    for r in rows:
        m = incident_metrics(r)
        pid = public_id(r.id)
        listed.append(
            {
                "id": pid,
                "severity": r.severity,
                "title": r.title,
                "status": r.status,
                "service": r.service,
                "declared": fmt.ts_minute(r.declared_at),
                "ttr": fmt.duration(m["ttr"]),
                "postmortem": f"postmortems/{pid}.md",
                "postmortem_status": r.postmortem_status or "draft",
            }
        )
    return {"count": len(rows), "by_severity": by_sev, "all": all_row, "list": listed}


def _drills(
    incidents: Incidents, runs: dict[str, dict[str, Any]], since, until
) -> list[dict[str, Any]]:
    out = []
    for r in incidents.in_window(since, until, drills=True):
        view = incidents.get(r.id)
        m = incident_metrics(r)
        counts = view.triage.counts() if view.triage else None
        run = runs.get(r.drill_id or "", {})
        score = run.get("score")
        out.append(
            {
                "id": view.id,
                "title": r.title,
                "drill": r.drill_id,
                "scenario": run.get("scenario") or r.drill_id,
                "score": fmt.NONE if score is None else f"{score:g}%",
                "score_value": score,
                "severity": r.severity,
                "status": r.status,
                "declared": fmt.ts_minute(r.declared_at),
                "tta": fmt.duration(m["tta"]),
                "ttm": fmt.duration(m["ttm"]),
                "runbook": view.triage.runbook.id if view.triage else None,
                "steps": (
                    f"{counts['done']} done, {counts['skipped']} skipped, "
                    f"{counts['failed']} failed, {counts['decided']} decided"
                    if counts
                    else fmt.NONE
                ),
            }
        )
    return out


# -- readiness reviews ---------------------------------------------------------------------


def _at(review: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(review["at"].replace("Z", "+00:00"))


def _points(change: float | None) -> str:
    """A readiness score's change in points: ▲ 12.5 points, ▼ 1 point, ±0, or a first review."""
    if change is None:
        return "first review"
    if change == 0:
        return "±0"
    n = abs(change)
    return f"{'▲' if change > 0 else '▼'} {n:g} point{'' if n == 1 else 's'}"


def _readiness(reviews: dict[str, list[dict[str, Any]]], until: datetime) -> list[dict[str, Any]]:
    """Per service, the latest review made before the end of the period and its change since
    the review before it; a service with no review in the READINESS_DUE before the end is due."""
    out = []
    for service in sorted(reviews):
        kept = [r for r in reviews[service] if _at(r) < until]
        if not kept:
            continue
        latest, previous = kept[-1], (kept[-2] if len(kept) > 1 else None)
        at = _at(latest)
        prev_cats = previous["categories"] if previous else {}
        change = None if previous is None else round(latest["percent"] - previous["percent"], 1)
        categories = []
        for name, pct in latest["categories"].items():
            before = prev_cats.get(name)
            delta = None if before is None else round(pct - before, 1)
            categories.append(
                {
                    "category": name,
                    "percent": pct,
                    "previous": before,
                    "change": delta,
                    "change_text": _points(delta),
                }
            )
        weakest = min(categories, key=lambda c: c["percent"]) if categories else None
        out.append(
            {
                "service": service,
                "percent": latest["percent"],
                "score": f"{latest['percent']:g}%",
                "at": fmt.ts_minute(at),
                "date": fmt.day(at),
                "actor": latest["actor"],
                "checklist": latest["checklist"],
                "gaps": latest["gaps"],
                "categories": categories,
                "weakest": (
                    f"{weakest['category']} {weakest['percent']:g}%" if weakest else fmt.NONE
                ),
                "previous": (
                    None
                    if previous is None
                    else {"at": fmt.ts_minute(_at(previous)), "percent": previous["percent"]}
                ),
                "change": change,
                "change_text": _points(change),
                "age_days": (until - at).days,
                "due": at <= until - READINESS_DUE,
            }
        )
    return out


# -- deploys, risks, action items ----------------------------------------------------------


def _deploys(deploys: Deploys, since, until) -> dict[str, Any]:
    d = deploys.dora(since, until)
    cfr = d["change_failure_rate"]
    rec = d["recovery"]
    return {
        "count": d["deploys"],
        "succeeded": d["deploys"] - d["failed"] - d["rolled_back"],
        "failed": d["failed"],
        "rolled_back": d["rolled_back"],
        "linked_to_incident": d["linked_to_incident"],
        "hotfixed": d["hotfixed"],
        "change_failures": d["change_failures"],
        "change_failure_rate": cfr,
        "change_failure_rate_pct": fmt.percent(cfr, 1),
        "recovered": rec["count"],
        "not_recovered": d["change_failures"] - rec["count"],
        "recovery_median": fmt.duration(rec["median"]),
        "recovery_median_seconds": rec["median"],
    }


def _risks(risks: Risks) -> dict[str, Any]:
    open_risks = risks.list(include_closed=False)
    top = [
        {
            "id": r["id"],
            "title": r["title"],
            "category": r["category"],
            "score": r["current"]["score"],  # the residual once assessed
            "band": r["current"]["band"],
            "inherent_score": r["score"],
            "previous_score": r["previous_score"],
            "change": r["change"],
            "change_text": fmt.score_change(r["change"]),
            "owner": r["owner"],
            "next_review": r["next_review"].isoformat() if r["next_review"] else None,
            "overdue": r["overdue"],
        }
        for r in open_risks[:TOP_RISKS]
    ]
    return {
        "open": len(open_risks),
        "critical": sum(r["current"]["band"] == "critical" for r in open_risks),
        "reviews_overdue": sum(r["overdue"] for r in open_risks),
        "top": top,
    }


def _overdue_actions(incidents: Incidents, until: datetime) -> list[dict[str, Any]]:
    """Open action items due before the end of the period, the longest overdue first."""
    day = until.date()
    return [
        {
            "incident": public_id(a.incident_id),
            "number": a.number,
            "text": a.text,
            "type": a.type,
            "owner": a.owner,
            "due": a.due.isoformat(),
            "days_overdue": (day - a.due).days,
            "drill": drill,
        }
        for a, drill in incidents.overdue_actions(day)
    ]


# -- the verdict ---------------------------------------------------------------------------


def _rag(checks, incidents, deploys, risks, overdue, sources: Sources, slos=()) -> dict[str, Any]:
    red, amber = [], []
    by_sev = {s["severity"]: s["count"] for s in incidents["by_severity"]}
    if by_sev.get("SEV1"):
        red.append(f"{by_sev['SEV1']} SEV1 incident{'s' if by_sev['SEV1'] > 1 else ''}")
    for c in checks:
        if c["availability_met"] is False:
            red.append(
                f"{c['id']} uptime {c['slo_window_uptime_pct']} over {c['slo_window']} is below "
                f"its SLO {c['slo_availability_pct']}"
            )
    for s in slos:
        if s["status"] == "spent":
            red.append(f"SLO {s['id']} has spent its error budget ({s['budget_remaining']} left)")
    cfr = deploys["change_failure_rate"]
    cfr_pct = deploys["change_failure_rate_pct"]
    if cfr is not None and cfr > sources.cfr_red_above:
        red.append(f"change failure rate {cfr_pct} is above {fmt.percent(sources.cfr_red_above)}")
    if by_sev.get("SEV2"):
        amber.append(f"{by_sev['SEV2']} SEV2 incident{'s' if by_sev['SEV2'] > 1 else ''}")
    for c in checks:
        if c["status"] == NO_DATA:  # an unwatched check is not a healthy one
            amber.append(f"{c['id']} has no data in its SLO window ({c['slo_window']})")
    for s in slos:
        if s["status"] == NO_DATA:
            amber.append(f"SLO {s['id']} has no data in its {s['window']} window")
        elif s["status"] == "burning":
            amber.append(
                f"SLO {s['id']} spent {s['period_consumed']} of its error budget in the period, "
                f"more than the period's share {s['pace']}"
            )
    for c in checks:
        if c["latency_met"] is False:
            amber.append(f"{c['id']} p95 {c['p95']} is above its SLO {c['slo_latency']}")
    if cfr is not None and sources.cfr_amber_above < cfr <= sources.cfr_red_above:
        amber.append(
            f"change failure rate {cfr_pct} is above {fmt.percent(sources.cfr_amber_above)}"
        )
    if overdue:
        amber.append(f"{len(overdue)} action item{'s' if len(overdue) > 1 else ''} overdue")
    if risks["critical"]:
        n = risks["critical"]
        amber.append(f"{n} open critical risk{'s' if n > 1 else ''}")
    status = "RED" if red else ("AMBER" if amber else "GREEN")
    rule = list(rag_rule(sources, bool(slos)))
    return {"status": status, "reasons": red + amber, "rule": rule}


def _tldr(rag, checks, incidents, deploys, risks, overdue, drills) -> list[str]:
    reasons = rag["reasons"]
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        bullets = [f"Overall {rag['status']}: {reasons[0]}{more}."]
    else:
        bullets = ["Overall GREEN: nothing in this period meets the AMBER or RED rule."]
    n = incidents["count"]
    drill_note = (
        f" {len(drills)} drill{'s' if len(drills) > 1 else ''} run, reported separately."
        if drills
        else ""
    )
    if n:
        sevs = ", ".join(
            f"{s['count']} {s['severity']}" for s in incidents["by_severity"] if s["count"]
        )
        bullets.append(
            f"{n} incident{'s' if n > 1 else ''} ({sevs}); median TTR "
            f"{incidents['all']['ttr']}, median TTD {incidents['all']['ttd']}.{drill_note}"
        )
    else:
        bullets.append(f"No incidents.{drill_note}")
    with_slo = [c for c in checks if c["availability_met"] is not None]
    measured = [c for c in checks if c["uptime"] is not None]
    if not measured:
        bullets.append("No check history in this period.")
    elif with_slo:
        met = sum(c["availability_met"] for c in with_slo)
        worst = min(with_slo, key=lambda c: c["slo_window_uptime"] - c["slo_availability"])
        bullets.append(
            f"{met} of {plural(len(with_slo), 'check')} with an SLO met it; lowest against "
            "its target: "
            f"{worst['id']} at {worst['slo_window_uptime_pct']} over {worst['slo_window']} "
            f"(SLO {worst['slo_availability_pct']})."
        )
    else:
        worst = min(measured, key=lambda c: c["uptime"])
        bullets.append(
            f"{plural(len(measured), 'check')} measured, none with an availability SLO; "
            "lowest uptime: "
            f"{worst['id']} at {worst['uptime_pct']}."
        )
    if deploys["count"]:
        bullets.append(
            f"{plural(deploys['count'], 'deploy')}, change failure rate "
            f"{deploys['change_failure_rate_pct']} ({deploys['change_failures']} needed "
            "intervention); "
            f"failed-deploy recovery median {deploys['recovery_median']}."
        )
    else:
        bullets.append("No deploys recorded.")
    extra = []
    if overdue:
        extra.append(f"{len(overdue)} action item{'s' if len(overdue) > 1 else ''} overdue")
    if risks["top"]:
        r = risks["top"][0]
        change = f", {r['change_text']}" if r["change"] is not None else ""
        extra.append(f"top risk {r['id']} scores {r['score']} ({r['band']}{change})")
    if extra:
        text = "; ".join(extra)
        bullets.append(text[0].upper() + text[1:] + ".")
    return bullets
