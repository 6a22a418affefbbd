"""Templates: shipped, overridden by the workspace or --template, strict, and documented."""

from __future__ import annotations

import pytest

from mlops_oncall.reports import handoff, postmortem, register, variables, weekly
from mlops_oncall.reports.render import SHIPPED, TEMPLATES, TemplateProblem, render
from mlops_oncall.reports.risks import Risks
from mlops_oncall.reports.sources import Sources
from mlops_oncall.reports.text import code, items, md_cell, percent

from . import mdcheck

VARIABLES = variables.SOURCE


def test_the_three_templates_ship_inside_the_package():
    assert SHIPPED.parent.name == "reports"
    for name in TEMPLATES:
        assert (SHIPPED / name).is_file()


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("a | b", "a \\| b"),
        ("already \\| escaped", "already \\| escaped"),
        ("two\nlines\r\n", "two / lines"),
        (None, "–"),
        ("   ", "–"),
        (12, "12"),
    ],
)
def test_md_cell(value, cell):
    assert md_cell(value) == cell


def test_md_cell_keeps_a_table_well_formed():
    nasty = "x | y\n| --- |\n`a|b`"
    text = f"| a | b |\n| --- | --- |\n| {md_cell(nasty)} | ok |\n"
    assert len(mdcheck.check(text)) == 1


def test_code_span_survives_backticks():
    assert code("ls") == "`ls`"
    assert code("grep `x`") == "`` grep `x` ``"
    assert code("a ``b`` c") == "```a ``b`` c```"
    for text in ("grep `x`", "a ``b`` c", "`edge`"):
        tokens = mdcheck.parser().parseInline(code(text))[0].children
        assert [t.content for t in tokens if t.type == "code_inline"] == [text]


def test_items_and_percent():
    assert items("- one\n\n* two\n3. three\n• four\nplain") == [
        "one",
        "two",
        "three",
        "four",
        "plain",
    ]
    assert items(None) == []
    assert (percent(1.0), percent(0.999), percent(19920 / 20160), percent(None)) == (
        "100%",
        "99.9%",
        "98.81%",
        "–",
    )


def test_workspace_template_overrides_and_can_extend_the_shipped_one(week, tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "weekly.md.j2").write_text(
        '{% extends "shipped/weekly.md.j2" %}\n'
        "{% block tldr %}\n## In short\n\n{{ tldr[0] }}\n{% endblock %}\n",
        encoding="utf-8",
    )
    text = weekly.render_weekly(sources=week.sources(), templates_dir=tdir, **week.wk())
    assert "## In short\n\nOverall RED: 1 SEV1 incident (and 6 more).\n" in text
    assert "## TL;DR" not in text and "## Checks" in text
    # the other documents still use the shipped templates
    assert register.render_register(
        Risks(week.store, clock=week.clock), clock=week.clock, templates_dir=tdir
    ).startswith("# Risk register")


def test_template_file_wins_over_the_workspace(week, tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "postmortem.md.j2").write_text("workspace\n", encoding="utf-8")
    mine = tmp_path / "mine.j2"
    mine.write_text("{{ incident.id }}: {{ incident.title | upper }}\n", encoding="utf-8")
    kw = {"sources": Sources(), "templates_dir": tdir, **week.pm()}
    assert postmortem.render_postmortem(1, **kw) == "workspace\n"
    assert (
        postmortem.render_postmortem(1, template_file=mine, **kw)
        == "INC-0001: FRAUD SCORING P99 ABOVE SLO, THEN 503S\n"
    )


def test_the_output_is_redacted_even_when_a_template_prints_raw_text(week, tmp_path):
    from .seed import TOKEN

    mine = tmp_path / "leak.j2"
    mine.write_text(f"{{{{ incident.title }}}} {TOKEN}\n", encoding="utf-8")
    text = postmortem.render_postmortem(1, sources=week.sources(), template_file=mine, **week.pm())
    assert text == "Fraud scoring p99 above SLO, then 503s ***\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ incident.titel }}",
            "template {file}, line 1: 'dict object' has no attribute 'titel'",
        ),
        ("{{ nothing }}", "template {file}, line 1: 'nothing' is undefined"),
        (
            "{% if %}",
            "template {file}, line 1: Expected an expression, got 'end of statement block'",
        ),
        ('{% include "nope.j2" %}', "template nope.j2 not found"),
    ],
)
def test_template_errors_are_one_line(tmp_path, source, message):
    f = tmp_path / "bad.j2"
    f.write_text(source, encoding="utf-8")
    with pytest.raises(TemplateProblem) as err:
        render("postmortem.md.j2", {"incident": {"title": "x"}}, template_file=f)
    assert str(err.value) == message.format(file=f)
    assert err.value.exit_code == 2


def test_missing_template_file(tmp_path):
    with pytest.raises(TemplateProblem) as err:
        render("weekly.md.j2", {}, template_file=tmp_path / "gone.j2")
    assert (
        str(err.value)
        == f"cannot read the template {tmp_path / 'gone.j2'}: No such file or directory"
    )


# -- VARIABLES.md lists exactly what each template receives ------------------------------------


def _paths(value, prefix=""):
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out |= _paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list) and any(isinstance(x, dict) for x in value):
        for x in value:
            out |= _paths(x, prefix + "[]")
    else:
        out.add(prefix)
    return out


def _leaves(paths: set[str]) -> set[str]:
    """Drop a path that is a container elsewhere (null or an empty list in one context)."""
    return {p for p in paths if not any(q.startswith((p + ".", p + "[]")) for q in paths)}


def test_variables_md_lists_every_variable(week, empty, tmp_path):
    from .slo_seed import contexts as slo_contexts
    from .test_weekly_readiness import READINESS

    src, clock = week.sources(), week.clock
    slo_pm, slo_wk = slo_contexts(tmp_path / "slos")  # with slos.yaml: the budget variables
    contexts = {
        "postmortem.md.j2": [
            *(postmortem.build_context(n, sources=src, **week.pm(clock)) for n in (1, 2, 3, 4)),
            slo_pm,
        ],
        "weekly.md.j2": [
            weekly.build_context(sources=src, **week.wk(clock)),
            weekly.build_context(**empty.wk(clock)),
            slo_wk,
            weekly.build_context(sources=src, readiness=READINESS, **week.wk(clock)),
        ],
        "risks.md.j2": [
            register.build_context(Risks(week.store, clock=clock), include_all=True, clock=clock),
            register.build_context(Risks(empty.store, clock=clock), clock=clock),
        ],
        "handoff.md.j2": _handoff_contexts(empty, tmp_path),
    }
    documented = {name: set(names) for name, names in variables.documented().items()}
    assert set(documented) == set(TEMPLATES)
    for name, ctxs in contexts.items():
        given = _leaves(set().union(*(_paths(c) for c in ctxs)))
        listed = _leaves(documented[name])
        assert given - listed == set(), f"{name}: not in VARIABLES.md"
        assert listed - given == set(), f"{name}: in VARIABLES.md but not given"


def _handoff_contexts(empty, tmp_path) -> list[dict]:
    """A seeded shift before and after its hand-off is recorded, and an empty store."""
    from mlops_oncall.clock import FixedClock
    from mlops_oncall.store.db import open_store

    from .handoff_seed import NOW, handoff_inputs, seed_shift

    store = open_store(f"sqlite:///{tmp_path / 'shift.db'}")
    seed_shift(store)
    clock = FixedClock(NOW)
    inputs = handoff_inputs(store, clock)
    try:
        before = handoff.build_context(**inputs)
        handoff.record_handoff(inputs["incidents"], NOW)
        return [
            before,
            handoff.build_context(**inputs),
            handoff.build_context(**handoff_inputs(empty.store, clock)),
        ]
    finally:
        store.close()


def test_variables_md_is_well_formed_markdown():
    assert len(mdcheck.check(VARIABLES.read_text(encoding="utf-8"))) == 4
