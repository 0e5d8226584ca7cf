"""Shared fixtures: one real sandbox server per session and database, fresh workspaces per test.

Databases: every test of the sandbox, API, engine and chaos suites that asks for ``sandbox``
(or for ``db_backend`` / ``db_url``, to start servers of its own) runs on SQLite, and again
on PostgreSQL when ``WSCFG_TEST_DATABASE_URL`` names one (``.ci/run`` starts a throwaway
cluster and sets it). The PostgreSQL runs carry the ``postgres`` marker: ``pytest -m postgres``
selects them. Other suites use SQLite.

- ``sandbox``: a :class:`wscfg.sandbox.testing.SandboxServer` (real uvicorn on 127.0.0.1,
  a SQLite file in a temp dir, or the PostgreSQL database).
- ``db_backend``: ``"sqlite"`` or ``"postgres"``; ``db_url``: the database a test's own server
  should use (``None``: a fresh SQLite file, which ``running_server`` makes).
  ``sandbox.url``, ``sandbox.db_url``, ``sandbox.new_workspace()``, ``sandbox.new_agency()``,
  ``sandbox.issue_key(workspace=slug, scopes=[...])``, ``sandbox.accept_invitation(...)``.
- ``workspace``: a fresh :class:`SandboxWorkspace` (``.slug``, ``.key``, ``.url`` = the
  workspace's base URL, ``.headers`` = the bearer header).
- ``workspace_key``: ``(slug, key)`` of a fresh workspace.
- ``api``: an ``httpx.Client`` for ``sandbox.url`` authenticated as ``workspace``.
- ``new_workspace``: a factory ``new_workspace(prefix="ws", **create_workspace_kwargs)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

# No example has a deadline and no generation is "too slow": the CI machine may be busy, and
# a property's verdict must not depend on how fast it ran (speed is measured in bench/).
settings.register_profile(
    "wscfg", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "wscfg"))


@pytest.fixture(autouse=True)
def _redaction_per_test() -> Iterator[None]:
    """A test's values registered for log redaction (an env value a plan used, an issued key's
    secret: kept for the life of a wscfg process) end with the test, so a later test's log
    lines do not depend on which tests its worker ran first."""
    from wscfg.api import redact

    before = redact._active.copy()
    yield
    redact._active.clear()
    redact._active.update(before)


TEST_DB_ENV = "WSCFG_TEST_DATABASE_URL"
POSTGRES_SUITES = frozenset({"sandbox", "api", "engine", "chaos"})


def postgres_url() -> str | None:
    """The PostgreSQL database of this run (``WSCFG_TEST_DATABASE_URL``), if any.

    Under pytest-xdist each worker gets a database of its own (``wscfg_gw0``, …, made fresh
    on first use), so two workers never race to create the sandbox's tables."""
    base = os.environ.get(TEST_DB_ENV) or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if base is None or worker is None:
        return base
    return _worker_database(base, worker)


@functools.cache
def _worker_database(base: str, worker: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" not in metafunc.fixturenames:
        return
    tests = Path(__file__).parent
    suite = metafunc.definition.path.relative_to(tests).parts[0]
    backends: list[Any] = ["sqlite"]
    if postgres_url() and suite in POSTGRES_SUITES:
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("db_backend", backends, indirect=True, scope="session")


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose the server themselves: the CI box's own ``CI=true`` (or GITHUB_ACTIONS,
    JENKINS_URL, …) would make every run without --server refuse the embedded sandbox (tests
    of that rule set it explicitly)."""
    from wscfg.connection import ci_variables

    for name in ci_variables():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def db_url(db_backend: str) -> str | None:
    """The database for a server a test starts itself: PostgreSQL on the postgres runs,
    else ``None`` (``running_server`` then makes a fresh SQLite file)."""
    return postgres_url() if db_backend == "postgres" else None


@pytest.fixture(scope="session")
def sandbox(db_url: str | None) -> Iterator[SandboxServer]:
    with running_server(db_url) as server:
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
