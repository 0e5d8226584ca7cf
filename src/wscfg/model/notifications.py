"""Notification preferences: six categories with two channels each, and the helpdesk's five
email-only notifications (they control email only; in-app visibility is not theirs to change)."""

from __future__ import annotations

from pydantic import Field

from .base import Flag, Resource

CATEGORIES: tuple[str, ...] = (
    "system",
    "automations",
    "contacts",
    "workspace",
    "security",
    "billing",
)
CHANNELS: tuple[str, ...] = ("in_app", "email")
HELPDESK: tuple[str, ...] = (
    "assigned_conversations",
    "assigned_tickets",
    "notes_in_assigned_conversations",
    "assigned_reminders",
    "assigned_inquiries",
)
EMAIL_ONLY_MESSAGE = (
    "{name} controls email notifications only; in-app visibility is not a setting "
    "(use {{email: true}} or {{email: false}})"
)


class Channels(Resource):
    """Which channels a category is delivered on."""

    in_app: Flag = Field(None, description="Show in the app.")
    email: Flag = Field(None, description="Send by email.")


class EmailOnly(Resource):
    """A helpdesk notification: email on or off (there is no in-app channel to set)."""

    email: Flag = Field(None, description="Send by email.")


class _Categories(Resource):
    system: Channels | None = Field(None, description="System updates and technical notices.")
    automations: Channels | None = Field(None, description="Automation and sequence events.")
    contacts: Channels | None = Field(None, description="Changes to contacts.")
    workspace: Channels | None = Field(None, description="Members and settings changes.")
    security: Channels | None = Field(None, description="Logins, password changes.")
    billing: Channels | None = Field(None, description="Payments, plan and credit usage.")
    assigned_conversations: EmailOnly | None = Field(
        None, description="Helpdesk: a conversation is assigned to me (email only)."
    )
    assigned_tickets: EmailOnly | None = Field(
        None, description="Helpdesk: a ticket is assigned to me (email only)."
    )
    notes_in_assigned_conversations: EmailOnly | None = Field(
        None, description="Helpdesk: a note is added to a conversation assigned to me (email only)."
    )
    assigned_reminders: EmailOnly | None = Field(
        None, description="Helpdesk: a reminder is assigned to me (email only)."
    )
    assigned_inquiries: EmailOnly | None = Field(
        None, description="Helpdesk: an inquiry is assigned to me (email only)."
    )


class Notifications(_Categories):
    """Workspace notification defaults (a singleton)."""


class NotificationOverrides(_Categories):
    """A member's overrides of the workspace defaults; unset means 'use the default'."""
