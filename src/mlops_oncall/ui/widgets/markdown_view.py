"""Markdown as one widget: Rich renders it, so a preview costs one widget, not one per block.

Textual's Markdown widget mounts a widget per paragraph, list item and code block; a
twelve-step runbook is ~170 widgets, which made search-as-you-type take seconds per key.
"""

from __future__ import annotations

from rich.markdown import Markdown as RichMarkdown
from textual.containers import VerticalScroll
from textual.widgets import Static


class MarkdownView(VerticalScroll):
    DEFAULT_CSS = """
    MarkdownView > Static { width: 1fr; height: auto; }
    """

    def __init__(self, text: str = "", *, id: str | None = None):
        super().__init__(id=id)
        self.source = text

    def compose(self):
        yield Static(self._render_md(self.source))

    def _render_md(self, text: str):
        return RichMarkdown(text, code_theme="ansi_dark", hyperlinks=False)

    def update(self, text: str) -> None:
        self.source = text
        self.query_one(Static).update(self._render_md(text))
        self.scroll_home(animate=False)
