"""The intake daemon's fixtures: its app over a real store, served by aiohttp's test server on
127.0.0.1 (the serve subprocess tests start `mlops-oncall serve` themselves)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from mlops_oncall.config import Config, Workspace
from mlops_oncall.intake.app import build_app
from mlops_oncall.session import Session

TOKEN = "s3cret-intake-token-0123456789"


@pytest.fixture
async def make_client(tmp_path):
    """``await make_client(token=..., max_body=..., url=...)``: a client of the app over a
    store (a SQLite file unless ``url``); closed, and the store with it, after the test."""
    made: list[tuple[TestClient, Session]] = []

    async def make(*, token: str | None = TOKEN, max_body: int = 1024 * 1024, url=None):
        session = Session(
            Workspace(config=Config()), database_url=url or f"sqlite:///{tmp_path / 'oncall.db'}"
        )
        session.store  # noqa: B018 - opened before serving, as serve does
        client = TestClient(TestServer(build_app(session, token=token, max_body=max_body)))
        await client.start_server()
        made.append((client, session))
        return client

    yield make
    for client, session in made:
        await client.close()
        session.store.close()


@pytest.fixture
async def client(make_client):
    return await make_client()


AUTH = {"Authorization": f"Bearer {TOKEN}"}
