"""`slo import`: Sloth's and Pyrra's SLO files as slos.yaml entries on a Prometheus query pair.

Sloth (github.com/slok/sloth, pkg/prometheus/api/v1/v1.go): ``version: prometheus/v1``,
``service``, ``slos[]`` of ``name``, ``objective`` (a percentage), ``description``,
``sli.events.error_query``/``total_query`` (queries over ``{{.window}}``), ``sli.raw``,
``sli.plugin`` and ``alerting.page_alert``/``ticket_alert`` (``disable``). Its Kubernetes form
(``apiVersion: sloth.slok.dev/v1``, ``kind: PrometheusServiceLevel``) has the same under
``spec`` in camelCase (``errorQuery``, ``pageAlert``).

Pyrra (github.com/pyrra-dev/pyrra, kubernetes/api/v1alpha1/servicelevelobjective_types.go):
``apiVersion: pyrra.dev/v1alpha1``, ``kind: ServiceLevelObjective``, ``metadata.name``,
``spec.target`` (a string, 0-100), ``spec.window``, ``spec.description`` and
``spec.indicator`` with one of ``ratio`` (``errors``/``total``, each ``{metric: SELECTOR}``),
``latency`` (``success``/``total``: a histogram's bucket and count), ``latencyNative``,
``bool_gauge`` (``{metric}``), and ``grouping``; ``spec.alerting`` (``disabled``,
``burnrates``).

What maps becomes an entry; what does not is a located warning saying why, never dropped
silently. A file may hold several YAML documents (``---``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_oncall.formats.problems import Problem
from mlops_oncall.formats.yamlsrc import Document, load_text, read_text
from mlops_oncall.slo.config import (
    DEFAULT_POLICY,
    ID_PATTERN,
    WINDOWS,
    PrometheusPair,
    parse_objective,
)

DEFAULT_URL = "http://localhost:9090"  # Prometheus's own default listen address
_DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
# Pyrra's windows are Prometheus durations; slos.yaml has 28d and 30d (4w is 28d)
_WINDOW_ALIASES = {"28d": "28d", "4w": "28d", "30d": "30d"}


class _Plain(yaml.SafeDumper):
    """No anchors and aliases: people edit this file by hand."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Imported:
    """The entries made, and the located warnings: items not imported and what changed."""

    file: str
    formats: list[str] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    def yaml(self) -> str:
        """The entries as slos.yaml (``slos:`` and the list)."""
        return yaml.dump(
            {"slos": self.entries},
            Dumper=_Plain,
            sort_keys=False,
            allow_unicode=True,
            width=1000,
            default_flow_style=False,
        )


class _Doc:
    """One YAML document of the file, with its line offset for located warnings."""

    def __init__(self, doc: Document, offset: int, out: Imported):
        self.doc, self.offset, self.out = doc, offset, out

    def _problem(self, loc: tuple, message: str, severity: str) -> Problem:
        p = (self.doc.warning if severity == "warning" else self.doc.error)(loc, message)
        return Problem(p.file, p.line + self.offset, p.col, p.path, p.severity, p.message)

    def warn(self, loc: tuple, message: str) -> None:
        self.out.problems.append(self._problem(loc, message, "warning"))

    def error(self, loc: tuple, message: str) -> None:
        self.out.problems.append(self._problem(loc, message, "error"))


def _documents(text: str, name: str, out: Imported) -> list[_Doc]:
    docs, offset, start = [], 0, 0
    for m in [*_DOC_SPLIT.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        piece = text[start:end]
        if piece.strip() and not all(
            not ln.strip() or ln.lstrip().startswith("#") for ln in piece.splitlines()
        ):
            doc = load_text("\n" * offset + piece, name)  # lines counted from the file's top
            out.problems.extend(doc.problems)
            if doc.ok and isinstance(doc.data, dict):
                docs.append(_Doc(doc, 0, out))
        if m is not None:
            offset = text.count("\n", 0, m.end()) + 1
            start = m.end() + 1
    return docs


def import_slos(path: str, url: str = DEFAULT_URL, display: str | None = None) -> Imported:
    """Read a Sloth or Pyrra file; the entries use Prometheus at ``url``."""
    name = display or str(path)
    out = Imported(name)
    text, problems = read_text(path, name)
    out.problems.extend(problems)
    if text is None:
        return out
    docs = _documents(text, name, out)
    if not docs and out.ok:
        out.problems.append(Problem(name, 1, 1, "", "error", "no YAML document in the file"))
    for d in docs:
        data = d.doc.data
        if data.get("version") == "prometheus/v1":
            out.formats.append("sloth")
            _sloth(d, data, (), url, camel=False)
        elif str(data.get("apiVersion", "")).startswith("sloth.slok.dev/"):
            out.formats.append("sloth")
            spec = data.get("spec")
            if isinstance(spec, dict):
                _sloth(d, spec, ("spec",), url, camel=True)
            else:
                d.error(("spec",), "expected Sloth's spec: service and slos")
        elif str(data.get("apiVersion", "")).startswith("pyrra.dev/"):
            out.formats.append("pyrra")
            _pyrra(d, data, url)
        else:
            d.error(
                (),
                "not a Sloth file (version: prometheus/v1, or apiVersion: sloth.slok.dev/v1) "
                "nor a Pyrra ServiceLevelObjective (apiVersion: pyrra.dev/v1alpha1)",
            )
    _validate(out)
    seen: set[str] = set()
    for entry in out.entries:
        if entry["id"] in seen:
            out.problems.append(
                Problem(name, 1, 1, "", "error", f"two SLOs would have the id '{entry['id']}'")
            )
        seen.add(entry["id"])
    out.problems.sort(key=lambda p: (p.line, p.col))
    return out


def _validate(out: Imported) -> None:
    """Every entry made must load as slos.yaml does (a bug otherwise: said, not written)."""
    from pydantic import ValidationError

    from mlops_oncall.slo.config import SlosFile

    try:
        SlosFile.model_validate({"slos": out.entries})
    except ValidationError as exc:
        first = exc.errors()[0]
        out.problems.append(
            Problem(out.file, 1, 1, "", "error", f"an imported entry is invalid: {first['msg']}")
        )


def _slo_id(*parts: str) -> str | None:
    text = "-".join(p for p in parts if p)
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:100]
    return text if re.fullmatch(ID_PATTERN, text) else None


def _objective(value: Any) -> tuple[str | None, str | None]:
    try:
        return str(parse_objective(value)), None
    except ValueError as exc:
        return None, str(exc)


def _pair(url: str, **queries: str) -> dict[str, Any] | str:
    """The prometheus: mapping, or why its queries do not fit one."""
    try:
        pair = PrometheusPair(url=url, **queries)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        first = errors()[0]["msg"] if callable(errors) else str(exc)
        return str(first).removeprefix("Value error, ")
    return {
        "url": pair.url,
        **{k: v for k, v in queries.items() if k != "unit" or v != "per_second"},
    }


# --------------------------------------------------------------------------- Sloth


def _sloth(d: _Doc, spec: dict[str, Any], at: tuple, url: str, *, camel: bool) -> None:
    service = spec.get("service")
    slos = spec.get("slos")
    if not isinstance(slos, list) or not slos:
        d.error((*at, "slos"), "no slos to import")
        return
    keys = {
        "error": "errorQuery" if camel else "error_query",
        "total": "totalQuery" if camel else "total_query",
        "ratio": "errorRatioQuery" if camel else "error_ratio_query",
        "page": "pageAlert" if camel else "page_alert",
        "ticket": "ticketAlert" if camel else "ticket_alert",
    }
    for i, slo in enumerate(slos):
        loc = (*at, "slos", i)
        if not isinstance(slo, dict):
            d.warn(loc, "not imported: expected an SLO mapping")
            continue
        name = str(slo.get("name") or "")
        label = f"not imported ({name or 'unnamed'}): "
        slo_id = _slo_id(str(service or ""), name)
        if slo_id is None:
            d.warn(loc, label + "needs a service and name that make an id")
            continue
        objective, why = _objective(slo.get("objective"))
        if objective is None:
            d.warn((*loc, "objective"), label + f"objective: {why}")
            continue
        sli = slo.get("sli") if isinstance(slo.get("sli"), dict) else {}
        events = sli.get("events")
        if not isinstance(events, dict):
            if "raw" in sli:
                why = (
                    f"sli.raw ({keys['ratio']}) is an error ratio, not event counts: "
                    "budgets and min_bad_events need the bad and total events"
                )
            elif "plugin" in sli:
                why = "sli.plugin: Sloth SLI plugins generate their queries in Go; write "
                why += "the events' queries instead"
            else:
                why = "no sli.events"
            d.warn((*loc, "sli"), label + why)
            continue
        bad, total = events.get(keys["error"]), events.get(keys["total"])
        if not isinstance(bad, str) or not isinstance(total, str):
            d.warn((*loc, "sli", "events"), label + f"needs {keys['error']} and {keys['total']}")
            continue
        unit = _sloth_unit(bad, total)
        if unit == "events":
            d.warn(
                (*loc, "sli", "events"),
                f"{slo_id}: the queries count events (no rate()): unit: events",
            )
        prom = _pair(url, bad=bad.strip(), total=total.strip(), unit=unit)
        if isinstance(prom, str):
            d.warn((*loc, "sli", "events"), label + prom)
            continue
        entry: dict[str, Any] = {"id": slo_id}
        if slo.get("description"):
            entry["description"] = str(slo["description"])
        entry |= {"objective": float(objective), "window": "30d", "prometheus": prom}
        policy = _sloth_policy(d, slo.get("alerting"), loc, keys)
        if policy is not None:
            entry["policy"] = policy
        d.out.entries.append(entry)


def _sloth_unit(*queries: str) -> str:
    """Sloth divides one query by the other, so either unit works there; here the counts
    matter (min_bad_events): rates unless the queries count (increase, *_over_time)."""
    text = " ".join(queries)
    counts = "increase(" in text or "_over_time(" in text
    return "events" if counts and "rate(" not in text else "per_second"


def _sloth_policy(d: _Doc, alerting: Any, loc: tuple, keys: dict[str, str]) -> list | None:
    """Sloth's page and ticket alerts are the Workbook's rows (page: 1h/5m 14.4 and 6h/30m
    6; ticket: 1d/2h 3 and 3d/6h 1), our default; a disabled one drops its rows."""
    if not isinstance(alerting, dict):
        return None
    off = {
        sev
        for sev in ("page", "ticket")
        if isinstance(alerting.get(keys[sev]), dict) and alerting[keys[sev]].get("disable")
    }
    if not off:
        return None
    d.warn((*loc, "alerting"), f"{' and '.join(sorted(off))} alerts disabled: their rows left out")
    return [_row_yaml(r) for r in DEFAULT_POLICY if r.severity not in off]


def _row_yaml(row) -> dict[str, Any]:
    from mlops_oncall.formats.durations import format_duration

    return {
        "long": format_duration(row.long),
        "short": format_duration(row.short),
        "burn_rate": row.burn_rate,
        "severity": row.severity,
    }


# --------------------------------------------------------------------------- Pyrra


def _metric(value: Any) -> str | None:
    metric = value.get("metric") if isinstance(value, dict) else None
    return metric.strip() if isinstance(metric, str) and metric.strip() else None


def _pyrra(d: _Doc, data: dict[str, Any], url: str) -> None:
    kind = data.get("kind")
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = str(meta.get("name") or "")
    label = f"not imported ({name or 'unnamed'}): "
    if kind != "ServiceLevelObjective":
        d.warn(("kind",), label + f"kind {kind!r} is not a ServiceLevelObjective")
        return
    spec = data.get("spec")
    if not isinstance(spec, dict):
        d.warn(("spec",), label + "no spec")
        return
    slo_id = _slo_id(name)
    if slo_id is None:
        d.warn(("metadata",), label + "metadata.name must make an id")
        return
    objective, why = _objective(spec.get("target"))
    if objective is None:
        d.warn(("spec", "target"), label + f"target: {why}")
        return
    window = _WINDOW_ALIASES.get(str(spec.get("window", "")).strip())
    if window is None:
        d.warn(
            ("spec", "window"),
            label + f"window {spec.get('window')!r}: an SLO's window is "
            f"{' or '.join(WINDOWS)} (4w is 28d)",
        )
        return
    indicator = spec.get("indicator") if isinstance(spec.get("indicator"), dict) else {}
    queries, grouping, why = _pyrra_queries(indicator)
    if queries is None:
        d.warn(("spec", "indicator"), label + str(why))
        return
    prom = _pair(url, **queries)
    if isinstance(prom, str):
        d.warn(("spec", "indicator"), label + prom)
        return
    if grouping:
        d.warn(
            ("spec", "indicator"),
            f"{name}: grouping by {', '.join(map(str, grouping))} is not carried: the SLO is "
            "over all its series summed, not one per group",
        )
    entry: dict[str, Any] = {"id": slo_id}
    if spec.get("description"):
        entry["description"] = str(spec["description"]).strip()
    entry |= {"objective": float(objective), "window": window, "prometheus": prom}
    alerting = spec.get("alerting") if isinstance(spec.get("alerting"), dict) else {}
    if alerting.get("disabled") is True or alerting.get("burnrates") is False:
        entry["policy"] = []
        d.warn(("spec", "alerting"), f"{name}: burn-rate alerts are off: an empty policy")
    else:
        d.out.problems.append(
            d._problem(
                ("spec",),
                f"{name}: Pyrra's own burn-rate windows are not carried; the SRE Workbook's "
                "table is used",
                "warning",
            )
        )
    d.out.entries.append(entry)


def _pyrra_queries(ind: dict[str, Any]) -> tuple[dict[str, str] | None, list, str | None]:
    """The pair's queries of a Pyrra indicator, its grouping, or why it does not map."""
    if isinstance(ind.get("ratio"), dict):
        r = ind["ratio"]
        bad, total = _metric(r.get("errors")), _metric(r.get("total"))
        if bad is None or total is None:
            return None, [], "ratio needs errors.metric and total.metric"
        return {"bad": bad, "total": total}, r.get("grouping") or [], None
    if isinstance(ind.get("latency"), dict):
        r = ind["latency"]
        good, total = _metric(r.get("success")), _metric(r.get("total"))
        if good is None or total is None:
            return (
                None,
                [],
                (
                    "latency needs a histogram pair: success.metric (a _bucket with le) and "
                    "total.metric (its _count)"
                ),
            )
        if "le=" not in good.replace(" ", ""):
            return None, [], "latency's success.metric has no le matcher: not a histogram bucket"
        return {"good": good, "total": total}, r.get("grouping") or [], None
    if isinstance(ind.get("bool_gauge"), dict):
        r = ind["bool_gauge"]
        metric = _metric(r)
        if metric is None:
            return None, [], "bool_gauge needs a metric"
        # each sample is one event, good when 1 (Pyrra's count_over_time and sum_over_time)
        return (
            {
                "good": f"sum(sum_over_time({metric}[{{{{.window}}}}]))",
                "total": f"sum(count_over_time({metric}[{{{{.window}}}}]))",
                "unit": "events",
            },
            r.get("grouping") or [],
            None,
        )
    if "latencyNative" in ind:
        return (
            None,
            [],
            ("latencyNative reads a native histogram (histogram_fraction): no pair of counters"),
        )
    return None, [], "no ratio, latency or bool_gauge indicator"


# --------------------------------------------------------------------------- --write


class WriteRefused(Exception):
    """The entries were not written: why, in one line."""


def merged_text(existing: str | None, imported: Imported, name: str) -> str:
    """The slos.yaml text with the entries added: a new file, or the existing one with them
    appended to its ``slos:`` list, which must be the file's last block. The result is
    checked to read back as the old entries then the new ones (comments kept)."""
    header = f"# SLOs imported from {imported.file} by `mlops-oncall slo import`.\n"
    if existing is None or not existing.strip():
        return header + imported.yaml()
    old = load_text(existing, name)
    data = old.data if old.ok and isinstance(old.data, dict) else None
    if data is None or not isinstance(data.get("slos"), list) or not data["slos"]:
        raise WriteRefused(f"{name} has no slos: list to add to; add the entries by hand")
    clash = sorted(
        {str(e.get("id")) for e in data["slos"] if isinstance(e, dict)}
        & {e["id"] for e in imported.entries}
    )
    if clash:
        raise WriteRefused(f"{name} already has SLOs with the ids {', '.join(clash)}")
    indent = re.search(r"^slos:[ \t]*\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)- ", existing, re.MULTILINE)
    pad = indent.group(1) if indent else ""
    items = imported.yaml().split("\n", 1)[1]  # the list, without its "slos:" line
    block = "".join(f"{pad}{line}\n" if line else "\n" for line in items.splitlines())
    text = existing.rstrip("\n") + f"\n{pad}# imported from {imported.file}\n" + block
    back = load_text(text, name)
    if not back.ok or back.data.get("slos") != [*data["slos"], *imported.entries]:
        raise WriteRefused(
            f"cannot append to {name} safely (its slos: list is not its last block); "
            "add the entries printed without --write by hand"
        )
    return text
