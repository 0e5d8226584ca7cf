"""Usage alerts: notify when usage reaches a share of the plan's included minutes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from .base import Resource
from .values import marked, recipient

MAX_THRESHOLD = 1000  # percent of the included minutes
MAX_RECIPIENTS = 100
AlertChannel = Literal["email", "in_app"]


Recipient = Annotated[str, AfterValidator(recipient)]


class UsageAlert(Resource):
    """An alert when usage reaches ``threshold`` percent of the plan's included minutes."""

    threshold: int = Field(
        strict=True,
        ge=1,
        le=MAX_THRESHOLD,
        description="Percent of the plan's included minutes (1-1000), e.g. 50, 80 or 100.",
    )
    channels: list[AlertChannel] | None = Field(
        None, description="How the alert is sent: email, in_app; order does not matter."
    )
    recipients: list[Recipient] | None = Field(
        None,
        max_length=MAX_RECIPIENTS,
        description="Member emails or role names (built-in or custom) who receive the alert; "
        "each must exist in the config or the live workspace.",
    )

    @field_validator("channels", "recipients")
    @classmethod
    @marked("sorted-set")
    def _sorted_set(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))
