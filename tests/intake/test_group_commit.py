"""The webhook's group commit (intake/write.py): deliveries waiting while a batch is stored go
together in the next one, each request gets its own answer, and over the daemon's app a
delivery the store refuses is answered 503 alone while the ones sent with it are stored."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import event

from mlops_oncall.intake.keys import SESSION
from mlops_oncall.intake.write import GroupCommit
from tests.alerts.conftest import alert, payload
from tests.conftest import raw_sql
from tests.intake.conftest import AUTH


async def test_requests_waiting_during_a_batch_share_the_next_one():
    batches: list[list[int]] = []
    release = threading.Event()

    def store_many(items: list[int]) -> list:
        batches.append(items)
        if len(batches) == 1:
            assert release.wait(10)
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    commit = GroupCommit(store_many)
    first = asyncio.ensure_future(commit.submit(0))
    while not batches:  # the first batch is on the writer thread
        await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(commit.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)  # every submit has queued
    release.set()
    assert await first == 0
    got = await asyncio.gather(*rest, return_exceptions=True)
    assert got[:2] + got[3:] == [10, 20, 40, 50]
    assert isinstance(got[2], ValueError) and got[2].args == (3,)
    assert batches == [[0], [1, 2, 3, 4, 5]]
    await commit.close()


async def test_a_batch_past_the_limit_is_split():
    batches: list[list[int]] = []
    commit = GroupCommit(lambda items: batches.append(items) or items, max_batch=2)
    assert await asyncio.gather(*(commit.submit(i) for i in range(5))) == [0, 1, 2, 3, 4]
    assert batches == [[0, 1], [2, 3], [4]]
    await commit.close()


async def test_concurrent_deliveries_one_refused_by_the_store(make_client, tmp_path):
    client = await make_client()
    session = client.server.app[SESSION]

    def refuse(key):
        raise RuntimeError(f"refused {key}")

    engine = session.store.engine
    event.listen(engine, "connect", lambda c, _r: c.create_function("refuse", 1, refuse))
    engine.dispose()
    raw_sql(
        f"sqlite:///{tmp_path / 'oncall.db'}",
        "CREATE TRIGGER poison BEFORE INSERT ON alert_group "
        "WHEN NEW.group_key = 'g3' BEGIN SELECT refuse(NEW.group_key); END",
    )
    bodies = [payload(alert(f"{i:016x}"), group_key=f"g{i}") for i in range(8)]
    answers = await asyncio.gather(
        *(client.post("/alertmanager", json=b, headers=AUTH) for b in bodies)
    )
    assert [r.status for r in answers] == [200, 200, 200, 503, 200, 200, 200, 200]
    assert "the store could not record it" in (await answers[3].json())["error"]
    assert [(await r.json())["fired"] for r in answers[:3]] == [[f"{i:016x}"] for i in range(3)]
    stored = {g.row["group_key"] for g in session.alerts.groups(all=True)}
    assert stored == {f"g{i}" for i in range(8)} - {"g3"}
