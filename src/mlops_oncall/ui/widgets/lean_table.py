"""A DataTable whose render caches fit the screen rather than a thousand rows."""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable

# DataTable's own cache attributes (textual is pinned to one version; a test checks they exist)
ROW_CACHES = ("_row_render_cache", "_row_renderable_cache", "_line_cache")
CELL_CACHES = ("_cell_render_cache",)


class LeanTable(DataTable):
    """DataTable keeps up to 10,000 rendered cells and 1,000 rendered rows and lines. Their keys
    carry the table's update count, so a table whose cells change four times a second fills
    them with stale renders: about 20 MiB for a thousand polled checks. Only what is on screen
    needs keeping, with room for the cursor's and the hover's variants of each row."""

    def on_mount(self) -> None:
        self._fit_caches()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_caches()

    def _fit_caches(self) -> None:
        rows = 2 * max(self.size.height, self.app.size.height, 24) + 16
        cells = rows * max(len(self.columns), 8)
        for name in ROW_CACHES:
            getattr(self, name).maxsize = rows
        for name in CELL_CACHES:
            getattr(self, name).maxsize = cells
