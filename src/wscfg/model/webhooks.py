"""Outgoing webhooks: URL, event filter, secret (write-only)."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, field_validator

from .base import Name, Resource, read_only

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

_PRIVATE_NAMES = ("localhost", "localhost.localdomain")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def _public_https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError("webhook URLs must use https://")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("webhook URL has no host")
    if parts.username or parts.password:
        raise ValueError("webhook URL must not carry a user name or password")
    if host in _PRIVATE_NAMES or host.endswith(_PRIVATE_SUFFIXES):
        raise ValueError(f"'{host}' is a private host name; webhooks must reach a public address")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host:
            raise ValueError(f"'{host}' is not a public host name") from None
        return value
    if not ip.is_global:
        raise ValueError(f"{ip} is a private, loopback or reserved address")
    return value


WebhookURL = Annotated[
    str, AfterValidator(_public_https), Field(examples=["https://hooks.example.com/x"])
]


def fingerprint(secret: str) -> str:
    """The public fingerprint of a webhook secret: what live state and plan files show."""
    return "sha256:" + hashlib.sha256(b"wscfg-webhook-secret\0" + secret.encode()).hexdigest()[:16]


class WebhookFilters(Resource):
    """Narrow which events are delivered."""

    tags: list[Name] | None = Field(None, description="Only calls carrying one of these tags.")
    min_duration: int | None = Field(None, ge=0, description="Only calls at least this long (s).")
    qualified_only: bool | None = Field(None, description="Only qualified calls.")

    @field_validator("tags")
    @classmethod
    def _sorted(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else sorted(set(v))


class Webhook(Resource):
    """An endpoint that receives events."""

    name: Name = Field(description="Webhook name.", examples=["crm-sync"])
    url: WebhookURL | None = Field(None, description="Public https:// endpoint.")
    events: list[Event] | None = Field(None, description="Events to send.")
    filters: WebhookFilters | None = None
    enabled: bool | None = Field(None, description="Deliveries on or off.")
    secret: SecretStr | None = Field(
        None,
        description="Signing secret. Write it as ${env:NAME}; it is never printed or stored.",
        json_schema_extra={"writeOnly": True, "examples": ["${env:ACME_WEBHOOK_SECRET}"]},
    )
    secret_fingerprint: str | None = read_only(description="Fingerprint of the stored secret.")

    @field_validator("events")
    @classmethod
    def _sorted(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else sorted(set(v))
