"""Outgoing webhooks: URL, event filter, secret (write-only)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator

from .base import MAX_SECONDS, Flag, Name, NotNull, Resource, read_only
from .urls import check_public_https
from .values import marked

EVENTS: tuple[str, ...] = (
    "call.started",
    "call.completed",
    "call.missed",
    "call.qualified",
    "call.unqualified",
    "call.tagged",
    "contact.created",
    "contact.updated",
    "form.submitted",
    "member.joined",
    "sms.received",
)

Event = Literal[EVENTS]  # type: ignore[valid-type]

WebhookURL = Annotated[
    str,
    AfterValidator(marked("public-https")(check_public_https)),
    Field(examples=["https://hooks.example.com/x"]),
]


def secret_fingerprint(secret: str) -> str:
    """The public fingerprint of a webhook secret: what live state and plan files show."""
    return "sha256:" + hashlib.sha256(b"wscfg-webhook-secret\0" + secret.encode()).hexdigest()[:16]


class WebhookFilters(Resource):
    """Narrow which events are delivered."""

    tags: list[Name] | None = Field(None, description="Only calls carrying one of these tags.")
    min_duration: Annotated[int | None, NotNull] = Field(
        None,
        strict=True,
        ge=0,
        le=MAX_SECONDS,
        description="Only calls at least this long (seconds, 0 to 86,400).",
    )
    qualified_only: Flag = Field(None, description="Only qualified calls.")

    @field_validator("tags")
    @classmethod
    @marked("sorted-set")
    def _sorted(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else sorted(set(v))


class Webhook(Resource):
    """An endpoint that receives events."""

    name: Name = Field(description="Webhook name.", examples=["crm-sync"])
    url: WebhookURL | None = Field(None, description="Public https:// endpoint.")
    events: list[Event] | None = Field(None, description="Events to send.")
    filters: WebhookFilters | None = None
    enabled: Flag = Field(None, description="Deliveries on or off.")
    secret: SecretStr | None = Field(
        None,
        description="Signing secret. Write it as ${env:NAME}; it is never printed or stored.",
        json_schema_extra={"writeOnly": True, "examples": ["${env:ACME_WEBHOOK_SECRET}"]},
    )
    secret_fingerprint: str | None = read_only(description="Fingerprint of the stored secret.")

    @field_validator("events")
    @classmethod
    @marked("sorted-set")
    def _sorted(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else sorted(set(v))
