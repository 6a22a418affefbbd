"""One broken check does not silence the others: the TUI polls every valid check, shows the
refused ones as rows in a config error state with their file:line:col, keeps a banner up, says
so when there is no workspace at all, and reloads checks.yaml and the runbooks as they change."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from mlops_oncall.config import Config, Workspace, load_workspace
from mlops_oncall.session import Session
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import make_workspace
from mlops_oncall.ui.widgets.banner import ChecksBanner
from mlops_oncall.ui.widgets.refused import RefusedBanner
from tests.checks.servers import HTTPTestServer, Reply
from tests.conftest import FIXTURES

from .conftest import wait_for

CHECKS = """\
defaults: {{interval: 100ms, timeout: 1s}}
checks:
  - id: model-ready
    url: {url}/ready
    group: serving
  - id: model-latency
    url: {url}/ready
    group: serving
    warn: ["[RESPONSE_TIM] < 300"]
"""


@pytest.fixture
def server():
    srv = HTTPTestServer({"/ready": Reply(200, "ok"), "/other": Reply(200, "ok")}).start()
    yield srv
    srv.stop()


def _detail(app) -> str:
    return str(app.screen.query_one("#check-detail-body", Static).render())


def _banner(app) -> str:
    banner = app.screen.query_one(ChecksBanner)
    return str(banner.render()) if banner.display else ""


def _polled(app, check_id: str) -> bool:
    view = app.views.get(check_id)
    return view is not None and view.last is not None


async def test_a_broken_check_is_a_row_and_the_others_keep_polling(tmp_path, server):
    cfg = make_workspace(tmp_path, CHECKS.format(url=server.url))
    session = Session(load_workspace(cfg))
    app = OncallApp(session, watch_every=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await wait_for(pilot, lambda: _polled(app, "model-ready"), what="the valid check polled")
        table = app.screen.query_one("#checks-table", DataTable)
        assert "refused:1" in table.rows and "model-latency" not in app.specs
        assert str(table.get_cell("refused:1", "state")) == "✗ config"
        assert str(table.get_cell("refused:1", "check")).strip() == "model-latency"
        assert _banner(app).startswith("⚠ 1 check refused by the checks file")
        assert "The other 1 keep polling" in _banner(app)
        assert "Loading checks" not in _detail(app)
        table.move_cursor(row=table.get_row_index("refused:1"))
        await pilot.pause()
        detail = _detail(app)
        assert "✗ config error" in detail
        assert f"{cfg.parent / 'checks.yaml'}:9:" in detail and "warn[0]" in detail
        # polling goes on: the valid check is asked again after the first round
        with server.lock:
            seen = len(server.requests)
        await wait_for(pilot, lambda: len(server.requests) > seen + 2, what="more polls")
    session.close()


async def test_no_workspace_offers_init_and_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = Session(Workspace(config=Config()), database_url=f"sqlite:///{tmp_path / 'x.db'}")
    app = OncallApp(session, watch_every=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready, what="boot")
        await wait_for(pilot, lambda: "Loading" not in _detail(app), what="the empty state")
        detail = _detail(app)
        assert detail.startswith("No workspace here")
        assert "mlops-oncall init" in detail and "mlops-oncall demo" in detail
    session.close()


async def test_checks_and_runbooks_are_reloaded_as_they_change(tmp_path, server):
    good = CHECKS.format(url=server.url).split("  - id: model-latency")[0]
    cfg = make_workspace(tmp_path, good)
    checks_file = cfg.parent / "checks.yaml"
    session = Session(load_workspace(cfg))
    app = OncallApp(session, watch_every=0.05)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready and app.watcher is not None, what="boot")
        await wait_for(pilot, lambda: _polled(app, "model-ready"), what="first poll")
        assert not _banner(app)
        # a valid change applies: a check is added and polled
        checks_file.write_text(
            good + f"  - id: other\n    url: {server.url}/other\n    group: data\n"
        )
        await wait_for(pilot, lambda: _polled(app, "other"), what="the added check polled")
        table = app.screen.query_one("#checks-table", DataTable)
        assert "other" in table.rows
        assert "other" in session.checks.specs  # what runbook placeholders read
        # an invalid file keeps the last good set, polling, and says so
        checks_file.write_text("checks:\n  - id: [broken\n")
        await wait_for(pilot, lambda: bool(_banner(app)), what="the banner")
        assert _banner(app).startswith(f"⚠ checks file not reloaded: {checks_file}:")
        assert "Still polling the last good 2 checks" in _banner(app)
        assert set(app.specs) == {"model-ready", "other"} and "other" in table.rows
        with server.lock:
            seen = sum(1 for r in server.requests if r[1] == "/other")
        await wait_for(
            pilot,
            lambda: sum(1 for r in server.requests if r[1] == "/other") > seen + 1,
            what="the last good set still polled",
        )
        # a broken entry is refused alone; the removed check leaves the table
        checks_file.write_text(CHECKS.format(url=server.url))
        await wait_for(pilot, lambda: "refused:1" in table.rows, what="the refused row")
        assert "other" not in table.rows and "other" not in app.specs
        assert _banner(app).startswith("⚠ 1 check refused")
        # a broken runbook file is refused at once, in the banner; fixing it takes it out
        refused = app.screen.query_one(RefusedBanner)
        before = len(app.session.library.refused)
        shown = str(refused.render()) if refused.display else ""
        bad = cfg.parent / "runbooks" / "broken.yaml"
        bad.write_text(
            (FIXTURES / "malformed" / "unknown_next.yaml")
            .read_text()
            .replace("id: latency", "id: x")
        )
        n = before + 1
        expected = f"⚠ {n} runbook{'s' * (n != 1)} refused"
        await wait_for(
            pilot,
            lambda: refused.display and str(refused.render()).startswith(expected),
            what="the refused-runbook banner",
        )
        bad.unlink()
        await wait_for(
            pilot,
            lambda: (str(refused.render()) if refused.display else "") == shown,
            what="the banner as before",
        )
    session.close()


async def test_a_file_refused_as_a_whole_says_so_and_a_fix_starts_polling(tmp_path, server):
    cfg = make_workspace(tmp_path, "checks:\n  - id: [broken\n")
    checks_file = cfg.parent / "checks.yaml"
    session = Session(load_workspace(cfg))
    app = OncallApp(session, watch_every=0.05)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready and app.watcher is not None, what="boot")
        await wait_for(pilot, lambda: bool(_banner(app)), what="the banner")
        assert _banner(app).startswith(f"⚠ checks file refused, no check is polled: {checks_file}:")
        assert _detail(app).startswith(f"{checks_file} was refused, so no check is polled:")
        # fixed while the TUI runs: the monitor starts
        checks_file.write_text(CHECKS.format(url=server.url))
        await wait_for(pilot, lambda: _polled(app, "model-ready"), what="polling after the fix")
        assert _banner(app).startswith("⚠ 1 check refused")
        # the file deleted: the last good checks keep polling, the banner says why
        checks_file.unlink()
        await wait_for(pilot, lambda: "is gone" in _banner(app), what="the file gone")
        assert "Still polling the last good 1 check." in _banner(app)
        assert "model-ready" in app.specs
    session.close()
