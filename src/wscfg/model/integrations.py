"""Integrations: connected through OAuth in the UI, so wscfg only observes them.

The live workspace lists each integration with its status (read-only); a config may require
some to be connected (``integrations: {required: [hubspot, wordpress]}``), and the plan refuses
while one is not."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .base import Name, Resource, read_only
from .values import marked

IntegrationStatus = Literal["connected", "setup_incomplete", "disconnected"]
MAX_REQUIRED = 100


class Integration(Resource):
    """An integration of the live workspace (read-only: connected in the UI)."""

    name: Name = Field(description="The integration, e.g. hubspot or wordpress.")
    status: IntegrationStatus | None = read_only(
        description="connected, setup_incomplete (an account is linked but setup is not "
        "finished) or disconnected."
    )


class Integrations(Resource):
    """What a config may say about integrations: which must be connected."""

    required: list[Name] | None = Field(
        None,
        max_length=MAX_REQUIRED,
        description="Integrations that must be connected: the plan refuses while one is not.",
        examples=[["hubspot", "wordpress"]],
    )

    @field_validator("required")
    @classmethod
    @marked("sorted-set")
    def _sorted_set(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))
