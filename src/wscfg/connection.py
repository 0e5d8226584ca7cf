"""Where the live workspaces are: a server given by URL, or the embedded sandbox.

With ``--server``/``WSCFG_SERVER`` wscfg talks HTTP to that server with ``WSCFG_TOKEN``. With
neither, it runs the reference sandbox in-process over a SQLite file in ``./.wscfg/`` (reads
straight from the file, everything else through the app over httpx's ASGI transport: see
:mod:`wscfg.embedded`), under an agency key kept in ``./.wscfg/credentials.json`` (mode 0600), and
creates each target workspace there on first use, so ``wscfg plan`` works on a fresh machine.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api.pacing import Pacer
    from .api.settings import ServerSettings
    from .engine.protocols import ServerApi
    from .engine.state import DesiredState

from .errors import SetupError, Worded

EMBEDDED_DIR = ".wscfg"
EMBEDDED_AGENCY = "embedded"
FORCE_EMBEDDED = "embedded:"  # what `--embedded` passes as the server
CI_ENV = "CI"
# Variables that mean "a CI job" on their own, beyond the vendor table of the ci-info package
# (a port of watson/ci-info's vendors.json): that table wants two variables for some vendors
# (Jenkins: JENKINS_URL and BUILD_ID) or another one than is always set (AWS CodeBuild:
# CODEBUILD_BUILD_ARN), and the generic ones watson/ci-info's isCI also counts. Counting too
# much costs a user `--embedded`; counting too little lets a CI job "succeed" against a toy.
CI_EXTRA_ENV: tuple[str, ...] = (
    "BUILD_ID",
    "BUILD_NUMBER",
    "CI_APP_ID",
    "CI_BUILD_ID",
    "CI_BUILD_NUMBER",
    "CI_NAME",
    "CODEBUILD_BUILD_ID",
    "CONTINUOUS_INTEGRATION",
    "JENKINS_URL",
    "RUN_ID",
)
_NOT_CI = ("false", "0", "no", "off")


@dataclass
class Connection:
    client: ServerApi  # an ApiClient, or the EmbeddedClient of the embedded sandbox
    server: str  # what to call it in messages and plan files
    embedded: bool
    db_url: str | None = None  # the embedded sandbox's database


def _embedded_db_path(root: Path) -> Path:
    return (root / EMBEDDED_DIR / "sandbox.db").resolve()


# how the library words the options of connect() its refusals name (the CLI: its flags)
CONNECT_OPTIONS = {"server": "server=URL", "embedded": "embedded=True"}


def check_embedded_allowed(environ: Mapping[str, str], *, forced: bool = False) -> None:
    """Refuse the embedded sandbox unless it is what the user means.

    The embedded sandbox is for a person trying wscfg with no key. With ``WSCFG_TOKEN`` set
    (a real key) or in a CI job (:func:`ci_variable`) and no server, a run would report
    success having changed nothing real, so it is a :class:`SetupError`; ``--embedded``
    (``forced``) allows it.
    """
    if forced:
        return
    from .api.settings import SERVER_ENV, TOKEN_ENV

    if environ.get(TOKEN_ENV, "").strip():
        raise SetupError(
            Worded(
                f"{TOKEN_ENV} is set but no server is: pass {{server}} or set {SERVER_ENV} to "
                "the platform this key belongs to (pass {embedded} to use the local sandbox "
                "anyway)",
                CONNECT_OPTIONS,
            )
        )
    found = ci_variable(environ)
    if found is not None:
        raise SetupError(
            Worded(
                f"no server is configured and this looks like a CI job ({found} is set): pass "
                f"{{server}} or set {SERVER_ENV} (pass {{embedded}} to use a throw-away local "
                "sandbox in CI)",
                CONNECT_OPTIONS,
            )
        )


def ci_variables() -> tuple[str, ...]:
    """Every variable whose presence means a CI job (see :func:`ci_variable`), sorted."""
    import ci_info

    names: set[str] = {CI_ENV, *CI_EXTRA_ENV}
    for vendor in ci_info.vendors:
        env = vendor.get("env")
        if isinstance(env, str):
            names.add(env)
        elif isinstance(env, list):
            names.update(env)
        elif isinstance(env, dict) and "includes" in env:  # a variable holding a value
            names.add(env["env"])
        elif isinstance(env, dict):  # any of several, or variables with given values
            names.update(env.get("any") or env)
    return tuple(sorted(names))


def ci_variable(environ: Mapping[str, str]) -> str | None:
    """The name of a variable that says this run is a CI job, or ``None``.

    ``CI`` set to anything but false/0/no/off counts, and so does any CI vendor's variable
    (the ci-info package's table) or one of :data:`CI_EXTRA_ENV`; an empty value is unset.
    ``CI=false`` (or 0/no/off) is the user saying "not CI", and wins, as in watson/ci-info.
    Only names are returned, never values (they come from the environment)."""
    import ci_info

    env = {k: v for k, v in environ.items() if v.strip()}
    if CI_ENV in env:
        if env[CI_ENV].strip().lower() in _NOT_CI:
            return None
        return CI_ENV
    if ci_info.is_ci(env):  # a vendor of its table: name the variable that made it so
        return next(name for name in ci_variables() if name in env)
    return next((name for name in CI_EXTRA_ENV if name in env), None)


def embedded_db_url(root: Path) -> str:
    return f"sqlite:///{_embedded_db_path(root)}"


def embedded_key(root: Path) -> str:
    """The embedded sandbox's agency key (created on first use)."""
    return _embedded_key(root)


def stored_embedded_key(root: Path) -> str:
    """The agency key of the embedded sandbox already in ``root`` (OSError, ValueError,
    KeyError or TypeError when there is none or its credentials file is damaged)."""
    return str(json.loads((root / EMBEDDED_DIR / "credentials.json").read_text())["agency_key"])


def _embedded_key(root: Path) -> str:
    folder = root / EMBEDDED_DIR
    folder.mkdir(exist_ok=True)
    creds = folder / "credentials.json"
    if creds.exists():
        try:
            return stored_embedded_key(root)
        except (ValueError, KeyError, OSError) as exc:
            raise SetupError(
                f"{creds} is damaged ({type(exc).__name__}); delete {folder}/ to start afresh"
            ) from None
    from .sandbox import admin  # the database layer: only on first use

    key = admin.create_agency(embedded_db_url(root), EMBEDDED_AGENCY)
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"agency_key": key}, fh)
    (folder / ".gitignore").write_text("*\n")
    return key


def settings_from_env(
    server: str | None, environ: Mapping[str, str] | None = None
) -> ServerSettings | None:
    """The server the command line means: ``server`` (``--server``; :data:`FORCE_EMBEDDED`
    for ``--embedded``), else ``WSCFG_SERVER``, with ``WSCFG_TOKEN``; ``None``: the embedded
    sandbox, when :func:`check_embedded_allowed` allows it (else a SetupError)."""
    from .api.settings import server_from_env

    env = os.environ if environ is None else environ
    forced = server == FORCE_EMBEDDED
    configured = None if forced else server_from_env(server, env)
    if configured is None:
        check_embedded_allowed(env, forced=forced)
    return configured


@contextlib.asynccontextmanager
async def connect(
    server: str | None,
    *,
    parallel: int = 8,
    root: Path | None = None,
    rate_limit: float | None = None,
) -> AsyncIterator[Connection]:
    """Open the API client for a run; the caller closes nothing.

    ``server`` is ``--server`` (None: ``WSCFG_SERVER``, else the embedded sandbox when
    :func:`check_embedded_allowed` allows it), or :data:`FORCE_EMBEDDED` for ``--embedded``.
    ``rate_limit``: requests per second for the whole run (``--rate-limit``).
    """
    async with open_connection(
        settings_from_env(server), parallel=parallel, root=root, rate_limit=rate_limit
    ) as conn:
        yield conn


@contextlib.asynccontextmanager
async def open_connection(
    configured: ServerSettings | None,
    *,
    parallel: int = 8,
    root: Path | None = None,
    rate_limit: float | None = None,
    pacers: dict[str, Pacer] | None = None,
    cache: Path | None = None,
) -> AsyncIterator[Connection]:
    """Open the API client of ``configured`` (``None``: the embedded sandbox in ``root``, by
    default the current folder); the caller closes nothing.

    ``pacers``: the request budgets of the run, by server and key. A run opens a connection
    per step (plan, then apply, then the re-plan of ``--create-missing``); each step's client
    takes the budget the earlier ones learned from the server, so a step does not start blind
    and spend a burst the server already counted (one rate budget for the whole run).
    ``cache``: the read cache's folder for a server (the embedded sandbox is read straight
    from its file: no cache)."""
    if configured is not None:
        from .api.client import ApiClient

        budget = _budget_key(configured)
        async with ApiClient(
            configured.url,
            configured.token,
            max_concurrency=max(parallel, 1),
            rate_limit=rate_limit,
            cache_dir=cache,
            pacer=None if pacers is None else pacers.get(budget),
        ) as client:
            if pacers is not None:
                pacers.setdefault(budget, client.pacer)
            yield Connection(client, configured.url, embedded=False)
        return
    from .embedded import EmbeddedClient

    root = root or Path.cwd()
    key = _embedded_key(root)
    db_url = embedded_db_url(root)
    embedded = EmbeddedClient(_embedded_db_path(root), db_url, key, rate_limit=rate_limit)
    try:
        name = f"embedded sandbox ({EMBEDDED_DIR}/sandbox.db)"
        yield Connection(embedded, name, embedded=True, db_url=db_url)
    finally:
        await embedded.aclose()


def _budget_key(configured: ServerSettings) -> str:
    """A server's rate budget is per API key: the URL and a digest of the key (never the key)."""
    import hashlib

    digest = hashlib.sha256(configured.token.encode()).hexdigest()[:16]
    return f"{configured.url} {digest}"


async def ensure_workspaces(conn: Connection, targets: Sequence[DesiredState]) -> list[str]:
    """Embedded mode: create target workspaces that do not exist yet; return those created.

    A new sandbox workspace starts with one active owner: the first owner the config declares
    (as if they had signed up), so the first plan does not propose replacing them.
    """
    if not conn.embedded or conn.db_url is None:
        return []
    existing = {w["slug"] for w in await conn.client.list_workspaces()}
    created = []
    for t in targets:
        if t.slug in existing:
            continue
        from .sandbox import admin  # the database layer: only when creating

        admin.create_workspace(conn.db_url, t.slug, agency=EMBEDDED_AGENCY, owner=t.first_owner())
        created.append(t.slug)
    return created
