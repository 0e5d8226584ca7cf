"""Where the live workspaces are: a server given by URL, or the embedded sandbox.

With ``--server``/``WSCFG_SERVER`` wscfg talks HTTP to that server with ``WSCFG_TOKEN``. With
neither, it runs the reference sandbox in-process (httpx's ASGI transport) over a SQLite file
in ``./.wscfg/``, under an agency key kept in ``./.wscfg/credentials.json`` (mode 0600), and
creates each target workspace there on first use, so ``wscfg plan`` works on a fresh machine.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NotFoundError, SetupError

EMBEDDED_DIR = ".wscfg"
EMBEDDED_BASE_URL = "http://embedded.wscfg"


@dataclass
class Connection:
    client: Any  # wscfg.api.client.ApiClient
    server: str  # what to call it in messages and plan files
    embedded: bool


def embedded_db_url(root: Path) -> str:
    return f"sqlite:///{(root / EMBEDDED_DIR / 'sandbox.db').resolve()}"


def _embedded_key(root: Path) -> str:
    from .sandbox import admin

    folder = root / EMBEDDED_DIR
    folder.mkdir(exist_ok=True)
    creds = folder / "credentials.json"
    if creds.exists():
        try:
            return str(json.loads(creds.read_text())["agency_key"])
        except (ValueError, KeyError, OSError) as exc:
            raise SetupError(
                f"{creds} is damaged ({type(exc).__name__}); delete {folder}/ to start afresh"
            ) from None
    key = admin.create_agency(embedded_db_url(root), "embedded")
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"agency_key": key}, fh)
    (folder / ".gitignore").write_text("*\n")
    return key


@contextlib.asynccontextmanager
async def connect(
    server: str | None,
    *,
    parallel: int = 8,
    root: Path | None = None,
) -> AsyncIterator[Connection]:
    """Open the API client for a run; the caller closes nothing."""
    from .api.client import ApiClient
    from .api.settings import server_from_env

    configured = server_from_env(server)
    if configured is not None:
        async with ApiClient(
            configured.url, configured.token, max_concurrency=max(parallel * 2, 4)
        ) as client:
            yield Connection(client, configured.url, embedded=False)
        return
    import httpx

    from .sandbox.app import create_app

    root = root or Path.cwd()
    key = _embedded_key(root)
    app = create_app(embedded_db_url(root))
    transport = httpx.ASGITransport(app=app)
    async with ApiClient(EMBEDDED_BASE_URL, key, transport=transport) as client:
        yield Connection(client, f"embedded sandbox ({EMBEDDED_DIR}/sandbox.db)", embedded=True)


async def ensure_workspaces(conn: Connection, slugs: Sequence[str]) -> list[str]:
    """Embedded mode: create target workspaces that do not exist yet; return those created."""
    if not conn.embedded:
        return []
    existing = {w["slug"] for w in await conn.client.list_workspaces()}
    created = []
    for slug in slugs:
        if slug not in existing:
            try:
                await conn.client.create_workspace({"slug": slug, "name": slug, "timezone": "UTC"})
            except NotFoundError:  # pragma: no cover - defensive
                continue
            created.append(slug)
    return created
