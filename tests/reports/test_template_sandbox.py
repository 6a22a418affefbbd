"""Templates are untrusted: a workspace template or --template file renders in a sandbox.

Each escape below is a known way out of a plain Jinja2 environment. Each must fail with exit 2
and the template's file and line on stderr, and must not run: its payload would create a
marker file, and the marker must not exist afterwards. The resource attacks run as real
subprocesses under a memory limit and a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlops_oncall.reports.render import TemplateProblem, render

PAYLOAD = "touch {marker}"

# (name, template line) ; {cmd} is a shell command that creates the marker file
ESCAPES = [
    ("lipsum globals", "{{ lipsum.__globals__['os'].popen('{cmd}').read() }}"),
    ("cycler init globals", "{{ cycler.__init__.__globals__.os.popen('{cmd}').read() }}"),
    ("joiner init globals", "{{ joiner.__init__.__globals__.os.popen('{cmd}').read() }}"),
    ("namespace init globals", "{{ namespace.__init__.__globals__.os.popen('{cmd}').read() }}"),
    (
        "template reference context",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('{cmd}')"
        ".read() }}",
    ),
    (
        "subclasses walk",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == "
        "'catch_warnings' %}{{ c()._module.__builtins__['__import__']('os').system('{cmd}') }}"
        "{% endif %}{% endfor %}",
    ),
    ("class of a variable", "{{ incident.__class__.__base__.__subclasses__() }}{{ '{cmd}' }}"),
    ("format string", "{{ '{0.__class__.__init__.__globals__}'.format(incident) }}{{ '{cmd}' }}"),
    ("format_map", "{{ '{x.__class__}'.format_map({'x': incident}) }}{{ '{cmd}' }}"),
    ("attr filter", "{{ (lipsum|attr('__globals__'))['os'].popen('{cmd}').read() }}"),
    ("attr filter on data", "{{ incident|attr('__class__') }}{{ '{cmd}' }}"),
    ("config object", "{{ config.__class__.__init__.__globals__['os'].popen('{cmd}').read() }}"),
    ("range self", "{{ range.__self__ }}{{ '{cmd}' }}"),
    ("method self", "{{ incident.get.__self__.__class__ }}{{ '{cmd}' }}"),
    ("method globals", "{{ incident.title.upper.__globals__ }}{{ '{cmd}' }}"),
    ("loop internals", "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}"),
    ("string methods", "{{ incident.title.format(1) }}{{ incident.title.center(10) }}"),
    (
        "imported template module",
        "{% import 'shipped/postmortem.md.j2' as m with context %}{{ m.__dict__ }}{{ '{cmd}' }}",
    ),
    ("getitem on a method", "{{ incident['get']['__self__'] }}{{ '{cmd}' }}"),
    ("unknown global", "{{ dict(a=1).__class__ }}{{ '{cmd}' }}"),
]


def _attack(tmp_path, line: str) -> tuple:
    marker = tmp_path / "pwned"
    body = line.replace("{cmd}", PAYLOAD.format(marker=marker))
    # two harmless lines first: the error must name line 3
    return marker, f"# header\n{{{{ incident.id }}}}\n{body}\n"


@pytest.mark.parametrize(("name", "line"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_postmortem_template_file_escapes_fail_located(week, cli, tmp_path, name, line):
    marker, source = _attack(tmp_path, line)
    f = tmp_path / "evil.j2"
    f.write_text(source, encoding="utf-8")
    r = cli("postmortem", "INC-0001", "--template", f)
    assert not marker.exists(), f"{name}: the payload ran"
    assert r.code == 2, (r.code, r.err)
    assert f"template {f}, line 3: " in r.err, r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert r.out == ""


@pytest.mark.parametrize(
    "line", [ESCAPES[0][1], ESCAPES[4][1], ESCAPES[7][1]], ids=["lipsum", "self", "format"]
)
def test_workspace_template_override_is_sandboxed(week, cli, tmp_path, line):
    marker, source = _attack(tmp_path, line)
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "postmortem.md.j2").write_text(source, encoding="utf-8")
    r = cli("postmortem", "INC-0001")
    assert not marker.exists()
    assert r.code == 2
    assert f"template {tdir / 'postmortem.md.j2'}, line 3: " in r.err


def test_a_workspace_template_that_extends_the_shipped_one_is_sandboxed(week, cli, tmp_path):
    marker = tmp_path / "pwned"
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "postmortem.md.j2").write_text(
        '{% extends "shipped/postmortem.md.j2" %}\n{% block summary %}\n'
        f"{{{{ lipsum.__globals__.os.popen('touch {marker}').read() }}}}\n{{% endblock %}}\n",
        encoding="utf-8",
    )
    r = cli("postmortem", "INC-0001")
    assert not marker.exists()
    assert (r.code, r.out) == (2, "")
    assert f"template {tdir / 'postmortem.md.j2'}, line 3: " in r.err


@pytest.mark.parametrize(
    "command", [("report", "weekly"), ("risk", "export")], ids=["weekly", "risks"]
)
def test_weekly_and_risk_export_are_sandboxed(week, cli, tmp_path, command):
    marker, source = _attack(tmp_path, ESCAPES[0][1].replace("incident", "generated_at"))
    source = source.replace("incident.id", "generated_at")
    f = tmp_path / "evil.j2"
    f.write_text(source, encoding="utf-8")
    r = cli(*command, "--template", f)
    assert not marker.exists()
    assert r.code == 2
    assert f"template {f}, line 3: " in r.err
    # and the same through the workspace's templates/ folder
    tdir = tmp_path / "templates"
    tdir.mkdir()
    name = "weekly.md.j2" if command[0] == "report" else "risks.md.j2"
    (tdir / name).write_text(source, encoding="utf-8")
    r = cli(*command)
    assert not marker.exists()
    assert r.code == 2
    assert f"template {tdir / name}, line 3: " in r.err


# -- runtime errors are located -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ incident.title + 1 }}", "TypeError"),
        ("{{ nothing() }}", "'nothing' is undefined"),
        ("{{ incident.titel }}", "'dict object' has no attribute 'titel'"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "nested too deeply"),
        ("{{ incident.id | no_such_filter }}", "No filter named 'no_such_filter'"),
    ],
)
def test_template_runtime_errors_are_exit_2_with_file_and_line(week, cli, tmp_path, line, message):
    f = tmp_path / "bad.j2"
    f.write_text(f"ok\n\n{line}\n", encoding="utf-8")
    r = cli("postmortem", "INC-0001", "--template", f)
    assert r.code == 2, r.err
    assert r.err.startswith(f"error: template {f}, line 3: "), r.err
    assert message in r.err
    assert "Traceback" not in r.err and r.err.count("\n") == 1


def test_an_error_inside_the_shipped_parent_names_the_parent(week, tmp_path):
    """A child template that feeds the parent bad data: the line is the parent's."""
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "risks.md.j2").write_text('{% extends "shipped/risks.md.j2" %}\n', encoding="utf-8")
    with pytest.raises(TemplateProblem) as err:
        render("risks.md.j2", {"generated_at": "x"}, templates_dir=tdir)
    assert "risks.md.j2, line " in str(err.value)
    assert err.value.exit_code == 2


# -- what a template may still do ---------------------------------------------------------------


def test_the_documented_things_still_work(tmp_path):
    f = tmp_path / "ok.j2"
    f.write_text(
        "{% for r in roles %}{{ loop.index }}. {{ r.who | upper }} {{ r.role | md_cell }}"
        "{{ ', ' if not loop.last }}{% endfor %}\n\n"
        "{{ {'a': 1}.get('a') }} {{ items | join(', ') }} {{ items | length }} "
        "{{ title.startswith('Fr') }} {{ title | code }} {{ ('a' ~ 'b') * 2 }} {{ 2 ** 10 }}\n"
        "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}"
        "{% for k, v in counts.items() %} {{ k }}={{ v }}{% endfor %}\n",
        encoding="utf-8",
    )
    out = render(
        "postmortem.md.j2",
        {
            "roles": [{"who": "ana", "role": "commander"}, {"who": "bo", "role": "scribe"}],
            "items": ["x", "y"],
            "title": "Fraud",
            "counts": {"done": 2},
        },
        template_file=f,
    )
    assert out == ("1. ANA commander, 2. BO scribe\n1 x, y 2 True `Fraud` abab 1024\n<1> done=2\n")


def test_a_child_can_call_a_parent_block_with_super(week, tmp_path):
    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "risks.md.j2").write_text(
        '{% extends "shipped/risks.md.j2" %}\n'
        "{% block header %}PREFIX\n{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    from mlops_oncall.reports import register
    from mlops_oncall.reports.risks import Risks

    out = register.render_register(
        Risks(week.store, clock=week.clock), clock=week.clock, templates_dir=tdir
    )
    assert "# Risk register" in out


# -- resource attacks: one real subprocess, bounded in time and memory -------------------------

MEMORY_LIMIT = 1 << 30  # 1 GiB of address space: any unbounded render would hit it

RESOURCE_ATTACKS = [
    ("huge range", "{% for i in range(10**9) %}x{% endfor %}"),
    ("string repetition", "{{ 'x' * 10**10 }}"),
    ("list repetition", "{{ ([1] * 10**10) | length }}"),
    ("huge power", "{{ 10 ** 100000 }}"),
    ("huge product", "{% set a = 10 ** 300 %}{{ a * a * a * a * a * a * a * a * a * a * a }}"),
    (
        "nested loops",
        "{% set l = [1] * 1000 %}{% for a in l %}{% for b in l %}{% for c in l %}"
        "{% endfor %}{% endfor %}{% endfor %}",
    ),
    (
        "doubling macro",
        "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s | length }}{% endmacro %}"
        "{{ d('x', 64) }}",
    ),
    (
        "doubling with plus",
        "{% macro d(s, n) %}{{ d(s + s, n - 1) if n else s | length }}{% endmacro %}"
        "{{ d('x', 64) }}",
    ),
    (
        "output flood",
        "{% set s = 'x' * 4000 %}{% set l = [1] * 5000 %}{% for a in l %}{{ s }}{% endfor %}",
    ),
    (
        "buffered macro output",
        "{% macro m() %}{% set s = 'x' * 4000 %}{% for a in [1] * 5000 %}{{ s }}{% endfor %}"
        "{% endmacro %}{{ m() | length }}",
    ),
    ("join amplification", "{{ ['x' * 4000] * 5000 | join }}"),
    ("join separator", "{{ [1] * 5000 | join('x' * 4000) }}"),
    ("replace amplification", "{{ ('x' * 4000) | replace('x', 'y' * 4000) }}"),
    ("percent format width", "{{ '%999999999d' % 1 }}"),
    ("sum of lists", "{{ ([[1] * 5000] * 5000) | sum(start=[]) | length }}"),
    ("batch fill", "{{ [1] | batch(10**9, 0) | list | length }}"),
    ("slice", "{{ [1] | slice(10**9) | list | length }}"),
    ("center", "{{ 'x' | center(10**9) }}"),
    ("indent", "{{ ('x\\n' * 1000) | indent(10**6) }}"),
]

# Runs every attack through the real CLI inside one process that has a hard memory limit.
DRIVER = """
import contextlib, io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from mlops_oncall.cli import main
results = {{}}
for name, path in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["postmortem", "INC-0001", "--template", path])
        except SystemExit as exc:
            code = exc.code
    results[name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


def test_resource_attacks_end_with_exit_2_in_bounded_memory(week, tmp_path):
    jobs = []
    for n, (name, line) in enumerate(RESOURCE_ATTACKS):
        f = tmp_path / f"heavy{n}.j2"
        f.write_text(f"ok\n\n{line}\n", encoding="utf-8")
        jobs.append((name, str(f)))
    p = subprocess.run(
        [sys.executable, "-c", DRIVER.format(limit=MEMORY_LIMIT), json.dumps(jobs)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    results = json.loads(p.stdout)
    for name, path in jobs:
        code, out, err = results[name]
        assert code == 2, (name, code, err[-2000:])
        assert err.startswith(f"error: template {path}, line 3: "), (name, err)
        assert "Traceback" not in err and "MemoryError" not in err, (name, err)
        assert out == "", name
