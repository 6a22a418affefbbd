"""A DataTable that shows strings as written, keeps render caches the size of the screen and
redraws only changed cells."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

# DataTable's own cache attributes (textual is pinned to one version; a test checks they exist)
ROW_CACHES = ("_row_render_cache", "_row_renderable_cache", "_line_cache")
CELL_CACHES = ("_cell_render_cache",)
# what the overrides below use of DataTable's internals (checked by a test against the pin)
INTERNALS = (
    "_data", "_update_count", "_row_locations", "_column_locations", "_y_offsets",
    "_get_offsets", "_render_line_in_row", "_update_dimensions", "window_region",
)  # fmt: skip
# a cursor or hover on no row (the header's row index is -1)
ELSEWHERE = Coordinate(-2, 0)


class LeanTable(DataTable):
    """DataTable's render caches, reworked for a table of a thousand polled checks.

    - Size: DataTable keeps up to 10,000 rendered cells and 1,000 rendered rows and lines,
      about 20 MiB of stale renders when cells change four times a second. Only what is on
      screen needs keeping, with room for the cursor's and the hover's variants of each row.
    - Invalidation: DataTable's `update_cell` bumps a table-wide counter that is part of every
      cache key and repaints the whole widget, so one changed cell re-renders every visible
      cell, and the cursor's next move waits on that. Here an update drops only the renders of
      its own cell and row, repaints only that row, and a value equal to the one shown is no
      update at all.
    - The cursor: rows are cached wherever the cursor is (see `_render_line_in_row`).
    - A fix: cells drawn before the columns widen are drawn again (see `_update_dimensions`).
    - Strings are plain text. DataTable parses a str cell as Rich markup, so a timeline note
      reading "saw [error] in the logs" lost its "[error]", and one with "[/]" raised
      MarkupError while drawing, which ended the app.

    These lean on DataTable's internals in the pinned Textual; `INTERNALS` lists what they use
    and a test checks it is there."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._dirty_cells: set[tuple[RowKey, ColumnKey]] = set()
        self._row_tops: dict[RowKey, int] = {}
        self._row_tops_at = -1

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

    def add_column(self, label, *, width=None, key=None, default=None) -> ColumnKey:
        return super().add_column(_plain(label), width=width, key=key, default=_plain(default))

    def add_row(self, *cells, height: int | None = 1, key=None, label=None) -> RowKey:
        return super().add_row(
            *(_plain(cell) for cell in cells), height=height, key=key, label=_plain(label)
        )

    def _update_dimensions(self, new_rows) -> None:
        # DataTable widens its columns to new rows' contents when idle, but keeps the cells it
        # rendered before that at the old widths: a table filled and drawn in one go showed
        # "IN" for "INC-0004" until something else changed.
        before = [column.get_render_width(self) for column in self.ordered_columns]
        super()._update_dimensions(new_rows)
        if before != [column.get_render_width(self) for column in self.ordered_columns]:
            self._update_count += 1  # every render keyed by it is stale
            self.refresh()

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: object,
        *,
        update_width: bool = False,
    ) -> None:
        if update_width:  # column widths change: DataTable's full path
            super().update_cell(row_key, column_key, _plain(value), update_width=True)
            return
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if row_key not in self._row_locations or column_key not in self._column_locations:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
            )
        value = _plain(value)
        row = self._data[row_key]
        if row.get(column_key) == value:
            return
        row[column_key] = value
        self._dirty_cells.add((row_key, column_key))
        self._refresh_row_of(row_key)

    def _refresh_row_of(self, row_key: RowKey) -> None:
        """Repaint one row if it is on screen. DataTable's `refresh_row` finds the row's place
        by summing the heights of every row above it: a thousand additions per updated cell."""
        if self.fixed_rows:  # they stay put while the rest scrolls: let DataTable place them
            self.refresh()
            return
        if self._row_tops_at != self._update_count:  # rows added, removed or sorted
            tops: dict[RowKey, int] = {}
            for y, (key, line_in_row) in enumerate(self._y_offsets):
                if line_in_row == 0:
                    tops[key] = y
            self._row_tops, self._row_tops_at = tops, self._update_count
        y = self._row_tops[row_key] + (self.header_height if self.show_header else 0)
        region = Region(
            0, y, max(self.size.width, self.virtual_size.width), self.rows[row_key].height
        )
        if self.window_region.overlaps(region):
            self.refresh(region.translate(-self.scroll_offset))

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list, list]:
        # DataTable keys each rendered row by where the cursor and the hover are, so every
        # cursor move re-renders every row drawn next: the whole screenful when the table
        # scrolls. With a row cursor a row looks the same wherever else they are.
        if self.cursor_type == "row":
            row = self._row_locations.get(row_key)
            if row is not None:
                if cursor_location.row != row:
                    cursor_location = ELSEWHERE
                if hover_location.row != row:
                    hover_location = ELSEWHERE
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._dirty_cells:
            self._forget_dirty_renders()
        return super().render_lines(crop)

    def _forget_dirty_renders(self) -> None:
        """Drop the cached renders that show a changed cell: the cell's own, and its row's."""
        cells, self._dirty_cells = self._dirty_cells, set()
        rows = {row_key for row_key, _ in cells}
        indexes = {self._row_locations.get(row_key) for row_key in rows}

        def row_of_line(y: int) -> RowKey | None:
            try:
                return self._get_offsets(y)[0]
            except (LookupError, IndexError):
                return None

        # key layouts: cell (row_key, column_key, ...), row (row_key, line_no, ...),
        # renderables (update_count, row_index), line (y, ...)
        _discard(self._cell_render_cache, lambda k: (k[0], k[1]) in cells)
        _discard(self._row_render_cache, lambda k: k[0] in rows)
        _discard(self._row_renderable_cache, lambda k: k[1] in indexes)
        _discard(self._line_cache, lambda k: row_of_line(k[0]) in rows)


def _plain(value):
    """A str as plain Text (DataTable would read it as markup); anything else as it is."""
    return Text(value) if isinstance(value, str) else value


def _discard(cache, stale) -> None:
    keys = list(cache.keys())  # an LRUCache, not a dict: it has keys() but no iteration
    for key in filter(stale, keys):
        cache.discard(key)
