"""Rendering documents from Jinja2 templates.

A template is looked up, first to last: the file given with ``--template``, the workspace's
``templates/`` folder, the templates shipped in this package. A workspace template can extend
the shipped one by its prefixed name (``{% extends "shipped/postmortem.md.j2" %}``) and
override only the blocks it cares about.

Every template renders in the sandbox (reports/sandbox.py): templates are shared files, so a
template may read its documented variables and use the documented filters, and nothing else.
StrictUndefined turns a misspelt variable into an error instead of an empty string, and
autoescape is off because the output is Markdown, not HTML; table cells go through
``md_cell`` instead. Every error names the template file and line (exit 2).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mlops_oncall.incidents.service import BadInput
from mlops_oncall.reports import text as fmt

SHIPPED = Path(__file__).resolve().parent / "templates"
TEMPLATES = ("postmortem.md.j2", "weekly.md.j2", "risks.md.j2", "handoff.md.j2")


class TemplateProblem(BadInput):
    """A template that is missing, does not parse, or uses a variable it is not given. Exit 2."""


@functools.lru_cache(maxsize=8)
def environment(templates_dir: Path | None = None):
    """One environment per templates folder: compiled templates are reused, and Jinja still
    reloads a template whose file changed (auto_reload), so a long-running TUI sees edits."""
    import jinja2

    from mlops_oncall.reports.sandbox import DocumentSandbox

    shipped = jinja2.FileSystemLoader(str(SHIPPED))
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:  # a folder that does not exist (yet) simply finds nothing
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders += [shipped, jinja2.PrefixLoader({"shipped": shipped})]
    env = DocumentSandbox(
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
    env.filters["md_text"] = fmt.md_text
    return env


def render_document(
    name: str,
    context: dict[str, Any],
    sources: Any,
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
) -> str:
    """A document: ``render`` then the sources' redactor over the whole text, the last pass
    every document takes (a template may print a value the context did not mask)."""
    out = render(name, context, templates_dir=templates_dir, template_file=template_file)
    return sources.redact_text(out)


def render(
    name: str,
    context: dict[str, Any],
    *,
    templates_dir: Path | None = None,
    template_file: Path | None = None,
) -> str:
    """Render template ``name`` (or ``template_file``) with ``context``; errors are one line."""
    import jinja2

    from mlops_oncall.reports.sandbox import TemplateLimit, budget

    env = environment(templates_dir)
    shown = str(template_file) if template_file else name
    try:
        if template_file is not None:
            try:
                source = Path(template_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                raise TemplateProblem(
                    f"cannot read the template {template_file}: {reason}"
                ) from None
            # compiled under its own file name, so errors and tracebacks name the file
            code = env.compile(source, filename=str(template_file))
            template = env.template_class.from_code(env, code, env.make_globals(None))
        else:
            template = env.get_template(name)
        with budget():
            out = template.render(**context)
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as exc:  # also an unknown filter (TemplateAssertionError)
        where = exc.filename or shown
        raise TemplateProblem(f"template {where}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name} not found") from None
    except RecursionError as exc:
        raise TemplateProblem(_located(exc, shown, "macros or loops nested too deeply")) from None
    except MemoryError as exc:
        raise TemplateProblem(_located(exc, shown, "out of memory")) from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(_located(exc, shown, exc.message or str(exc))) from None
    except TemplateLimit as exc:
        raise TemplateProblem(_located(exc, shown, f"template limit: {exc}")) from None
    except jinja2.sandbox.SecurityError as exc:
        raise TemplateProblem(_located(exc, shown, f"not allowed in a template: {exc}")) from None
    except Exception as exc:  # a runtime error in the template: 1 / 0, "a" + 1, ...
        raise TemplateProblem(_located(exc, shown, f"{type(exc).__name__}: {exc}")) from None
    return _tidy(out)


def _located(exc: BaseException, shown: str, message: str) -> str:
    """`template FILE, line N: message`, from the innermost template frame of the traceback.

    Jinja rewrites a render's traceback so that template frames carry the template's own file
    name and line; they are recognisable by the exception their fake frame raises.
    """
    where, line = shown, None
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            where, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    message = " ".join(message.split())  # one line, whatever the exception said
    return f"template {where}, line {line}: {message}" if line else f"template {where}: {message}"


def _tidy(text: str) -> str:
    """At most one blank line in a row, exactly one newline at the end, and no control
    character (whatever a template printed raw)."""
    lines: list[str] = []
    for line in fmt.terminal_text(text).splitlines():
        line = line.rstrip()
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"
