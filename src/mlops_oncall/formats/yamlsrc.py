"""Located YAML: parse with libyaml when the wheel has it, keep the node tree for positions.

The happy path builds plain Python data from the composed node tree in one walk, which costs
about what ``yaml.load`` costs. Positions are looked up in the node tree only when a problem
has to be reported, so valid files pay nothing for good error messages.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mlops_oncall.formats.problems import Problem, format_path

try:  # libyaml is in the PyYAML wheels for every mainstream platform
    from yaml import CSafeLoader as _Loader

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - exercised only on exotic platforms
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    HAVE_LIBYAML = False

MAX_DEPTH = 64
MAX_NODES = 200_000  # after alias expansion; a 3 KB runbook has about 150
MAX_BYTES = 8 * 1024 * 1024

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar constructors are used; they hold no state


@dataclass
class Document:
    """The data of one YAML file plus what is needed to point at any part of it."""

    file: str
    data: Any = None
    root: Node | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    def error(self, loc: tuple | list, message: str, *, key: bool = False) -> Problem:
        line, col = self.position(loc, key=key)
        return Problem(self.file, line, col, format_path(loc), "error", message)

    def warning(self, loc: tuple | list, message: str, *, key: bool = False) -> Problem:
        line, col = self.position(loc, key=key)
        return Problem(self.file, line, col, format_path(loc), "warning", message)

    def position(self, loc: tuple | list, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the node at ``loc``; the nearest ancestor if missing.

        With ``key=True`` the last element names a mapping key and the key itself is located
        (for unknown and duplicate fields).
        """
        node = self.root
        if node is None:
            return (1, 1)
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            nxt = _child(node, part, want_key=key and last)
            if nxt is None:
                break
            node = nxt
        mark = node.start_mark
        return (mark.line + 1, mark.column + 1)


def _child(node: Node, part: Any, *, want_key: bool) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == str(part):
                return k if want_key else v
        return None
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def read_text(path: Path | str, display: str | None = None) -> tuple[str | None, list[Problem]]:
    """Read a file as UTF-8, turning decoding and I/O failures into located problems."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, 1, 1, "", "error", "file not found")]
    except IsADirectoryError:
        return None, [Problem(name, 1, 1, "", "error", "is a directory, expected a YAML file")]
    except OSError as exc:
        return None, [Problem(name, 1, 1, "", "error", f"cannot read: {exc.strerror or exc}")]
    return decode(raw, name)


def decode(raw: bytes, name: str) -> tuple[str | None, list[Problem]]:
    if len(raw) > MAX_BYTES:
        return None, [
            Problem(name, 1, 1, "", "error", f"file is larger than {MAX_BYTES // 1048576} MiB")
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [
            Problem(
                name,
                line,
                col,
                "",
                "error",
                f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def load_text(text: str, name: str) -> Document:
    """Parse ``text`` into a Document; every failure becomes a located problem."""
    doc = Document(file=name)
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        doc.problems.append(Problem(name, 1, 1, "", "error", "file is empty; expected a mapping"))
        return doc
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        doc.problems.append(_yaml_problem(exc, name, text))
        return doc
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml always marks its errors
        doc.problems.append(Problem(name, 1, 1, "", "error", str(exc)))
        return doc
    finally:
        loader.dispose()
    if root is None:
        doc.problems.append(Problem(name, 1, 1, "", "error", "file is empty; expected a mapping"))
        return doc
    doc.root = root
    if not isinstance(root, MappingNode):
        line, col = root.start_mark.line + 1, root.start_mark.column + 1
        doc.problems.append(
            Problem(
                name,
                line,
                col,
                "",
                "error",
                f"the top level must be a mapping of fields, got {_kind(root)}",
            )
        )
        return doc
    builder = _Builder(name)
    try:
        doc.data = builder.build(root, 0)
    except _Abort as exc:
        doc.problems.append(exc.problem)
        doc.data = None
    doc.problems.extend(builder.problems)
    return doc


def load_file(path: Path | str, display: str | None = None) -> Document:
    name = display or str(path)
    text, problems = read_text(path, name)
    if text is None:
        return Document(file=name, problems=problems)
    return load_text(text, name)


def _kind(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if node.tag == _STR:
        return f"the text {node.value!r}"
    return f"the value {node.value!r}"


def _yaml_problem(exc: yaml.MarkedYAMLError, name: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    lines = text.splitlines()
    src = lines[line - 1] if 0 < line <= len(lines) else ""
    if "tab" in problem.lower() or "'\\t'" in problem:
        msg = "tab character used for indentation; YAML needs spaces"
        tab = src.find("\t")
        if tab >= 0:
            col = tab + 1
    elif "exceeded maximum nesting depth" in problem:
        msg = "nesting is too deep"
    elif "found undefined alias" in problem:
        msg = problem.replace("found undefined alias", "unknown alias")
    elif "mapping values are not allowed here" in problem:
        msg = "unexpected ':' (quote text that contains ': ')"
    else:
        ctx = ""
        if exc.context and exc.problem:
            ctx = f" ({exc.context.strip()}"
            cm = exc.context_mark
            if cm is not None and mark is not None and cm.line != mark.line:
                ctx += f" started on line {cm.line + 1}"
            ctx += ")"
        msg = f"invalid YAML: {problem}{ctx}"
    return Problem(name, line, col, "", "error", msg)


class _Abort(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


class _Builder:
    """Turns a composed node tree into plain data, refusing bombs and duplicate keys."""

    __slots__ = ("budget", "name", "problems")

    def __init__(self, name: str):
        self.name = name
        self.budget = MAX_NODES
        self.problems: list[Problem] = []

    def _abort(self, node: Node, message: str) -> _Abort:
        m = node.start_mark
        return _Abort(Problem(self.name, m.line + 1, m.column + 1, "", "error", message))

    def build(self, node: Node, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._abort(
                node,
                f"document expands to more than {MAX_NODES} values; "
                "aliases that multiply (an alias bomb) are refused",
            )
        if isinstance(node, ScalarNode):
            if node.tag == _STR:
                return node.value
            try:
                ctor = _CONSTRUCTOR.yaml_constructors.get(node.tag)
                if ctor is None:
                    raise self._abort(node, f"unsupported YAML tag {node.tag}")
                value = ctor(_CONSTRUCTOR, node)
            except (yaml.YAMLError, ValueError, OverflowError):
                # e.g. 2026-13-01 looks like a date but is none: keep the text, and let the
                # schema say what it expected at this field's path
                return node.value
            if isinstance(value, bytes):
                return base64.b64encode(value).decode()
            return value
        if depth >= MAX_DEPTH:
            raise self._abort(node, f"nesting deeper than {MAX_DEPTH} levels is refused")
        if isinstance(node, SequenceNode):
            return [self.build(child, depth + 1) for child in node.value]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for knode, vnode in node.value:
                if knode.tag == _MERGE:
                    self._merge(out, vnode, depth)
                    continue
                key = self.build(knode, depth + 1)
                if isinstance(key, (list, dict)):
                    raise self._abort(knode, "a mapping key must be a plain value")
                if key in first_line:
                    m = knode.start_mark
                    self.problems.append(
                        Problem(
                            self.name,
                            m.line + 1,
                            m.column + 1,
                            "",
                            "error",
                            f"duplicate key '{key}' (first defined on line {first_line[key]})",
                        )
                    )
                    continue
                first_line[key] = knode.start_mark.line + 1
                out[key] = self.build(vnode, depth + 1)
            return out
        raise self._abort(node, "unsupported YAML node")  # pragma: no cover

    def _merge(self, out: dict, vnode: Node, depth: int) -> None:
        sources = vnode.value if isinstance(vnode, SequenceNode) else [vnode]
        for src in sources:
            value = self.build(src, depth + 1)
            if not isinstance(value, dict):
                raise self._abort(src, "'<<' merges only mappings")
            for k, v in value.items():
                out.setdefault(k, v)
