"""Rendering documents from Jinja2 templates.

A template is looked up, first to last: the file given with ``--template``, the workspace's
``templates/`` folder, the templates shipped in this package. A workspace template can extend
the shipped one by its prefixed name (``{% extends "shipped/postmortem.md.j2" %}``) and
override only the blocks it cares about.

StrictUndefined turns a misspelt variable into an error instead of an empty string, and
autoescape is off because the output is Markdown, not HTML; table cells go through
``md_cell`` instead.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mlops_oncall.incidents.service import BadInput
from mlops_oncall.reports import text as fmt

SHIPPED = Path(__file__).resolve().parent / "templates"
TEMPLATES = ("postmortem.md.j2", "weekly.md.j2", "risks.md.j2")


class TemplateProblem(BadInput):
    """A template that is missing, does not parse, or uses a variable it is not given. Exit 2."""


@functools.lru_cache(maxsize=8)
def environment(templates_dir: Path | None = None):
    """One environment per templates folder: compiled templates are reused, and Jinja still
    reloads a template whose file changed (auto_reload), so a long-running TUI sees edits."""
    import jinja2

    shipped = jinja2.FileSystemLoader(str(SHIPPED))
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:  # a folder that does not exist (yet) simply finds nothing
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders += [shipped, jinja2.PrefixLoader({"shipped": shipped})]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md_cell"] = fmt.md_cell
    env.filters["code"] = fmt.code
    env.filters["one_line"] = fmt.one_line
    return env


def render(
    name: str,
    context: dict[str, Any],
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
) -> str:
    """Render template ``name`` (or ``template_file``) with ``context``; errors are one line."""
    import jinja2

    env = environment(templates_dir)
    shown = str(template_file) if template_file else name
    try:
        if template_file is not None:
            try:
                source = Path(template_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise TemplateProblem(
                    f"cannot read the template {template_file}: {exc.strerror or exc}"
                ) from None
            template = env.from_string(source)
        else:
            template = env.get_template(name)
        out = template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or shown
        raise TemplateProblem(f"template {where}, line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"template {shown}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name} not found") from None
    return _tidy(out)


def _tidy(text: str) -> str:
    """At most one blank line in a row, and exactly one newline at the end."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"
