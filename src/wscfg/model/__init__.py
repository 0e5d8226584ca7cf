"""Pydantic models of every resource kind, shared by config, engine, API client and sandbox.

The names below are imported on first use (PEP 562): importing ``wscfg.model.kinds`` or the
pydantic-free constants must not import pydantic, so that ``wscfg validate`` of a valid file
never does (see docs/performance.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access import BUILTIN_ROLES, PERMISSIONS, Member, Role
    from .alerts import UsageAlert
    from .apikeys import API_SCOPES, MAX_API_KEYS, ApiKey
    from .base import Resource
    from .calls import BlockedCaller, CallRules, CallTag, e164, rule_tags
    from .document import Ignore, Manage, WorkspaceConfig
    from .integrations import Integration, Integrations
    from .kinds import BY_NAME, COLLECTIONS, KINDS, OBSERVED, SINGLETONS, SNAPSHOT_KINDS, Kind, get
    from .notifications import (
        CATEGORIES,
        CHANNELS,
        HELPDESK,
        NotificationOverrides,
        Notifications,
    )
    from .security import Security
    from .webhooks import EVENTS, Webhook, WebhookFilters, secret_fingerprint
    from .workspace import BusinessProfile, Workspace

# name -> the submodule defining it
_WHERE: dict[str, str] = {
    "BUILTIN_ROLES": "access",
    "PERMISSIONS": "access",
    "Member": "access",
    "Role": "access",
    "UsageAlert": "alerts",
    "API_SCOPES": "apikeys",
    "MAX_API_KEYS": "apikeys",
    "ApiKey": "apikeys",
    "Resource": "base",
    "BlockedCaller": "calls",
    "CallRules": "calls",
    "CallTag": "calls",
    "e164": "calls",
    "rule_tags": "calls",
    "Ignore": "document",
    "Manage": "document",
    "WorkspaceConfig": "document",
    "Integration": "integrations",
    "Integrations": "integrations",
    "BY_NAME": "kinds",
    "COLLECTIONS": "kinds",
    "KINDS": "kinds",
    "OBSERVED": "kinds",
    "SINGLETONS": "kinds",
    "SNAPSHOT_KINDS": "kinds",
    "Kind": "kinds",
    "get": "kinds",
    "CATEGORIES": "notifications",
    "CHANNELS": "notifications",
    "HELPDESK": "notifications",
    "NotificationOverrides": "notifications",
    "Notifications": "notifications",
    "Security": "security",
    "EVENTS": "webhooks",
    "Webhook": "webhooks",
    "WebhookFilters": "webhooks",
    "secret_fingerprint": "webhooks",
    "BusinessProfile": "workspace",
    "Workspace": "workspace",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'wscfg.model' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(_WHERE)


__all__ = [
    "API_SCOPES",
    "BUILTIN_ROLES",
    "BY_NAME",
    "CATEGORIES",
    "CHANNELS",
    "COLLECTIONS",
    "EVENTS",
    "HELPDESK",
    "KINDS",
    "MAX_API_KEYS",
    "OBSERVED",
    "PERMISSIONS",
    "SINGLETONS",
    "SNAPSHOT_KINDS",
    "ApiKey",
    "BlockedCaller",
    "BusinessProfile",
    "CallRules",
    "CallTag",
    "Ignore",
    "Integration",
    "Integrations",
    "Kind",
    "Manage",
    "Member",
    "NotificationOverrides",
    "Notifications",
    "Resource",
    "Role",
    "Security",
    "UsageAlert",
    "Webhook",
    "WebhookFilters",
    "Workspace",
    "WorkspaceConfig",
    "e164",
    "get",
    "rule_tags",
    "secret_fingerprint",
]
