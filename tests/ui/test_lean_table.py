"""The checks table keeps render caches the size of the screen, and still draws updates."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable

from mlops_oncall.ui.widgets.lean_table import CELL_CACHES, INTERNALS, ROW_CACHES, LeanTable


class TableApp(App[None]):
    def compose(self):
        yield LeanTable(id="t")


def fill(t: LeanTable, rows: int) -> LeanTable:
    """Columns state and name; rows keyed "0", "1", ... named check-0000, check-0001, ..."""
    t.add_column("state", key="state")
    t.add_column("name", key="name")
    for i in range(rows):
        t.add_row("up", f"check-{i:04d}", key=str(i))
    return t


def test_the_cache_attributes_it_resizes_exist_in_this_textual():
    table = DataTable()
    for name in (*ROW_CACHES, *CELL_CACHES):
        assert hasattr(getattr(table, name), "maxsize"), name
    for name in INTERNALS:  # a Textual upgrade that drops one would leave an override idle
        assert hasattr(table, name), name


async def test_a_thousand_updated_rows_keep_only_a_screenful_of_renders():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = fill(app.query_one(LeanTable), 1000)
        await pilot.pause()
        for rnd in range(12):  # each round makes every cached render stale, as a poll does
            with app.batch_update():
                for i in range(0, 1000, 7):
                    t.update_cell(str(i), "state", f"r{rnd}")
            t.move_cursor(row=(rnd * 97) % 1000)
            await pilot.pause()
        limit = t._row_render_cache.maxsize
        assert limit < 200
        for name in ROW_CACHES:
            assert len(getattr(t, name)) <= limit, name
        assert len(t._cell_render_cache) <= t._cell_render_cache.maxsize < 2000
        # and the latest values are what is drawn
        t.move_cursor(row=0)
        await pilot.pause()
        assert "r11" in "".join(s.text for s in t.render_line(1))  # row 0, under the header


def drawn(t: LeanTable, row: int) -> str:
    return "".join(s.text for s in t.render_line(1 + row))  # under the header


def first_style(t: LeanTable, y: int):
    return next(iter(t.render_line(y))).style


def cached_rows(t: LeanTable) -> set[str]:
    return {key[0].value for key in list(t._cell_render_cache.keys())}


async def test_an_update_redraws_its_own_row_and_keeps_the_others_renders():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = fill(app.query_one(LeanTable), 100)
        await pilot.pause()
        assert {"0", "5", "10"} <= cached_rows(t)
        count = t._update_count

        t.update_cell("5", "state", "down")
        await pilot.pause()
        assert t._update_count == count  # no table-wide invalidation
        assert "down" in drawn(t, 5) and "up" in drawn(t, 4) and "up" in drawn(t, 6)
        assert "4" in cached_rows(t), "row 4's renders were dropped with row 5's"

        t.update_cell("5", "state", "down")  # the value on screen: nothing to do
        assert not t._dirty_cells

        t.update_cell("90", "state", "degraded")  # off screen: drawn once scrolled to
        t.move_cursor(row=90)
        await pilot.pause()
        assert "degra  check-0090" in "".join(s.text for y in range(24) for s in t.render_line(y))


async def test_the_cursor_row_is_still_highlighted_after_updates():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(LeanTable)
        t.cursor_type = "row"
        t.add_column("state", key="state")
        for i in range(10):
            t.add_row("up", key=str(i))
        t.move_cursor(row=3)
        await pilot.pause()
        cursor_style = first_style(t, 4)
        t.update_cell("3", "state", "down")
        t.update_cell("4", "state", "down")
        await pilot.pause()
        assert "down" in drawn(t, 3)
        assert first_style(t, 4) == cursor_style
        assert first_style(t, 5) != cursor_style


async def test_unknown_cells_are_refused_as_datatable_does():
    from textual.widgets.data_table import CellDoesNotExist

    app = TableApp()
    async with app.run_test(size=(80, 24)):
        t = app.query_one(LeanTable)
        t.add_column("state", key="state")
        t.add_row("up", key="a")
        with pytest.raises(CellDoesNotExist, match="row_key"):
            t.update_cell("b", "state", "down")
        with pytest.raises(CellDoesNotExist, match="column_key"):
            t.update_cell("a", "latency", "1 ms")


async def test_cells_drawn_before_the_columns_widen_are_drawn_again():
    """The stock DataTable fails this: it drew "IN" for "INC-0004" in the incidents panel."""
    table_class = LeanTable

    class Tables(App[None]):
        CSS = "DataTable { height: 10; }"  # a fixed height, as the dashboard's panels have

        def compose(self):
            yield table_class(cursor_type="row")

    app = Tables()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(table_class)
        t.add_column("ID", key="id")
        await pilot.pause()
        t.add_row("INC-0004", key="a")
        assert "INC-0004" not in "".join(s.text for s in t.render_line(1))  # not measured yet
        await pilot.pause()
        assert "INC-0004" in "".join(s.text for s in t.render_line(1))


async def test_strings_are_plain_text_not_markup():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(LeanTable)
        t.add_column("[b]note", key="note")
        t.add_row("saw [error] then [/]", key="a")
        t.add_row("x", key="b")
        t.update_cell("b", "note", "[red]still plain")
        await pilot.pause()
        t.update_cell("b", "note", "[red]still plain")  # equal to the shown value: no update
        assert not t._dirty_cells
        lines = ["".join(s.text for s in t.render_line(y)) for y in range(3)]
        assert "[b]note" in lines[0]
        assert "saw [error] then [/]" in lines[1]
        assert "[red]still plain" in lines[2]
