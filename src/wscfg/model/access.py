"""Who may do what: custom roles over a fixed permission catalog, and members."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .base import Name, Resource, Text500, read_only
from .email import Email
from .notifications import NotificationOverrides
from .values import BUILTIN_ROLES as BUILTIN_ROLES
from .values import marked, not_builtin_role

PERMISSIONS: tuple[str, ...] = (
    "api_keys:manage",
    "billing:manage",
    "billing:read",
    "blocked_callers:manage",
    "call_log:export",
    "call_log:read",
    "call_rules:manage",
    "call_tags:manage",
    "contacts:read",
    "contacts:write",
    "integrations:manage",
    "members:manage",
    "reports:read",
    "settings:read",
    "settings:write",
    "webhooks:manage",
)


Permission = Literal[PERMISSIONS]  # type: ignore[valid-type]


class Role(Resource):
    """A custom role. Built-in roles (owner, admin, member, client) cannot be declared."""

    name: Name = Field(description="Role name, referenced by members[].role.")
    description: Text500 | None = Field(None)
    permissions: list[Permission] | None = Field(
        None, description="Permissions from the fixed catalog; order does not matter."
    )

    @field_validator("name")
    @classmethod
    @marked("not-builtin-role")
    def _not_builtin(cls, value: str) -> str:
        return not_builtin_role(value)

    @field_validator("permissions")
    @classmethod
    @marked("sorted-set")
    def _sorted_set(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))


MemberStatus = Literal["active", "pending", "expired"]


class Member(Resource):
    """A workspace member. Declaring a new one sends an invitation."""

    email: Email = Field(description="Login email; compared case-insensitively.")
    role: str = Field(description="A built-in role (owner, admin, member, client) or a custom one.")
    notifications: NotificationOverrides | None = Field(
        None, description="Per-member overrides of the workspace notification defaults."
    )
    status: MemberStatus | None = read_only(description="active, pending (invited) or expired.")
    invited_at: str | None = read_only(description="When the last invitation was sent (UTC).")
    expires_at: str | None = read_only(description="When a pending invitation expires (UTC).")
    two_factor: bool | None = read_only(
        description="true once the member has set up two-factor authentication."
    )
