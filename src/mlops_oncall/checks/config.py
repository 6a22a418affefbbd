"""checks.yaml: loading the file into runtime check specs (their types: ``checks.spec``).

``load_checks`` reports every problem of a file in one pass, each located to file:line:col:
schema errors from pydantic, then semantic ones read from the raw data (duplicate ids, unknown
or cyclic ``depends_on``, conditions that do not parse, unset ``${env:NAME}``, preset
parameters). Secrets from ``${env:NAME}`` are resolved only into the runtime ``Request`` of a
check, never into the models, and the CheckSet's Redactor knows each of them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlops_oncall.checks import presets as _presets
from mlops_oncall.checks import promql as _promql
from mlops_oncall.checks.conditions import Condition, ConditionError, parse_condition
from mlops_oncall.checks.redact import Redactor, strip_userinfo, url_userinfo_secrets
from mlops_oncall.checks.spec import (
    ID_PATTERN,
    LABEL_PATTERN,
    CheckSet,
    ChecksFile,
    CheckSpec,
    ParsedCondition,
    RefusedCheck,
    Request,
    Thresholds,
)
from mlops_oncall.formats.durations import parse_duration
from mlops_oncall.formats.problems import Problem, format_path
from mlops_oncall.formats.validate import (
    did_you_mean,
    validate,
)
from mlops_oncall.formats.words import join_words
from mlops_oncall.formats.yamlsrc import Document, load_file

GRPC_SCHEMES = ("grpc", "grpcs")
GRPC_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
GRPC_MISSING = "kind grpc needs the grpc extra: pip install 'mlops-oncall[grpc]'"
_ENV = re.compile(r"\$\{env:([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# the fields whose text may carry ${env:NAME}; anywhere else it would be shown, not resolved
SECRET_FIELDS = (
    "url",
    "headers",
    "body",
    "base_url",
    "management_url",
    "management_token",
    "inference_token",
)
# preset parameters: only from the environment, as ${env:NAME}, so no key is ever stored
_TOKENS = ("management_token", "inference_token")
_PRESET_KEYS = (
    "base_url",
    "model",
    "management_url",
    *_TOKENS,
    "max_queue",
    "max_queue_time",
    "job",
    "model_version",
)
_PROMQL_KEYS = ("query", "on_empty", "on_nan")  # kind: prometheus only


# --------------------------------------------------------------------------- loading


def load_checks(
    path: Path | str,
    display: str | None = None,
    env: dict[str, str] | None = None,
    *,
    runbooks: Collection[str] | Callable[[], Collection[str]] | None = None,
    unknown_runbook: Literal["error", "warning"] = "error",
    partial: bool = False,
) -> tuple[CheckSet | None, list[Problem]]:
    """Load checks.yaml; the CheckSet is None when any error was found.

    ``runbooks``: the ids of the workspace's library, or a function that loads them (called
    only if a check names a runbook); a ``runbook:`` naming none of them is a problem of
    severity ``unknown_runbook``. None: not checked.

    ``partial``: lenient, for a long-running monitor: an error inside one entry of ``checks``
    refuses that entry only (listed in ``CheckSet.refused``) and the others are built; an
    error outside the entries (YAML syntax, ``defaults``) still refuses the whole file.
    """
    doc = load_file(path, display)
    model = validate(ChecksFile, doc) if doc.data is not None else None
    builder = _Builder(doc, os.environ if env is None else env)
    builder.runbooks = (runbooks, unknown_runbook)
    if isinstance(doc.data, dict):
        builder.semantic()
    problems = sorted(
        (_redacted(p, builder.redactor) for p in doc.problems),
        key=lambda p: (p.line, p.col, p.message),
    )
    if partial and isinstance(doc.data, dict):
        return _lenient(doc, builder, model, problems)
    if model is None or any(p.is_error for p in problems):
        return None, problems
    specs = builder.build(model)
    checkset = CheckSet(doc.file, specs, builder.redactor, model.defaults, builder.groups)
    return checkset, problems


def label_names(path: Path | str | None) -> set[str]:
    """The label names the checks file declares, read without building any check: runbook
    validation accepts them as placeholders (and loading the checks may need the runbooks)."""
    if path is None or not Path(path).is_file():
        return set()
    data = load_file(path).data
    entries = data.get("checks") if isinstance(data, dict) else None
    names: set[str] = set()
    for entry in entries if isinstance(entries, list) else ():
        labels = entry.get("labels") if isinstance(entry, dict) else None
        if isinstance(labels, dict):
            names.update(n for n in labels if isinstance(n, str) and re.match(LABEL_PATTERN, n))
    return names


_ENTRY = re.compile(r"^checks\[(\d+)\]")


def _lenient(
    doc: Document, builder: _Builder, model: ChecksFile | None, problems: list[Problem]
) -> tuple[CheckSet | None, list[Problem]]:
    """Build every entry without an error; refuse the others, one RefusedCheck each."""
    by_entry: dict[int, list[Problem]] = {}
    for p in problems:
        if not p.is_error:
            continue
        m = _ENTRY.match(p.path)
        if m is None:  # outside any one entry: the whole file is refused
            return None, problems
        by_entry.setdefault(int(m.group(1)), []).append(p)
    raw = doc.data.get("checks") or []
    good = [i for i in range(len(raw)) if i not in by_entry]
    if model is None or by_entry:
        try:  # the entries left were valid in the whole file's validation
            model = ChecksFile.model_validate({**doc.data, "checks": [raw[i] for i in good]})
        except Exception:
            return None, problems
    specs = builder.build(model, good)
    refused = []
    for i, found in sorted(by_entry.items()):
        entry = raw[i] if i < len(raw) else None
        cid = entry.get("id") if isinstance(entry, dict) else None
        label = cid if isinstance(cid, str) and re.match(ID_PATTERN, cid) else f"checks[{i}]"
        group = entry.get("group") if isinstance(entry, dict) else None
        line = doc.position(("checks", i))[0]
        group = group if isinstance(group, str) else None
        refused.append(RefusedCheck(label, i, line, tuple(found), group))
    # a valid check that depends on a refused one is polled without that dependency
    for i, check in zip(good, model.checks, strict=True):
        for j, name in enumerate(check.depends_on):
            targets = builder.groups.get(name, [name])
            if any(t not in specs for t in targets):
                loc = ("checks", i, "depends_on", j)
                problems.append(
                    doc.warning(loc, f"'{name}' was refused: polled without this dependency")
                )
    for cid, spec in list(specs.items()):
        deps = tuple(d for d in spec.depends_on if d in specs)
        if deps != spec.depends_on:
            specs[cid] = replace(spec, depends_on=deps)
    checkset = CheckSet(doc.file, specs, builder.redactor, model.defaults, builder.groups, refused)
    return checkset, problems


def _redacted(p: Problem, redactor: Redactor) -> Problem:
    message = redactor.text(p.message)
    if message == p.message:
        return p
    return Problem(p.file, p.line, p.col, p.path, p.severity, message)


class _Builder:
    """Semantic checks on the raw data, then runtime specs from the validated model."""

    def __init__(self, doc: Document, env: Any):
        self.doc = doc
        self.env = env
        self.redactor = Redactor()
        self.groups: dict[str, list[str]] = {}
        self.resolved: dict[tuple, str] = {}  # loc -> resolved text, for build()
        self.internal_deps: dict[str, list[str]] = {}  # preset edges such as ready -> live
        self.runbooks: tuple[Any, str] = (None, "error")

    def error(self, loc: tuple, message: str, *, key: bool = False) -> None:
        self.doc.problems.append(self.doc.error(loc, message, key=key))

    # ---- pass 1: raw data, every problem at once

    def semantic(self) -> None:
        raw = self.doc.data.get("checks")
        if not isinstance(raw, list):
            return
        if not raw:
            self.doc.problems.append(self.doc.warning(("checks",), "no checks defined"))
        first_at: dict[str, tuple] = {}
        deps: dict[str, list[tuple[str, tuple]]] = {}
        expanded_of: dict[str, list[str]] = {}
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                continue
            cid = entry.get("id") if isinstance(entry.get("id"), str) else None
            ids = self._entry(i, entry, cid)
            if cid is not None:
                expanded_of[cid] = ids
            for eid in ids:
                if eid in first_at:
                    self.error(
                        ("checks", i, "id"),
                        f"duplicate check id '{eid}' (first defined by checks[{first_at[eid][1]}])",
                    )
                else:
                    first_at[eid] = ("checks", i)
            dep_list = entry.get("depends_on")
            if isinstance(dep_list, list):
                for j, dep in enumerate(dep_list):
                    if isinstance(dep, str):
                        for eid in ids:
                            deps.setdefault(eid, []).append((dep, ("checks", i, "depends_on", j)))
        known = list(first_at) + [k for k in expanded_of if k not in first_at]
        graph: dict[str, set[str]] = {k: set(v) for k, v in self.internal_deps.items()}
        reported: set[tuple] = set()
        for eid, items in deps.items():
            for dep, loc in items:
                targets = [dep] if dep in first_at else expanded_of.get(dep, [])
                problem = None
                if not targets:
                    problem = f"unknown check '{dep}'{did_you_mean(dep, known)}"
                elif eid in targets:
                    problem = f"check '{eid}' cannot depend on itself"
                else:
                    graph.setdefault(eid, set()).update(targets)
                if problem and loc not in reported:
                    reported.add(loc)
                    self.error(loc, problem)
        self._cycles(graph, first_at)

    def _cycles(self, graph: dict[str, set[str]], first_at: dict[str, tuple]) -> None:
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(graph, white)
        seen_cycles: set[frozenset] = set()

        def visit(node: str, stack: list[str]) -> None:
            color[node] = grey
            stack.append(node)
            for nxt in sorted(graph.get(node, ())):
                c = color.get(nxt, white)
                if c == grey:
                    cycle = stack[stack.index(nxt) :]
                    key = frozenset(cycle)
                    if key not in seen_cycles:
                        seen_cycles.add(key)
                        loc = first_at.get(cycle[0], ("checks",))
                        path = " → ".join([*cycle, nxt])
                        self.error((*loc, "depends_on"), f"depends_on forms a cycle: {path}")
                elif c == white and nxt in graph:
                    visit(nxt, stack)
            stack.pop()
            color[node] = black

        for node in sorted(graph):
            if color[node] == white:
                visit(node, [])

    def _entry(self, i: int, entry: dict, cid: str | None) -> list[str]:
        """Check one raw entry; return the ids it defines (expanded for presets)."""
        loc = ("checks", i)
        for key in ("conditions", "warn"):
            items = entry.get(key)
            if isinstance(items, list):
                for j, text in enumerate(items):
                    if isinstance(text, str):
                        self._condition((*loc, key, j), text, entry)
        self._secrets(loc, entry)
        self._headers(loc, entry.get("headers"))
        self._runbook(loc, entry.get("runbook"))
        self._labels(loc, entry.get("labels"))
        preset = entry.get("preset")
        kind = entry.get("kind", "http")
        self._kind(loc, entry, kind)
        for key in ("url", "base_url", "management_url"):
            value = entry.get(key)
            # a number would pass as text (numbers coerce to str); other types pydantic reports
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.error((*loc, key), f"expected a URL as text, got the number {value!r}")
        if preset is None:
            self._promql(loc, entry, kind)
            for key in _PRESET_KEYS:
                if key in entry:
                    self.error(
                        (*loc, key),
                        f"{key} is a preset parameter; set preset or remove it",
                        key=True,
                    )
            url = entry.get("url")
            if kind == "dns":
                self._dns(loc, entry)
            elif url is None:
                self.error(loc, "url is required (or a preset with base_url)")
            elif isinstance(url, str):
                self._url((*loc, "url"), url, kind)
            return [cid] if cid else []
        if not isinstance(preset, str) or preset not in _presets.PRESETS:
            return [cid] if cid else []
        grpc_preset = preset in _presets.GRPC_PRESETS
        if grpc_preset and not _grpc_installed():
            self.error((*loc, "preset"), GRPC_MISSING.replace("kind grpc", f"preset {preset}"))
        if kind != "http" and not (grpc_preset and kind == "grpc"):
            self.error((*loc, "kind"), "presets probe http endpoints; remove kind")
        self._promql_preset(loc, entry, preset)
        if preset in _presets.DEPRECATED:
            self.doc.problems.append(
                self.doc.warning((*loc, "preset"), _presets.DEPRECATED[preset][1])
            )
        for key in _TOKENS:
            value = entry.get(key)
            if isinstance(value, str) and not _ENV.fullmatch(value.strip()):
                self.error(
                    (*loc, key),
                    f"{key} must come from the environment: write {key}: ${{env:NAME}}",
                )
            resolved = self.resolved.get((*loc, key))
            bad = _unsafe(resolved, allow_tab=False) if resolved is not None else None
            if bad:  # it becomes an Authorization header
                self.error((*loc, key), f"the value has {bad}" + _FROM_ENV)
        try:
            eps = _presets.endpoints(
                preset,
                base_url=_text(entry.get("base_url")),
                model=_text(entry.get("model")),
                management_url=_text(entry.get("management_url")),
                url=_text(entry.get("url")),
                management_token=_text(entry.get("management_token")),
                inference_token=_text(entry.get("inference_token")),
                max_queue=_count(entry.get("max_queue")),
                max_queue_time=_seconds(entry.get("max_queue_time")),
                job=_text(entry.get("job")),
                model_version=_text(entry.get("model_version")),
            )
        except _presets.PresetError as exc:
            where = (*loc, exc.field) if exc.field in entry else loc
            self.error(where, exc.message)
            return [cid] if cid else []
        for key in ("base_url", "management_url", "url"):
            if isinstance(entry.get(key), str):
                self._url((*loc, key), entry[key], "grpc" if grpc_preset else "http")
        if cid is None:
            return []
        ids = [f"{cid}.{ep.suffix}" for ep in eps]
        self.groups[cid] = ids
        for ep in eps:
            self.internal_deps[f"{cid}.{ep.suffix}"] = [f"{cid}.{s}" for s in ep.depends_on]
        return ids

    def _kind(self, loc: tuple, entry: dict, kind: Any) -> None:
        """What a kind needs: its library installed, its own keys and none of another's."""
        if kind == "grpc" and not _grpc_installed():
            self.error((*loc, "kind"), GRPC_MISSING)
        if "dns" in entry and kind != "dns":
            self.error((*loc, "dns"), "dns: is for kind dns", key=True)
        if "grpc_service" in entry and kind != "grpc":
            self.error((*loc, "grpc_service"), "grpc_service is for kind grpc", key=True)
        if kind == "grpc":
            for key in ("method", "body"):
                if key in entry:
                    self.error((*loc, key), f"a grpc check has no {key}; remove it", key=True)

    def _dns(self, loc: tuple, entry: dict) -> None:
        """A dns check asks its dns: block's query; it has no URL, method, body or headers."""
        for key in ("url", "method", "body", "headers", "insecure"):
            if key in entry:
                self.error((*loc, key), f"a dns check has no {key}; see dns:", key=True)
        query = entry.get("dns")
        if not isinstance(query, dict):
            if query is None:
                self.error(loc, "a dns check needs dns: {name: NAME, type: A, server: HOST}")
            return
        server = query.get("server")
        if isinstance(server, str):
            try:
                parts = urlsplit(f"//{_bracketed(server)}")
                ok = bool(parts.hostname) and not parts.path and parts.port != 0
            except ValueError:
                ok = False
            if not ok:
                self.error(
                    (*loc, "dns", "server"),
                    f"expected host or host:port for the name server, got '{server}'",
                )

    def _condition(self, loc: tuple, text: str, entry: dict) -> None:
        try:
            cond = parse_condition(text)
        except ConditionError as exc:
            line, col = self._column(loc, exc.pos)
            self.doc.problems.append(
                Problem(self.doc.file, line, col, _fmt(loc), "error", f"invalid condition: {exc}")
            )
            return
        if _ENV.search(text):
            self.error(loc, "${env:…} is not resolved in conditions; only in " + _SECRET_LIST)
        url = entry.get("url") if isinstance(entry.get("url"), str) else ""
        if _reads(cond, "CERTIFICATE_EXPIRATION") and url.startswith(("tcp://", "grpc://")):
            scheme = url.split(":", 1)[0]
            self.error(loc, f"a {scheme}:// check has no certificate; use {_TLS_OF[scheme]}://")
        elif (
            entry.get("kind") == "tcp"
            and (cond.needs_body or reads_http(cond))
            and not (url.startswith("tls://") and _reads(cond, "CERTIFICATE_EXPIRATION"))
        ):
            self.error(loc, "a tcp check has no HTTP response; use [CONNECTED] or [RESPONSE_TIME]")
        if entry.get("kind") == "prometheus" or entry.get("preset") in _presets.PROMETHEUS:
            problem = _promql.placeholder_problem(cond)
            if problem:
                self.error(loc, problem)
        elif _promql.reads_value(cond):
            self.error(loc, "[VALUE] is a prometheus check's series value; set kind: prometheus")
        if entry.get("kind") == "dns" and reads_http(cond):
            self.error(loc, "a dns check has [DNS_RCODE], [BODY], [RESPONSE_TIME] and [CONNECTED]")
        if entry.get("kind") == "grpc" and _reads(cond, "HEADER"):
            self.error(
                loc, "a grpc check has no HTTP headers; use [STATUS], [BODY] or [RESPONSE_TIME]"
            )

    def _promql(self, loc: tuple, entry: dict, kind: Any) -> None:
        """A prometheus check's own fields, and those fields refused on other kinds."""
        if kind != "prometheus":
            for key in _PROMQL_KEYS:
                if key in entry:
                    self.error((*loc, key), f"{key} is a prometheus field; set kind: prometheus")
            return
        query = entry.get("query")
        if query is None:
            self.error(loc, "query is required for a prometheus check (its PromQL)")
        elif isinstance(query, str):
            if not query.strip():
                self.error((*loc, "query"), "expected PromQL such as 'up{job=\"vllm\"}'")
            elif (why := _promql.range_selector(query)) is not None:
                self.error((*loc, "query"), why)
        if "body" in entry:
            self.error((*loc, "body"), "a prometheus check sends its query; remove body")
        method = entry.get("method")
        if isinstance(method, str) and method.upper() not in ("GET", "POST"):
            self.error((*loc, "method"), "a prometheus query is sent with GET or POST")
        texts = [t for key in ("conditions", "warn") for t in entry.get(key) or () if t]
        if not any(_reads_value(t) for t in texts if isinstance(t, str)):
            self.error(
                loc,
                "a prometheus check needs a condition on [VALUE], each series' value "
                "(e.g. conditions: ['[VALUE] < 10'])",
            )

    def _promql_preset(self, loc: tuple, entry: dict, preset: str) -> None:
        """A prometheus preset sets its query; on_empty and on_nan may override its own."""
        if "query" in entry:
            self.error((*loc, "query"), f"preset {preset} sets its own query; remove query")
        if preset not in _presets.PROMETHEUS:
            for key in ("on_empty", "on_nan"):
                if key in entry:
                    self.error(
                        (*loc, key),
                        f"{key} is a prometheus field (kind: prometheus, or the presets "
                        "vllm_queue, triton_queue_time and prometheus_targets)",
                    )

    def _column(self, loc: tuple, pos: int) -> tuple[int, int]:
        """Line and column of character ``pos`` inside the condition's scalar."""
        node = _node_at(self.doc.root, loc)
        if not isinstance(node, ScalarNode):
            return self.doc.position(loc)
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        single_line = node.start_mark.line == node.end_mark.line
        quoted = node.style in ("'", '"')
        head = node.value[:pos]
        if single_line and not any(c in head for c in "\\'\""):
            return line, col + pos + (1 if quoted else 0)
        return line, col

    def _secrets(self, loc: tuple, entry: dict) -> None:
        """Resolve ${env:NAME} in the fields that may carry secrets; report unset names."""
        for key in SECRET_FIELDS:
            value = entry.get(key)
            if key == "headers" and isinstance(value, dict):
                for hname, hval in value.items():
                    if isinstance(hval, str):
                        self._resolve((*loc, key, hname), hval)
            elif isinstance(value, str):
                self._resolve((*loc, key), value)
        for key, value in entry.items():
            if key not in SECRET_FIELDS and isinstance(value, str) and _ENV.search(value):
                self.error((*loc, key), "${env:…} is resolved only in " + _SECRET_LIST)

    def _resolve(self, loc: tuple, text: str) -> None:
        if "${" not in text:
            if "@" in text:
                self.redactor.add(*url_userinfo_secrets(text))
            return
        missing = False

        def sub(m: re.Match) -> str:
            nonlocal missing
            name = m.group(1)
            if not _ENV_NAME.match(name):
                self.error(
                    loc,
                    f"invalid ${{env:{name}}}: expected ${{env:NAME}} with NAME "
                    "made of letters, digits and _",
                )
                missing = True
                return ""
            value = self.env.get(name)
            if value is None:
                self.error(loc, f"environment variable {name} is not set")
                missing = True
                return ""
            self.redactor.add(value)
            return value

        resolved = _ENV.sub(sub, text)
        if not missing:
            self.resolved[loc] = resolved
            self.redactor.add(*url_userinfo_secrets(resolved))

    def _runbook(self, loc: tuple, name: Any) -> None:
        known, severity = self.runbooks
        if known is None or not isinstance(name, str):
            return
        if callable(known):
            known = set(known())
            self.runbooks = (known, severity)
        if name in known:
            return
        message = f"unknown runbook '{name}'{did_you_mean(name, sorted(known))}"
        if severity == "error":
            self.error((*loc, "runbook"), message)
        else:
            self.doc.problems.append(self.doc.warning((*loc, "runbook"), message))

    def _labels(self, loc: tuple, labels: Any) -> None:
        if not isinstance(labels, dict):
            return
        for name in labels:
            if not (isinstance(name, str) and re.match(LABEL_PATTERN, name)):
                self.error(
                    (*loc, "labels", name),
                    f"label '{name}' cannot be a placeholder name; "
                    "use lowercase letters, digits and '_', starting with a letter or '_'",
                    key=True,
                )
            elif isinstance(labels[name], bool):  # it would pass as 1: ask for the word meant
                word = str(labels[name]).lower()
                self.error((*loc, "labels", name), f"expected text or a number; write '{word}'")

    def _headers(self, loc: tuple, headers: Any) -> None:
        """Names are RFC 9110 tokens; values are printable ASCII (a CR or LF would end the
        header and start another one of the value's choosing)."""
        if not isinstance(headers, dict):
            return
        for name, value in headers.items():
            where = (*loc, "headers", name)
            if not isinstance(name, str) or not _TOKEN.match(name):
                self.error(
                    where,
                    f"invalid header name {name!r}: expected letters, digits and "
                    "!#$%&'*+-.^_`|~ only",
                    key=True,
                )
            if isinstance(value, str):
                for text, resolved in ((value, False), (self.resolved.get(where), True)):
                    bad = _unsafe(text, allow_tab=True) if text is not None else None
                    if bad:
                        self.error(where, f"the value has {bad}" + _FROM_ENV * resolved)
                        break

    def _url(self, loc: tuple, url: str, kind: Any) -> None:
        shown = strip_userinfo(url)
        for text, resolved in ((url, False), (self.resolved.get(loc), True)):
            bad = _unsafe(text, allow_tab=False) if text is not None else None
            if bad:
                hint = " (percent-encode it; a host name in its xn-- form)" * ("ASCII" in bad)
                self.error(loc, f"the URL has {bad}{hint}" + _FROM_ENV * resolved)
                return
        probe = _ENV.sub("x", url)
        try:
            parts = urlsplit(probe if "://" in probe else f"//{probe}")
            parts.hostname  # noqa: B018 - raises on a bracketed host that is not an IPv6
        except ValueError as exc:
            self.error(loc, f"invalid URL '{shown}': {exc}")
            return
        if kind == "tcp":
            try:
                port = parts.port
            except ValueError:
                port = None
            if parts.scheme not in ("", "tcp", "tls") or not parts.hostname or port is None:
                self.error(loc, f"expected tcp://host:port for a tcp check, got '{shown}'")
            return
        if kind == "grpc":
            try:
                port = parts.port
            except ValueError:
                port = None
            if parts.scheme not in GRPC_SCHEMES or not parts.hostname or port is None:
                self.error(loc, f"expected grpc://host:port or grpcs://host:port, got '{shown}'")
            elif parts.path.strip("/") or parts.query:
                self.error(loc, f"a grpc URL is grpc://host:port only, got '{shown}'")
            return
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error(loc, f"expected an http:// or https:// URL, got '{shown}'")
            return
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            self.error(loc, f"invalid port in '{shown}'")

    # ---- pass 2: the validated model into runtime specs

    def build(self, model: ChecksFile, indices: list[int] | None = None) -> dict[str, CheckSpec]:
        """``indices``: each check's position in the file (a lenient load leaves some out)."""
        specs: dict[str, CheckSpec] = {}
        d = model.defaults
        positions = indices if indices is not None else range(len(model.checks))
        for i, check in zip(positions, model.checks, strict=True):
            loc = ("checks", i)
            line, _ = self.doc.position(loc)
            source = f"{self.doc.file}:{line}"
            thresholds = _merge_thresholds(d.thresholds, check.thresholds)
            timeout = check.timeout or d.timeout
            user = tuple(
                [ParsedCondition(parse_condition(c), "fail") for c in check.conditions]
                + [ParsedCondition(parse_condition(c), "warn") for c in check.warn]
            )
            headers = {
                k: self.resolved.get((*loc, "headers", k), v) for k, v in check.headers.items()
            }
            body = self.resolved.get((*loc, "body"), check.body)
            common = dict(
                group=check.group,
                service=check.service,
                interval=check.interval or d.interval,
                connect_timeout=timeout.connect_seconds,
                total_timeout=timeout.total_seconds,
                thresholds=thresholds,
                slo=check.slo,
                runbook=check.runbook,
                labels={k: str(v) for k, v in check.labels.items()},
                insecure=check.insecure,
                maintenance=tuple(check.maintenance),
                method=check.method,
                headers={k: strip_userinfo(v) for k, v in check.headers.items()},
                source=source,
            )
            deps = tuple(dep for name in check.depends_on for dep in self.groups.get(name, [name]))
            if check.preset is None and check.kind == "dns" and check.dns is not None:
                q = check.dns
                server = _bracketed(q.server) if q.server else ""
                url = f"dns://{server}/{quote(q.name, safe='')}?type={q.type}"
                specs[check.id] = CheckSpec(
                    id=check.id,
                    name=check.name or check.id,
                    kind="dns",
                    url=url,
                    conditions=user or _DEFAULT_DNS,
                    request=Request(q.type, url, {}, None),
                    depends_on=deps,
                    **{**common, "method": q.type},
                )
                continue
            if check.preset is None and check.kind == "grpc":
                url = self.resolved.get((*loc, "url"), check.url or "")
                ask = {"service": check.grpc_service} if check.grpc_service else {}
                common["method"] = GRPC_HEALTH_CHECK
                specs[check.id] = CheckSpec(
                    id=check.id,
                    name=check.name or check.id,
                    kind="grpc",
                    url=strip_userinfo(check.url or ""),
                    conditions=user,
                    request=Request(GRPC_HEALTH_CHECK, url, headers, json.dumps(ask).encode()),
                    depends_on=deps,
                    evaluator=_presets.GRPC_HEALTH,
                    **common,
                )
                continue
            if check.preset is None:
                url = self.resolved.get((*loc, "url"), check.url or "")
                conds = user or (_DEFAULT_TCP if check.kind == "tcp" else _DEFAULT_HTTP)
                request = Request(check.method, url, headers, _bytes(body))
                promql = None
                if check.kind == "prometheus" and check.query is not None:
                    promql = _promql.PromQuery(
                        check.query, check.on_empty or "unknown", check.on_nan or "unknown"
                    )
                    request = _query_request(check.method, url, headers, promql.query)
                specs[check.id] = CheckSpec(
                    id=check.id,
                    name=check.name or check.id,
                    kind=check.kind,
                    url=strip_userinfo(check.url or ""),
                    conditions=conds,
                    request=request,
                    depends_on=deps,
                    promql=promql,
                    **common,
                )
                continue
            base = self.resolved.get((*loc, "base_url"), check.base_url)
            mgmt = self.resolved.get((*loc, "management_url"), check.management_url)
            url = self.resolved.get((*loc, "url"), check.url)
            shown = _presets.endpoints(
                check.preset,
                base_url=check.base_url and strip_userinfo(check.base_url),
                model=check.model,
                management_url=check.management_url and strip_userinfo(check.management_url),
                url=check.url and strip_userinfo(check.url),
                management_token=check.management_token,
                inference_token=check.inference_token,
                max_queue=check.max_queue,
                max_queue_time=_seconds(check.max_queue_time),
                job=check.job,
                model_version=check.model_version,
            )
            real = _presets.endpoints(
                check.preset,
                base_url=base,
                model=check.model,
                management_url=mgmt,
                url=url,
                management_token=self.resolved.get((*loc, "management_token")),
                inference_token=self.resolved.get((*loc, "inference_token")),
                max_queue=check.max_queue,
                max_queue_time=_seconds(check.max_queue_time),
                job=check.job,
                model_version=check.model_version,
            )
            for ep, real_ep in zip(shown, real, strict=True):
                eid = f"{check.id}.{ep.suffix}"
                conds = tuple(
                    ParsedCondition(parse_condition(c), level)
                    for level, texts in (("fail", ep.conditions), ("warn", ep.warn))
                    for c in texts
                )
                request = Request(
                    check.method,
                    real_ep.url,
                    {**headers, **dict(real_ep.headers)},
                    _bytes(body),
                )
                promql = None
                if ep.query is not None:  # a prometheus preset: url is the server
                    promql = _promql.PromQuery(
                        ep.query,
                        check.on_empty or ep.on_empty,  # type: ignore[arg-type]
                        check.on_nan or ep.on_nan,  # type: ignore[arg-type]
                    )
                    request = _query_request(check.method, real_ep.url, headers, ep.query)
                if ep.rpc is not None:  # a grpc preset: the call, its request message as JSON
                    request = Request(ep.rpc, real_ep.url, headers, (ep.request or "{}").encode())
                specs[eid] = CheckSpec(
                    id=eid,
                    name=join_words(check.name or check.id, ep.title),
                    kind=ep.kind,
                    url=ep.url,
                    conditions=conds + user,
                    request=request,
                    depends_on=tuple(f"{check.id}.{s}" for s in ep.depends_on) + deps,
                    preset=check.preset,
                    parent=check.id,
                    evaluator=ep.evaluator,
                    promql=promql,
                    **common,
                )
        return specs


_SECRET_LIST = "url, headers, body, base_url, management_url, management_token and inference_token"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FROM_ENV = " (from ${env:…})"


def _unsafe(text: str, *, allow_tab: bool) -> str | None:
    """What makes ``text`` unsafe in a request line or header, or None."""
    for i, ch in enumerate(text):
        if ch in "\r\n":
            return f"{'a CR' if ch == chr(13) else 'an LF'} at position {i + 1}"
        if (ord(ch) < 32 and not (allow_tab and ch == "\t")) or ord(ch) == 127:
            return f"a control character {ch!r} at position {i + 1}"
        if ord(ch) > 126:
            return f"a non-ASCII character {ch!r} at position {i + 1}"
    return None


_DEFAULT_HTTP = (ParsedCondition(parse_condition("[STATUS] < 400"), "fail"),)
_DEFAULT_TCP = (ParsedCondition(parse_condition("[CONNECTED] == true"), "fail"),)
_TLS_OF = {"tcp": "tls", "grpc": "grpcs"}
_DEFAULT_DNS = (ParsedCondition(parse_condition("[DNS_RCODE] == NOERROR"), "fail"),)


def _bracketed(host: str) -> str:
    """An IPv6 address in brackets, as a URL's host:port wants it."""
    return f"[{host}]" if host.count(":") > 1 and not host.startswith("[") else host


def _reads(cond: Condition, name: str) -> bool:
    return any(
        getattr(getattr(side, "arg", side), "name", None) == name
        for side in (cond.left, cond.right)
    )


def reads_http(cond: Condition) -> bool:
    names = set()
    for side in (cond.left, cond.right):
        ph = getattr(side, "arg", side)
        names.add(getattr(ph, "name", None))
    return bool(names & {"STATUS", "HEADER", "CERTIFICATE_EXPIRATION"})


def _merge_thresholds(defaults: Thresholds, override: Thresholds | None) -> Thresholds:
    if override is None:
        return defaults
    data = defaults.model_dump()
    data.update({k: getattr(override, k) for k in override.model_fields_set})
    return Thresholds(**data)


def _grpc_installed() -> bool:
    """grpcio and its health stubs are there, found without importing them."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("grpc", "grpc_health"))
    except (ImportError, ValueError):
        return False


def _bytes(body: str | None) -> bytes | None:
    return None if body is None else body.encode()


def _query_request(method: str, url: str, headers: dict[str, str], query: str) -> Request:
    """The instant query's request; a POST form-encodes the query in the body."""
    full, extra, body = _promql.query_request(url, query, method)
    return Request(method, full, {**headers, **extra}, body)


def _reads_value(text: str) -> bool:
    try:
        return _promql.reads_value(parse_condition(text))
    except ConditionError:
        return True  # reported as it is; not also as missing


def _seconds(value: Any) -> float | None:
    """A duration (raw text or a parsed timedelta) in seconds; None when absent or wrong (the
    schema reports a wrong one)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        try:
            return parse_duration(value).total_seconds()
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    # a wrong type or a negative number is pydantic's error to report; here it is just absent
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _fmt(loc: tuple) -> str:
    return format_path(loc)


def _node_at(root: Node | None, loc: tuple) -> Node | None:
    node = root
    for part in loc:
        if isinstance(node, MappingNode):
            node = next(
                (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)),
                None,
            )
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
        if node is None:
            return None
    return node
