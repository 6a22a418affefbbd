"""One typed way from a screen or widget to the running app (and so to its session).

Textual types ``node.app`` as ``App[Any]``; the cast is made here, once, instead of an
``attr-defined`` ignore at every use. Nothing is imported at run time: screens and widgets
import this before the first frame, and ``ui.app`` imports some of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from mlops_oncall.ui.app import OncallApp


def oncall(node: DOMNode) -> OncallApp:
    """The OncallApp that ``node`` (a screen or widget) is mounted in."""
    return cast("OncallApp", node.app)
