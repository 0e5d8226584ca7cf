"""The workspace itself: identity, display name, time zone and business profile."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from .base import Prose2000, Resource, Slug, Text, Text200
from .values import single_line, timezone

DisplayName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(single_line)]
Timezone = Annotated[str, AfterValidator(timezone), Field(examples=["America/Chicago"])]


class BusinessProfile(Resource):
    """Business context used across the workspace (and by AI features)."""

    company: Text200 | None = Field(None, description="Company name.")
    services: list[Text] | None = Field(
        None, description="What the business offers.", examples=[["cleanings", "implants"]]
    )
    audience: Prose2000 | None = Field(None, description="Who the customers are.")
    brand_voice: Prose2000 | None = Field(
        None, description="How the business sounds.", examples=["warm, plain"]
    )


class Workspace(Resource):
    """The workspace profile (a singleton). ``slug`` names the target workspace."""

    slug: Slug = Field(description="The workspace's URL name; identifies the target.")
    name: DisplayName | None = Field(None, description="Display name.")
    timezone: Timezone | None = Field(None, description="IANA time zone for logs and reports.")
    business_profile: BusinessProfile | None = Field(None, description="Business context.")
