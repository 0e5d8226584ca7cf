"""Notification preferences: six categories, two channels each."""

from __future__ import annotations

from pydantic import Field

from .base import Resource

CATEGORIES: tuple[str, ...] = (
    "system",
    "automations",
    "contacts",
    "workspace",
    "security",
    "billing",
)
CHANNELS: tuple[str, ...] = ("in_app", "email")


class Channels(Resource):
    """Which channels a category is delivered on."""

    in_app: bool | None = Field(None, description="Show in the app.")
    email: bool | None = Field(None, description="Send by email.")


class _Categories(Resource):
    system: Channels | None = Field(None, description="System updates and technical notices.")
    automations: Channels | None = Field(None, description="Automation and sequence events.")
    contacts: Channels | None = Field(None, description="Changes to contacts.")
    workspace: Channels | None = Field(None, description="Members and settings changes.")
    security: Channels | None = Field(None, description="Logins, password changes.")
    billing: Channels | None = Field(None, description="Payments, plan and credit usage.")


class Notifications(_Categories):
    """Workspace notification defaults (a singleton)."""


class NotificationOverrides(_Categories):
    """A member's overrides of the workspace defaults; unset means 'use the default'."""
