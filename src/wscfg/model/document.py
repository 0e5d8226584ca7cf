"""The top-level config document: one workspace's desired settings plus ownership rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, field_validator

from .access import Member, Role
from .alerts import UsageAlert
from .apikeys import MAX_API_KEYS, ApiKey
from .base import Resource
from .calls import BlockedCaller, CallRules, CallTag
from .integrations import Integrations
from .notifications import Notifications
from .policies import Policy
from .security import Security
from .values import at_most_ten_keys, marked
from .webhooks import Webhook
from .workspace import Workspace

Mode = Literal["exact", "additive"]
Globs = list[str]


class Manage(Resource):
    """How a collection is owned: ``exact`` (default) deletes undeclared live items,
    ``additive`` keeps them (the plan reports how many were kept)."""

    roles: Mode | None = None
    members: Mode | None = None
    call_tags: Mode | None = None
    blocked_callers: Mode | None = None
    webhooks: Mode | None = None
    usage_alerts: Mode | None = None
    api_keys: Mode | None = None


class Ignore(Resource):
    """Glob patterns over identities (email, name, number) of items wscfg never touches."""

    roles: Globs | None = None
    members: Globs | None = Field(None, examples=[["*@sso.example"]])
    call_tags: Globs | None = None
    blocked_callers: Globs | None = None
    webhooks: Globs | None = None
    usage_alerts: Globs | None = None
    api_keys: Globs | None = None


class Invitations(Resource):
    """How wscfg treats member invitations."""

    resend_expired: StrictBool = Field(
        True,
        description="Re-send the expired invitation of a declared member (default true). "
        "false leaves expired invitations as they are; the plan lists them.",
    )


class WorkspaceConfig(Resource):
    """A workspace's settings. A top-level key that is absent is not managed; a collection that
    is present is exact unless ``manage`` says ``additive``."""

    version: Literal[1] = Field(description="Config format version; always 1.")
    extends: str | list[str] | None = Field(
        None, description="Template file(s) to inherit from, relative to this file."
    )
    vars: dict[str, str | int | float | bool] | None = Field(
        None, description="Values for ${var.name} references.", examples=[{"clinic": "North"}]
    )
    manage: Manage | None = None
    ignore: Ignore | None = None
    invitations: Invitations | None = None
    workspace: Workspace | None = None
    roles: list[Role] | None = Field(None, description="Custom roles.")
    members: list[Member] | None = Field(None, description="Members and invitations.")
    call_tags: list[CallTag] | None = None
    call_rules: CallRules | None = None
    blocked_callers: list[BlockedCaller] | None = Field(
        None, description="Numbers to block: a string or {number, note}."
    )
    webhooks: list[Webhook] | None = None
    notifications: Notifications | None = None
    security: Security | None = Field(None, description="The security policy (require_2fa).")
    usage_alerts: list[UsageAlert] | None = Field(
        None, description="Alerts at a share of the included minutes, by threshold."
    )
    api_keys: list[ApiKey] | None = Field(
        None,
        description=f"API keys (at most {MAX_API_KEYS}); a new key's secret is written only to "
        "--new-secrets-to FILE.",
    )
    integrations: Integrations | None = Field(
        None,
        description="Integrations are connected in the UI; `required` ones must be connected "
        "before the plan may run.",
    )

    policies: list[Policy] | None = Field(
        None,
        description="Rules every file that extends this one inherits and cannot remove or "
        "weaken (docs/policies.md).",
    )
    locked: list[str] | None = Field(
        None,
        description="Top-level keys a file that extends this one may not set.",
        examples=[["security"]],
    )

    @field_validator("api_keys")
    @classmethod
    @marked("at-most-ten-keys")
    def _at_most_ten(cls, value: list[ApiKey] | None) -> list[ApiKey] | None:
        return at_most_ten_keys(value)
