"""What the engine's callers ask of a server, as protocols: :class:`Reader` and
:class:`~wscfg.engine.apply.Writer` for one workspace, :class:`ServerApi` for the whole
server. :class:`wscfg.api.client.ApiClient` (over HTTP) and
:class:`wscfg.embedded.EmbeddedClient` (the embedded sandbox) are both a :class:`ServerApi`;
mypy checks it where they are used as one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .apply import Writer


class Reader(Protocol):
    """The reads of one workspace a plan and its explanation need."""

    async def snapshot(self) -> dict[str, Any]:
        """Every kind in one read, items with their ``etag``."""
        ...

    async def audit(
        self, kinds: Iterable[str] = (), keys: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """The audit entries of ``kinds`` (``keys``: only those items; ``None``: all)."""
        ...


class WorkspaceApi(Reader, Writer, Protocol):
    """One workspace: read it, write it."""


class ServerApi(Protocol):
    """The server a run talks to with one key."""

    def workspace(self, slug: str) -> WorkspaceApi: ...

    async def list_workspaces(self) -> list[dict[str, Any]]:
        """Every workspace the key reaches."""
        ...

    async def create_workspace(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a sub-account (agency keys)."""
        ...

    async def describe_key(self) -> dict[str, Any] | None:
        """The calling key (scopes, what it belongs to); ``None``: the server cannot say."""
        ...

    async def wscfg_keys(self) -> frozenset[str]:
        """The ids of the keys whose writes are wscfg's (drift attribution)."""
        ...

    async def aclose(self) -> None: ...
