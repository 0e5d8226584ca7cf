"""A saved plan read back (``wscfg apply PLANFILE``, ``wscfg show PLANFILE``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .flow import env_mask, plan_key
from .options import parse_only


@dataclass(frozen=True)
class SavedPlan:
    """A plan file read back: the document as saved (environment values still masked) and
    what its header says. ``show`` renders :meth:`plans` or the document itself; apply takes
    :meth:`with_env`."""

    document: dict[str, Any]
    server: str
    allowances: Any
    only: tuple[str, ...]  # the --only selection of a partial plan; empty for a full one
    key_id: str | None  # the key its secrets were sealed with

    def plans(self) -> list[Any]:
        """The plans as saved, environment values masked (PlanFileError when damaged)."""
        from ..engine.plan import plans_from_document

        return plans_from_document(self.document)[0]

    def with_env(self) -> tuple[list[Any], Any]:
        """The plans with the environment values the file masks put back (PlanError when one
        is unset or changed), and the mask that hides them again in what apply prints
        (``None`` when the file masks none)."""
        from ..engine.envmask import unmask
        from ..engine.plan import plans_from_document

        used: dict[str, str] = {}
        data = unmask(self.document, os.environ, plan_key(), used)
        return plans_from_document(data)[0], env_mask(used)


def read_saved_plan(path: str) -> SavedPlan:
    """A plan file; PlanFileError when it is not one (or its header is damaged)."""
    from ..engine.plan import allowances_of, only_of, plan_document
    from ..errors import PlanFileError

    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise PlanFileError(f"{path} is not valid JSON") from None
    data = plan_document(data)
    only = only_of(data)
    try:
        parse_only(only)
    except click.BadParameter as exc:
        raise PlanFileError(f'the plan file is damaged ("only": {exc.message})') from None
    key_id = data.get("plan_key_id")
    return SavedPlan(
        data,
        str(data.get("server", "")),
        allowances_of(data),
        only,
        key_id if isinstance(key_id, str) else None,
    )
