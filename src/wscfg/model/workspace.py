"""The workspace itself: identity, display name, time zone and business profile."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from .base import Resource, Slug
from .values import timezone

Timezone = Annotated[str, AfterValidator(timezone), Field(examples=["America/Chicago"])]


class BusinessProfile(Resource):
    """Business context used across the workspace (and by AI features)."""

    company: str | None = Field(None, max_length=200, description="Company name.")
    services: list[str] | None = Field(
        None, description="What the business offers.", examples=[["cleanings", "implants"]]
    )
    audience: str | None = Field(None, max_length=2000, description="Who the customers are.")
    brand_voice: str | None = Field(
        None, max_length=2000, description="How the business sounds.", examples=["warm, plain"]
    )


class Workspace(Resource):
    """The workspace profile (a singleton). ``slug`` names the target workspace."""

    slug: Slug = Field(description="The workspace's URL name; identifies the target.")
    name: str | None = Field(None, min_length=1, max_length=120, description="Display name.")
    timezone: Timezone | None = Field(None, description="IANA time zone for logs and reports.")
    business_profile: BusinessProfile | None = Field(None, description="Business context.")
