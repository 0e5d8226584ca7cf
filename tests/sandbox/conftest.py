"""Helpers for the sandbox tests (the shared fixtures live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer

PROBLEM = "application/problem+json"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = response.json()
    assert doc["status"] == status
    assert doc["type"] == "about:blank"
    assert doc["instance"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return doc


def etag(response: httpx.Response) -> str:
    tag = response.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"')
    return tag[1:-1]


@pytest.fixture
def client_for(sandbox: SandboxServer) -> Iterator[Callable[[str], httpx.Client]]:
    """``client_for(key)``: an httpx client on the sandbox authenticated with ``key``."""
    made: list[httpx.Client] = []

    def make(key: str) -> httpx.Client:
        client = httpx.Client(base_url=sandbox.url, headers=bearer(key), timeout=30)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One plain client for the whole session (creating a client costs ~30 ms)."""
    with httpx.Client(timeout=60) as client:
        yield client
