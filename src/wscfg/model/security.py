"""The workspace security policy (a singleton)."""

from __future__ import annotations

from pydantic import Field

from .base import Flag, Resource


class Security(Resource):
    """Workspace-wide security policy."""

    require_2fa: Flag = Field(
        None,
        description="Require two-factor authentication for every member. The plan notes how "
        "many active members have not set it up yet; it does not fail for them.",
    )
