"""The sandbox application: the reference Workspace Settings API as a FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from .. import __version__
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


def create_app(db_url: str, settings: SandboxSettings | None = None) -> Any:
    """A sandbox app storing in ``db_url`` (a URL or a SQLite file path). The schema is
    created (or migrated) on start-up, or on the first request when served without one."""
    settings = settings or SandboxSettings()
    sandbox = Sandbox(normalize_url(db_url), settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _ = sandbox.engine  # create tables now rather than on the first request
        yield

    app = FastAPI(
        title="Workspace Settings API (wscfg sandbox)",
        version=__version__,
        description=DESCRIPTION,
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
    app.add_middleware(RequestContextMiddleware, sandbox=sandbox)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            import warnings

            from fastapi.openapi.utils import get_openapi
            from pydantic.warnings import UnsupportedFieldAttributeWarning

            with warnings.catch_warnings():
                # FastAPI wraps request bodies in a field aliased "body"; pydantic notes that
                # the alias does nothing there. Nothing for a user to act on.
                warnings.simplefilter("ignore", UnsupportedFieldAttributeWarning)
                doc = get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    separate_input_output_schemas=False,
                )
            app.openapi_schema = openapi.finish(doc)
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app
