"""The checks table keeps render caches the size of the screen, and still draws updates."""

from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable

from mlops_oncall.ui.widgets.lean_table import CELL_CACHES, ROW_CACHES, LeanTable


class TableApp(App[None]):
    def compose(self):
        yield LeanTable(id="t")


def test_the_cache_attributes_it_resizes_exist_in_this_textual():
    table = DataTable()
    for name in (*ROW_CACHES, *CELL_CACHES):
        assert hasattr(getattr(table, name), "maxsize"), name


async def test_a_thousand_updated_rows_keep_only_a_screenful_of_renders():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        t = app.query_one(LeanTable)
        t.add_column("state", key="state")
        t.add_column("name", key="name")
        for i in range(1000):
            t.add_row("up", f"check-{i:04d}", key=str(i))
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
