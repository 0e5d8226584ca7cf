"""API keys of a workspace: live or test, scoped over a fixed catalog, re-issued by rotation.

The secret of a key is never part of the model: the platform returns it once, in the answer
that creates (or re-issues) the key, and wscfg writes it only to ``--new-secrets-to FILE``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from .base import Name, NotNull, Resource, Text500, read_only
from .values import MAX_API_KEYS as MAX_API_KEYS
from .values import RESERVED_PREFIX as RESERVED_PREFIX
from .values import after_today, date_only, marked, not_a_key_id, some_scopes

MAX_ROTATION = 1_000_000
API_RESOURCES: tuple[str, ...] = (
    "billing",
    "calls",
    "contacts",
    "integrations",
    "members",
    "reports",
    "settings",
    "webhooks",
)
# resource:read | resource:write; settings:read and settings:write are what the Workspace
# Settings API itself checks.
API_SCOPES: tuple[str, ...] = tuple(f"{r}:{a}" for r in API_RESOURCES for a in ("read", "write"))

# A key's last day: a date written YYYY-MM-DD (not a date and time cut to its day, not a number),
# after today in UTC. The API checks the same (docs/api.md, "API keys").
Expires = Annotated[date, BeforeValidator(date_only), AfterValidator(after_today)]

ApiScope = Literal[API_SCOPES]  # type: ignore[valid-type]
KeyMode = Literal["live", "test"]


class ApiKey(Resource):
    """An API key the workspace hands to another system."""

    name: Name = Field(description="Key name (its identity).", examples=["crm-sync"])
    mode: KeyMode = Field(description="live (real data) or test (the test environment).")
    scopes: list[ApiScope] = Field(
        description="resource:read or resource:write from the fixed catalog; order does not "
        "matter. settings:read / settings:write reach this settings API.",
        examples=[["calls:read", "contacts:read"]],
    )
    description: Text500 | None = Field(None, description="What the key is for.")
    expires: Expires | None = Field(
        None,
        description="The last day the key works (YYYY-MM-DD, after today in UTC); none: it "
        "never expires.",
    )
    rotation: Annotated[int | None, NotNull] = Field(
        None,
        strict=True,
        ge=0,
        le=MAX_ROTATION,
        description="Raise it to re-issue the key: a new secret (to --new-secrets-to FILE), the "
        "old key revoked.",
    )
    id: str | None = read_only(description="The platform's id of the current key (key_…).")
    prefix: str | None = read_only(description="The first characters of the secret.")
    created_at: str | None = read_only(description="When the current key was issued (UTC).")

    @field_validator("name")
    @classmethod
    @marked("not-a-key-id")
    def _not_an_id(cls, value: str) -> str:
        return not_a_key_id(value)

    @field_validator("scopes")
    @classmethod
    @marked("some-scopes")
    def _sorted_set(cls, value: list[str]) -> list[str]:
        return sorted(set(some_scopes(value)))
