"""The client side of the Workspace Settings API (docs/api.md).

``from wscfg.api import ApiClient`` works as usual, but names are loaded lazily so that
``wscfg.api.settings`` (used on every CLI start) does not import httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import ApiClient
    from .retry import RetryBudget, RetryPolicy, parse_retry_after
    from .settings import ServerSettings, server_from_env
    from .wire import ApiStats, Response
    from .workspace import WorkspaceClient

_EXPORTS = {
    "ApiClient": "client",
    "ApiStats": "wire",
    "Response": "wire",
    "RetryBudget": "retry",
    "RetryPolicy": "retry",
    "parse_retry_after": "retry",
    "ServerSettings": "settings",
    "server_from_env": "settings",
    "WorkspaceClient": "workspace",
}

__all__ = [
    "ApiClient",
    "ApiStats",
    "Response",
    "RetryBudget",
    "RetryPolicy",
    "ServerSettings",
    "WorkspaceClient",
    "parse_retry_after",
    "server_from_env",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wscfg.api' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
