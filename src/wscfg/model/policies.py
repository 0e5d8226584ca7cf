"""Agency guardrails in a config file: ``policies:`` and ``locked:`` (docs/policies.md).

These models only describe the keys for the generated schemas and editors; the checks
(inheritance, compilation, locks) live in :mod:`wscfg.config.policies`, which reads them from
the files of an ``extends`` chain before anything is merged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Resource

POLICY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Policy(Resource):
    """A rule every workspace that extends this file must satisfy, on its config and live."""

    name: str = Field(
        pattern=POLICY_NAME_PATTERN,
        description="Unique across the extends chain; the rule id in SARIF and annotations.",
        examples=["require-2fa"],
    )
    description: str = Field(
        min_length=1,
        max_length=500,
        description="What the policy asks, shown with every violation.",
    )
    severity: Literal["error", "warning"] = Field(
        "error", description="error (default) fails validate, plan and drift; warning reports."
    )
    schema_: dict[str, Any] | bool = Field(
        alias="schema",
        description="JSON Schema 2020-12 over the resolved workspace document (the shape of "
        "`wscfg export`). Only local references (#/$defs/...); nothing is ever fetched.",
        examples=[{"properties": {"security": {"properties": {"require_2fa": {"const": True}}}}}],
    )
