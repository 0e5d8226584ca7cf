"""Shared fixtures: one real sandbox server per session, fresh workspaces per test.

- ``sandbox``: a :class:`wscfg.sandbox.testing.SandboxServer` (real uvicorn on 127.0.0.1,
  a SQLite file in a temp dir, or PostgreSQL when ``WSCFG_TEST_DATABASE_URL`` is set).
  ``sandbox.url``, ``sandbox.db_url``, ``sandbox.new_workspace()``, ``sandbox.new_agency()``,
  ``sandbox.issue_key(workspace=slug, scopes=[...])``, ``sandbox.accept_invitation(...)``.
- ``workspace``: a fresh :class:`SandboxWorkspace` (``.slug``, ``.key``, ``.url`` = the
  workspace's base URL, ``.headers`` = the bearer header).
- ``workspace_key``: ``(slug, key)`` of a fresh workspace.
- ``api``: an ``httpx.Client`` for ``sandbox.url`` authenticated as ``workspace``.
- ``new_workspace``: a factory ``new_workspace(prefix="ws", **create_workspace_kwargs)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

TEST_DB_ENV = "WSCFG_TEST_DATABASE_URL"


def database_url_for_tests() -> str | None:
    """The database tests should use: ``WSCFG_TEST_DATABASE_URL`` or a temp SQLite file."""
    return os.environ.get(TEST_DB_ENV) or None


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose the server themselves: the CI box's own ``CI=true`` would make every run
    without --server refuse the embedded sandbox (tests of that rule set it explicitly)."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with running_server(database_url_for_tests()) as server:
        yield server


@pytest.fixture
def new_workspace(sandbox: SandboxServer) -> Callable[..., SandboxWorkspace]:
    def make(prefix: str = "ws", **kwargs: Any) -> SandboxWorkspace:
        return sandbox.new_workspace(prefix, **kwargs)

    return make


@pytest.fixture
def workspace(sandbox: SandboxServer) -> SandboxWorkspace:
    return sandbox.new_workspace()


@pytest.fixture
def workspace_key(workspace: SandboxWorkspace) -> tuple[str, str]:
    return workspace.slug, workspace.key


@pytest.fixture
def api(sandbox: SandboxServer, workspace: SandboxWorkspace) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=sandbox.url, headers=workspace.headers, timeout=30) as client:
        yield client
