"""Every private attribute of a third-party library that the code relies on, in one place.

A name with a leading underscore can change in any release without notice. Each use below
was kept because no public API does the job (the ones that had one were replaced: httpx's
``client._transport`` and ``client._cookies``). ``tests/test_privates.py`` checks each entry
against the installed, pinned version (pyproject.toml), so an upgrade that renames or
reshapes one fails there, by name, instead of misbehaving at runtime.

Nothing here imports the libraries: the registry is data, read by the test and by people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "module", "class", "function", "method", "property", "reactive", "instance attribute"
]


@dataclass(frozen=True, slots=True)
class Private:
    owner: str  # the dotted path of the module or class that holds it
    name: str
    kind: Kind
    used_in: str  # module (and function or class) under src/mlops_oncall
    why: str


PRIVATES: tuple[Private, ...] = (
    # ---- httpx
    Private(
        "httpx",
        "_main",
        "module",
        "checks/_httpx.py",
        "httpx/__init__ imports its CLI (and with it Rich) when click, rich and pygments are "
        "installed; blocking this module keeps Rich out of the core and ~90 ms off startup",
    ),
    Private(
        "httpx.Response",
        "_content",
        "instance attribute",
        "checks/transport.py finished_response",
        "the body arrives already decoded with a bound; every public way to give httpx a "
        "body (content=, read()) would decode it again, unbounded, or rewrite Content-Length",
    ),
    # ---- Textual
    Private(
        "textual.widgets.Footer",
        "_bindings_ready",
        "reactive",
        "ui/widgets/lean_footer.py LeanFooter._keys",
        "the footer draws nothing until Textual has gathered the screen's bindings; no "
        "public flag says so",
    ),
    Private(
        "textual.widgets._footer",
        "FooterKey",
        "class",
        "ui/widgets/lean_footer.py LeanFooter",
        "the footer's key widget, reused so the lean footer looks like Textual's; "
        "textual.widgets does not export it",
    ),
    Private(
        "textual.dom.DOMNode",
        "_bindings",
        "instance attribute",
        "ui/modals.py ConfirmModal.__init__, ui/screens/triage.py TriageScreen.on_key",
        "a node's own bindings (BindingsMap): the modal relabels its `y` key per use, triage "
        "finds which of its own bindings a key maps to; active_bindings mixes in the app's",
    ),
    Private(
        "textual",
        "_widget_navigation",
        "module",
        "ui/modals.py",
        "imported as a whole for find_next_enabled_no_wrap (below)",
    ),
    Private(
        "textual._widget_navigation",
        "find_next_enabled_no_wrap",
        "function",
        "ui/modals.py StillOptionList._step",
        "the option list's own navigation helper, without wrapping at the ends",
    ),
    Private(
        "textual.widgets.Input",
        "_on_key",
        "method",
        "ui/widgets/search_input.py SearchInput._on_key",
        "a `/` in an empty search box must reach the screen's binding, not be typed; the "
        "override calls Input's handler for every other key",
    ),
    *(
        Private(
            "textual.widgets.DataTable",
            name,
            kind,  # type: ignore[arg-type]
            "ui/widgets/lean_table.py LeanTable",
            "the lean table keeps DataTable's render caches the size of the screen and "
            "redraws only changed cells, which needs its caches, row maps and offsets",
        )
        for name, kind in (
            ("_row_render_cache", "instance attribute"),
            ("_row_renderable_cache", "instance attribute"),
            ("_line_cache", "instance attribute"),
            ("_cell_render_cache", "instance attribute"),
            ("_data", "instance attribute"),
            ("_update_count", "instance attribute"),
            ("_row_locations", "instance attribute"),
            ("_column_locations", "instance attribute"),
            ("_y_offsets", "property"),
            ("_get_offsets", "method"),
            ("_render_line_in_row", "method"),
            ("_update_dimensions", "method"),
        )
    ),
    # ---- Jinja2 (not one of the four named, but the same risk)
    Private(
        "jinja2.sandbox.SandboxedEnvironment",
        "_parse",
        "method",
        "reports/sandbox.py",
        "templates are checked for bounds on their parsed tree before compiling; _parse is "
        "the one hook between parsing and code generation",
    ),
)
# aiohttp and SQLAlchemy: no private attribute is used (aiotransport reads the peer
# certificate through ClientResponse.connection.transport, both public).
