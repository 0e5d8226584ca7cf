"""The API client of the embedded sandbox: reads in-process, everything else over the app.

:class:`EmbeddedClient` is a :class:`wscfg.engine.protocols.ServerApi`, as
:class:`wscfg.api.client.ApiClient` is. The two reads a
plan needs — the workspace list and each workspace's snapshot — come from
:class:`wscfg.sandbox.local.LocalReader` (``sqlite3``, no HTTP framework, ORM or HTTP client
imported). Any other call, and any read the local path declines (see its docstring), goes to a
real :class:`ApiClient` over httpx's ASGI transport to the sandbox app, created on first use:
the same rule code, ETags, idempotency and audit as a served sandbox. See docs/sandbox.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EMBEDDED_BASE_URL, NotFoundError
from .model.base import SLUG_RE
from .sandbox.local import LocalReader, NotReachable

if TYPE_CHECKING:
    from .api.client import ApiClient
    from .api.workspace import WorkspaceClient
    from .model.kinds import Kind

BASE_URL = EMBEDDED_BASE_URL


class EmbeddedClient:
    """The server API of the embedded sandbox in ``db_path`` under ``key``."""

    def __init__(
        self,
        db_path: Path,
        db_url: str,
        key: str,
        *,
        remote: ApiClient | None = None,
        rate_limit: float | None = None,
    ) -> None:
        """``remote``: the full path to use instead of the in-process app (an ApiClient to a
        served sandbox on the same database: tests compare the two paths)."""
        self.local = LocalReader(db_path, key)
        self._db_url = db_url
        self._key = key
        self._remote = remote
        self.local_reads = 0  # answered in-process (tests and benchmarks look)
        self._rate_limit = rate_limit  # the in-process app has no limit; --rate-limit still paces

    def __repr__(self) -> str:
        return f"EmbeddedClient({str(self.local.path)!r})"

    @property
    def remote(self) -> ApiClient:
        """The full path: an ApiClient to the sandbox app in-process (created on first use)."""
        if self._remote is None:
            import httpx

            from .api.client import ApiClient
            from .sandbox.app import create_app

            transport = httpx.ASGITransport(app=create_app(self._db_url))
            self._remote = ApiClient(
                BASE_URL,
                self._key,
                transport=transport,
                hint_base_url=False,
                rate_limit=self._rate_limit,
            )
        return self._remote

    async def aclose(self) -> None:
        if self._remote is not None:
            await self._remote.aclose()

    def workspace(self, slug: str) -> EmbeddedWorkspace:
        return EmbeddedWorkspace(self, slug)

    async def wscfg_keys(self) -> frozenset[str]:
        """As :meth:`ApiClient.wscfg_keys`, the run's key read in-process when it can be."""
        if self._remote is None:
            from .api.settings import apply_keys_from_env

            own = await asyncio.to_thread(self.local.key_id)
            if own is not None:
                return apply_keys_from_env() | {own}
        return await self.remote.wscfg_keys()

    async def describe_key(self) -> dict[str, Any] | None:
        return await self.remote.describe_key()

    async def create_workspace(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.remote.create_workspace(body)

    async def list_workspaces(self) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(self.local.workspaces)
        if found is None:
            return await self.remote.list_workspaces()
        self.local_reads += 1
        return found


class EmbeddedWorkspace:
    """One workspace: the snapshot and the audit log in-process when they can be, every
    write over the app."""

    def __init__(self, client: EmbeddedClient, slug: str) -> None:
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ValueError(f"{slug!r} is not a workspace slug")
        self.client = client
        self.slug = slug
        self._remote: WorkspaceClient | None = None

    def __repr__(self) -> str:
        return f"EmbeddedWorkspace({self.slug!r})"

    @property
    def remote(self) -> WorkspaceClient:
        if self._remote is None:
            self._remote = self.client.remote.workspace(self.slug)
        return self._remote

    async def snapshot(self) -> dict[str, Any]:
        try:
            found = await asyncio.to_thread(self.client.local.snapshot, self.slug)
        except NotReachable:
            self.client.local_reads += 1
            # What the API answers (see wscfg.sandbox.context), as ApiClient reports it.
            url = f"{BASE_URL}/v1/workspaces/{self.slug}/settings"
            raise NotFoundError(
                404, "Not Found", "no such workspace", method="GET", url=url
            ) from None
        if found is None:
            return await self.remote.snapshot()
        self.client.local_reads += 1
        return found

    async def audit(
        self,
        kinds: Iterable[str] = (),
        keys: Iterable[str] | None = None,
        *,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """The audit log in-process when it can be (see :meth:`LocalReader.audit`)."""
        if since is None:
            kinds_l, keys_l = sorted(set(kinds)), None if keys is None else sorted(set(keys))
            found = await asyncio.to_thread(self.client.local.audit, self.slug, kinds_l, keys_l)
            if found is not None:
                self.client.local_reads += 1
                return found
        return await self.remote.audit(kinds, keys, since=since)

    # ---- writes: always over the app (platform rules, idempotency, audit in one place) ----

    async def create(self, kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.remote.create(kind, body)

    async def update(
        self, kind: Kind, key: str, body: dict[str, Any], *, etag: str | None
    ) -> dict[str, Any]:
        return await self.remote.update(kind, key, body, etag=etag)

    async def delete(self, kind: Kind, key: str, *, etag: str | None) -> None:
        await self.remote.delete(kind, key, etag=etag)

    async def resend_invitation(self, email: str) -> dict[str, Any]:
        return await self.remote.resend_invitation(email)

    async def batch_blocked_callers(
        self,
        add: list[dict[str, Any]],
        remove: list[str],
        *,
        if_match: dict[str, str | None] | None = None,
        on_chunk: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        return await self.remote.batch_blocked_callers(
            add, remove, if_match=if_match, on_chunk=on_chunk
        )
