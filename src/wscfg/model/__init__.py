"""Pydantic models of every resource kind, shared by config, engine, API client and sandbox."""

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
from .webhooks import EVENTS, Webhook, WebhookFilters, fingerprint
from .workspace import BusinessProfile, Workspace

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
    "fingerprint",
    "get",
    "rule_tags",
]
