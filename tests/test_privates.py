"""Every private attribute of a library that src/ relies on is listed in mlops_oncall.privates,
and still exists, with the same kind, in the installed (pinned) version."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from mlops_oncall.privates import PRIVATES, Private

SRC = Path(__file__).resolve().parents[1] / "src" / "mlops_oncall"


def resolve(dotted: str):
    """A module, or a class inside one, from its dotted path."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def sources(cls: type) -> list[str]:
    """The source files of the class and its bases from the same library (httpx renames its
    classes' ``__module__``, so the files come from their functions)."""
    library = cls.__module__.split(".")[0]
    files = set()
    for base in cls.__mro__:
        for value in vars(base).values():
            func = getattr(value, "fget", value)
            if inspect.isfunction(func) and func.__module__.split(".")[0] == library:
                files.add(inspect.getsourcefile(func))
    return [Path(f).read_text() for f in sorted(files)]


def assigned_in(cls: type, name: str) -> bool:
    """Whether the class, or a base from the same library, assigns ``self.<name>``."""
    pattern = re.compile(rf"self\.{re.escape(name)}\s*(:[^=]*?)?=(?!=)")
    return any(pattern.search(source) for source in sources(cls))


@pytest.mark.parametrize("entry", PRIVATES, ids=lambda p: f"{p.owner}.{p.name}")
def test_each_private_still_exists_with_its_kind(entry: Private):
    owner = resolve(entry.owner)
    if entry.kind == "module":
        # found on disk: checks/_httpx.py leaves httpx._main blocked in sys.modules
        places = importlib.util.find_spec(entry.owner).submodule_search_locations
        assert any(
            (Path(p) / f"{entry.name}.py").exists() or (Path(p) / entry.name).is_dir()
            for p in places
        ), f"{entry.owner}.{entry.name} is gone"
        return
    if entry.kind == "instance attribute":
        assert inspect.isclass(owner)
        assert assigned_in(owner, entry.name), f"{entry.owner} no longer sets self.{entry.name}"
        return
    found = inspect.getattr_static(owner, entry.name)
    if entry.kind == "class":
        assert inspect.isclass(found)
    elif entry.kind == "function":
        assert inspect.isfunction(found)
    elif entry.kind == "method":
        assert inspect.isfunction(found), type(found)
    elif entry.kind == "property":
        assert isinstance(found, property), type(found)
    elif entry.kind == "reactive":
        from textual.reactive import Reactive

        assert isinstance(found, Reactive), type(found)


def test_httpx_still_imports_its_cli_only_where_the_core_blocks_it():
    """checks/_httpx.py relies on httpx/__init__ importing ``._main`` inside a try."""
    source = Path(importlib.util.find_spec("httpx").origin).read_text()
    assert re.search(r"try:\s+from \._main import main\s+except ImportError", source)


def test_every_private_module_import_in_src_is_listed():
    """``from lib._x import``/``from lib import _x``: the imports a grep can find for sure."""
    listed = {(p.owner, p.name) for p in PRIVATES}
    pattern = re.compile(
        r"^\s*from ((?:textual|httpx|aiohttp|sqlalchemy|sqlmodel|jinja2)[\w.]*) import (.+)$",
        re.M,
    )
    missing = []
    for path in SRC.rglob("*.py"):
        for module, names in pattern.findall(path.read_text()):
            for raw in names.split(","):
                name = raw.split(" as ")[0].strip(" ()")
                private_module = any(part.startswith("_") for part in module.split(".")[1:])
                if (private_module and (module, name) not in listed) or (
                    name.startswith("_") and (module, name) not in listed
                ):
                    missing.append(f"{path.relative_to(SRC)}: from {module} import {name}")
    assert missing == []


def test_the_registry_imports_no_library():
    source = (SRC / "privates.py").read_text()
    assert not re.search(r"^\s*(import|from) (?!__future__|dataclasses|typing)", source, re.M)
