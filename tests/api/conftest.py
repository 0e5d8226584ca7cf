"""Fixtures for the API client tests (helpers live in helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import Loopback, Reply, Scripted, Sleeps


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _scripted_server() -> Any:
    app = Scripted()
    with Loopback(app) as srv:
        app.url = srv.url
        yield app


@pytest.fixture(scope="session")
def _other_server() -> Any:
    app = Scripted()
    with Loopback(app) as srv:
        app.url = srv.url
        yield app


@pytest.fixture
def scripted(_scripted_server: Scripted) -> Scripted:
    """A loopback server answering with ``scripted.handler`` (reset for every test)."""
    _scripted_server.reset(lambda r: Reply(404))
    return _scripted_server


@pytest.fixture
def other_host(_other_server: Scripted) -> Scripted:
    """A second server that only records: a redirect target that must never see the key."""
    _other_server.reset(lambda r: Reply(200, json={"stolen": True}))
    return _other_server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
