"""The incident screen names who else has the incident open: two sessions on one database (the
app's, and boards beating as other terminals would), on SQLite and a real PostgreSQL. The
screen beats on its timer (shortened here), shows the others in the header's subtitle, and
leaves when it closes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session
from mlops_oncall.store.db import open_store
from mlops_oncall.store.presence import PresenceBoard
from mlops_oncall.ui.app import OncallApp
from mlops_oncall.ui.gallery.workspace import FIXED_CHECKS, make_workspace
from mlops_oncall.ui.screens import incident as incident_screen
from mlops_oncall.ui.screens.incident import HEADER_SIDES, IncidentScreen, also_here
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.timeout(120)
WAIT_S = 30  # a hang, not a speed limit


def test_also_here_fits_its_room_and_counts_the_rest():
    here = [SimpleNamespace(actor=a, you=False) for a in ("bob", "carol", "dave")]
    here.append(SimpleNamespace(actor="alice", you=True))
    assert also_here(here, 80) == "also here: bob, carol, dave, you (another terminal)"
    assert also_here(here, 30) == "also here: bob, carol, dave +1"
    assert also_here(here, 20) == "also here: bob +3"
    assert also_here(here, 5) == "+4 here"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_header_names_who_else_is_here(backend, request, tmp_path, monkeypatch):
    monkeypatch.setattr(incident_screen, "PRESENCE_EVERY", 0.2)
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    session = Session(load_workspace(make_workspace(tmp_path, FIXED_CHECKS)), database_url=url)
    inc = session.incidents.declare("Ranker drift", "SEV2", service="fraud-scoring").id
    other = open_store(session.store.url)  # other terminals: their own connections
    bob = PresenceBoard(other, actor="bob")
    carol = PresenceBoard(other, actor="carol")
    me_elsewhere = PresenceBoard(other, actor=session.actor)
    app = OncallApp(session, live=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready, WAIT_S, "the boot")
            app.open_incident(inc)
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
                WAIT_S,
                "the incident screen",
            )
            screen = app.screen
            # its own beats reach the store; alone, the header is the app's
            await wait_for(
                pilot, lambda: me_elsewhere.others(inc), WAIT_S, "the screen's first beat"
            )
            assert screen.sub_title is None

            bob.beat(inc)
            carol.beat(inc)
            you = app.sub_title.rpartition(" · ")[2]  # "you: NAME", without the workspace's
            await wait_for(
                pilot,
                lambda: screen.sub_title == f"{you} · also here: bob, carol",
                WAIT_S,
                "bob and carol in the header at 80 columns",
            )
            assert len(f"{app.title} — {screen.sub_title}") <= 80 - HEADER_SIDES
            me_elsewhere.beat(inc)
            await wait_for(
                pilot,
                lambda: screen.sub_title == f"{you} · also here: bob, carol +1",
                WAIT_S,
                "you in another terminal, counted at 80 columns",
            )
            await pilot.resize_terminal(160, 45)
            await wait_for(
                pilot,
                lambda: (
                    screen.sub_title
                    == f"{app.sub_title} · also here: bob, carol, you (another terminal)"
                ),
                WAIT_S,
                "everyone by name at 160 columns, you in another terminal last",
            )

            bob.leave(inc)
            carol.leave(inc)
            me_elsewhere.leave(inc)
            await wait_for(pilot, lambda: screen.sub_title is None, WAIT_S, "alone again")

            me_elsewhere.beat(inc)
            await app.pop_screen()  # the screen leaves as it closes
            await wait_for(pilot, lambda: not me_elsewhere.others(inc), WAIT_S, "the leave")
    finally:
        other.close()
        session.close()
