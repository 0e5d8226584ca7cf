"""The sandbox: a reference Workspace Settings API server (FastAPI + SQLAlchemy).

Importing this package is cheap; FastAPI and SQLAlchemy load only when a server, an admin
function or the OpenAPI document is asked for. Public entry points:

- :func:`wscfg.sandbox.app.create_app` — the ASGI app;
- :mod:`wscfg.sandbox.admin` — agencies, workspaces and keys without HTTP;
- :mod:`wscfg.sandbox.local` — the embedded sandbox's in-process reads (``sqlite3`` only);
- :func:`wscfg.sandbox.testing.running_server` — a real server on a free loopback port;
- :func:`openapi_document` — the OpenAPI document committed as ``schemas/openapi.json``;
  :func:`openapi_text` — the same as the exact text to write there.
"""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    """The sandbox's OpenAPI document (deterministic; no database is touched)."""
    from .app import create_app

    app = create_app("sqlite:///unused-for-openapi.db")
    doc: dict[str, Any] = app.openapi()
    return doc


def openapi_text() -> str:
    """The OpenAPI document as committed: 2-space indented JSON and a final newline."""
    import json

    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


__all__ = ["openapi_document", "openapi_text"]
