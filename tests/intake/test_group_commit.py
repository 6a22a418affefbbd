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
from tests.intake.test_store_fails import cluster  # noqa: F401 - the fixture


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


def test_a_stopped_postgresql_is_503_then_each_retry_stored_once(tmp_path, cluster):  # noqa: F811
    """The real failure: the team database stops while the daemon runs. Deliveries sent
    together are answered 503 (Alertmanager retries them); once it is back the retries are
    stored, and a retry of a stored one records nothing twice."""
    import httpx

    from mlops_oncall.config import Config, Workspace
    from mlops_oncall.session import Session
    from tests import pgcluster
    from tests.intake.daemon import Daemon
    from tests.intake.test_store_fails import _start_again

    root, pg_url = cluster
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(f"name: intake\ndatabase: {pg_url}\n")
    bodies = [payload(alert(f"{i:016x}"), group_key=f"g{i}") for i in range(4)]

    async def post_all(client: httpx.AsyncClient) -> list[httpx.Response]:
        return await asyncio.gather(*(client.post("/alertmanager", json=b) for b in bodies))

    daemon = Daemon(ws, "--listen", "127.0.0.1:0")
    try:
        base = daemon.url()

        async def storm() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                pgcluster.stop(root)
                assert [r.status_code for r in await post_all(client)] == [503] * 4
                _start_again(root, pg_url)
                deadline = asyncio.get_running_loop().time() + 30
                while True:  # as Alertmanager does: retry while 5xx
                    answers = await post_all(client)
                    if {r.status_code for r in answers} == {200}:
                        break
                    assert asyncio.get_running_loop().time() < deadline, answers[0].text
                    await asyncio.sleep(0.1)
                again = await post_all(client)
                assert [r.json()["fired"] for r in again] == [[]] * 4

        asyncio.run(storm())
    finally:
        daemon.terminate()
        assert daemon.wait() == 0
    session = Session(Workspace(config=Config()), database_url=pg_url)
    try:
        groups = session.alerts.groups(all=True)
        assert sorted((g.row["group_key"], len(g.alerts)) for g in groups) == [
            (f"g{i}", 1) for i in range(4)
        ]
    finally:
        session.store.close()
