"""The sandbox application: the reference Workspace Settings API as a FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from .. import __version__
from ..model.base import Resource
from . import budget, openapi, problems
from .context import Sandbox
from .db import normalize_url
from .limits import known_query_only
from .middleware import RequestContextMiddleware
from .routes import batch, collections, keys, singletons, workspaces
from .settings import SandboxSettings

DESCRIPTION = """\
The reference implementation of the Workspace Settings API that wscfg speaks: every settings
kind over `/v1`, bearer API keys with scopes, strong ETags with `If-Match`, `Idempotency-Key`
on writes, RFC 9457 problem details, a rate limit per key and an audit log of every write.
See docs/api.md.
"""


def _build_models_eagerly() -> None:
    """Build every settings model's validator now rather than on first use.

    wscfg's models defer building (``defer_build``) so that the CLI pays only for the models
    it uses. FastAPI builds each request body's validator inside a warning filter, because it
    wraps the body type in a ``Field(alias=...)`` that pydantic (2.12+) would warn about; a
    deferred model escapes that filter and is built on the first request instead, outside it,
    and pydantic's UnsupportedFieldAttributeWarning reached the user's terminal. A server
    uses every model anyway, so it builds them all up front, before its routes exist.
    """
    pending = list(Resource.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.model_config.get("defer_build"):
            model.model_config["defer_build"] = False


def _limits_text(settings: SandboxSettings) -> str:
    """The limits section of the description (docs/api.md, "Limits", says the same)."""
    b = settings.bounds
    items = ", ".join(f"{kind} {cap:,}" for kind, cap in sorted(b.items.items()))
    return f"""
## Limits

A write is authenticated before its body is read. Past a limit the answer is a problem:

- body: at most {settings.max_body_bytes:,} bytes in any framing (`413`); at most
  {b.max_values:,} JSON values, nested at most {b.max_depth} deep (`422`, checked before
  the body is parsed);
- every string at most {b.max_string:,} characters, object keys {b.max_key}; every list at
  most {b.max_array:,} entries (a batch's `add` plus `remove`: {settings.max_batch:,}); every
  object at most {b.max_members:,} members (a batch's `if_match`) (`422`);
- numbers must be finite (no `NaN`, `Infinity`, `1e400`) and integers within ±(2^53 − 1)
  (`422`); unknown query parameters are refused (`422`);
- a call rule tree: at most {b.rule_nodes} nodes and {b.rule_depth} nested groups (`422`);
- items per workspace: {items}; API keys {settings.max_api_keys}; sub-accounts per agency
  {b.agency_workspaces:,} (`409`);
- a write waits at most {settings.lock_wait:g} s for the write lock and holds it at most
  {settings.write_budget:g} s (then it is rolled back): `503` with `Retry-After`.
"""


def _limits_data(settings: SandboxSettings) -> dict[str, Any]:
    """The limits, machine-readable, as the OpenAPI document's ``info.x-wscfg-limits``."""
    b = settings.bounds
    return {
        "body_bytes": settings.max_body_bytes,
        "json_values": b.max_values,
        "json_depth": b.max_depth,
        "string_chars": b.max_string,
        "key_chars": b.max_key,
        "list_entries": b.max_array,
        "object_members": b.max_members,
        "batch_entries": settings.max_batch,
        "rule_nodes": b.rule_nodes,
        "rule_depth": b.rule_depth,
        "items_per_workspace": dict(sorted(b.items.items())),
        "api_keys_per_workspace": settings.max_api_keys,
        "workspaces_per_agency": b.agency_workspaces,
        "lock_wait_seconds": settings.lock_wait,
        "write_budget_seconds": settings.write_budget,
    }


def create_app(db_url: str, settings: SandboxSettings | None = None) -> Any:
    """A sandbox app storing in ``db_url`` (a URL or a SQLite file path). The schema is
    created (or migrated) on start-up, or on the first request when served without one."""
    settings = settings or SandboxSettings()
    sandbox = Sandbox(normalize_url(db_url), settings)
    _build_models_eagerly()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _ = sandbox.engine  # create tables now rather than on the first request
        yield

    app = FastAPI(
        title="Workspace Settings API (wscfg sandbox)",
        version=__version__,
        description=DESCRIPTION + _limits_text(settings),
        separate_input_output_schemas=False,
        redirect_slashes=False,
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
    )
    app.state.sandbox = sandbox
    problems.install(app)
    budget.install(app)
    for module in (workspaces, singletons, batch, keys, collections):
        app.include_router(module.build_router())
    app.state.faults = None
    if settings.faults is not None:
        from .faults import FaultInjector, FaultMiddleware

        faults = settings.faults
        app.state.faults = faults if isinstance(faults, FaultInjector) else FaultInjector(faults)
        app.add_middleware(FaultMiddleware, faults=app.state.faults)
    # faults act inside, on every request: no 304 answered before them
    light = app.state.faults is None
    app.add_middleware(RequestContextMiddleware, sandbox=sandbox, light=light)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=False,
            )
            doc["info"]["x-wscfg-limits"] = _limits_data(settings)
            app.openapi_schema = openapi.finish(doc)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app
