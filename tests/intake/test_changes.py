"""POST /changes on both backends: recorded as a deploy, idempotent on (service, version,
kind, at), validation errors naming the field."""

from __future__ import annotations

import pytest

from mlops_oncall.config import Config, Workspace
from mlops_oncall.session import Session
from tests.intake.conftest import AUTH


@pytest.fixture
async def changes(make_client, backend_url):
    return await make_client(url=backend_url)


def _deploys(url: str):
    session = Session(Workspace(config=Config()), database_url=url)
    try:
        return session.deploys.list()
    finally:
        session.store.close()


async def test_a_change_is_recorded_once_and_a_retry_answers_its_id(changes, backend_url):
    body = {
        "service": "ranker",
        "version": "2026.12.06-1",
        "kind": "model",
        "outcome": "succeeded",
        "url": "https://github.com/acme/ranker/actions/runs/42",
        "at": "2026-12-01T10:00:00.250+01:00",
        "actor": "github-actions",
        "ref": "refs/heads/main",  # unknown: ignored
    }
    r = await changes.post("/changes", json=body, headers=AUTH)
    assert r.status == 201
    first = await r.json()
    assert first == {
        "id": first["id"],
        "created": True,
        "service": "ranker",
        "version": "2026.12.06-1",
        "kind": "model",
        "outcome": "succeeded",
        "at": "2026-12-01T09:00:00.250Z",
        "actor": "github-actions",
    }
    again = await changes.post("/changes", json=body, headers=AUTH)
    assert again.status == 200
    assert await again.json() == first | {"created": False}
    other = await changes.post("/changes", json=body | {"kind": "config"}, headers=AUTH)
    assert other.status == 201
    deploys = _deploys(backend_url)
    assert sorted(d.kind for d in deploys) == ["config", "model"]
    model = next(d for d in deploys if d.kind == "model")
    assert model.id == first["id"]
    assert model.notes == "https://github.com/acme/ranker/actions/runs/42"
    assert model.actor == "github-actions"


async def test_defaults(changes, backend_url):
    r = await changes.post("/changes", json={"service": "ranker", "version": 7}, headers=AUTH)
    assert r.status == 201
    got = await r.json()
    assert (got["version"], got["kind"], got["outcome"], got["actor"]) == (
        "7",
        "code",
        "succeeded",
        "ci",
    )
    # without `at`, each delivery is a deploy of its own (now): nothing to match a retry on
    r = await changes.post("/changes", json={"service": "ranker", "version": 7}, headers=AUTH)
    assert r.status == 201
    assert len(_deploys(backend_url)) == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"version": "1"}, "service: expected a non-empty string, and it is required"),
        ({"service": "s"}, "version: expected a non-empty string, and it is required"),
        ({"service": " ", "version": "1"}, "service: expected a non-empty string"),
        (
            {"service": "s", "version": "1", "kind": "db"},
            "kind: expected one of model, config, code",
        ),
        (
            {"service": "s", "version": "1", "outcome": "ok"},
            "outcome: expected one of succeeded, failed, rolled_back",
        ),
        (
            {"service": "s", "version": "1", "at": "2026-12-01 10:00"},
            "at: expected an RFC 3339 time with its offset, e.g. 2026-12-06T10:00:00Z",
        ),
        (
            {"service": "s", "version": "1", "at": "2026-02-30T10:00:00Z"},
            "at: expected a real date and time, e.g. 2026-12-06T10:00:00Z",
        ),
        (
            {"service": "s", "version": "1", "url": "ftp://x"},
            "url: expected an http:// or https:// URL of at most 2000 characters",
        ),
        ({"service": "s", "version": "1", "actor": 5}, "actor: expected a string"),
        ({"service": "s", "version": "1", "at": "2999-01-01T00:00:00Z"}, "is in the future"),
    ],
)
async def test_invalid_fields_are_400_naming_the_field(changes, backend_url, body, error):
    r = await changes.post("/changes", json=body, headers=AUTH)
    assert r.status == 400
    assert error in (await r.json())["error"]
    assert _deploys(backend_url) == []


async def test_a_secret_in_the_url_is_never_stored(changes, backend_url):
    url = "https://ci.example/run/1?token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    r = await changes.post(
        "/changes", json={"service": "s", "version": "1", "url": url}, headers=AUTH
    )
    assert r.status == 201
    (deploy,) = _deploys(backend_url)
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in deploy.notes


async def test_simultaneous_deliveries_of_one_change_record_one_deploy(changes, backend_url):
    """8 identical POSTs at once (a sender retrying on a timeout while the first is still being
    written), for five changes: one 201 each, the others 200 with its id, one deploy each. The
    duplicate check and the insert are one transaction holding a lock on the key."""
    import asyncio

    for n in range(5):
        body = {"service": "ranker", "version": f"v{n}", "at": f"2026-12-01T10:0{n}:00Z"}
        answers = await asyncio.gather(
            *(changes.post("/changes", json=body, headers=AUTH) for _ in range(8))
        )
        got = [(r.status, (await r.json())["id"]) for r in answers]
        assert sorted(status for status, _ in got) == [200] * 7 + [201]
        assert len({deploy_id for _, deploy_id in got}) == 1
    deploys = _deploys(backend_url)
    assert sorted(d.version for d in deploys) == [f"v{n}" for n in range(5)]
