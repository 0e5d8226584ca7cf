"""A saved plan read back (``wscfg apply PLANFILE``, ``wscfg show PLANFILE``).

The document is sealed (:mod:`wscfg.engine.seal`): apply checks the seal under the plan key
before it reads anything else in the file, and refuses a file that was changed after it was
written, one sealed with another plan key (saying so), and an unsealed one.
"""

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
    seal: Any  # the SealCheck of the document under the key given to read_saved_plan

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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    from ..engine.seal import CHANGED
    from ..errors import PlanFileError

    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise PlanFileError(f"{CHANGED} (it names {json.dumps(k)[:60]} twice)")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    from ..engine.seal import CHANGED
    from ..errors import PlanFileError

    raise PlanFileError(f"{CHANGED} (it holds {name}, which JSON does not allow)")


def read_saved_plan(path: str, key: bytes | None, *, require_seal: bool = True) -> SavedPlan:
    """A plan file whose seal verifies under ``key`` (the plan key; ``None``: none available,
    the seal is not checked); PlanFileError when it is not a plan file, its seal does not
    verify (unless ``require_seal`` is false: ``show`` reports a key it cannot check with) or
    its header is damaged."""
    from ..engine.plan import PLAN_FORMAT, allowances_of, only_of, plan_document
    from ..engine.seal import inspect_seal
    from ..errors import PlanFileError

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise PlanFileError(f"{path} is not valid JSON") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except ValueError:
        raise PlanFileError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        plan_document(data)  # raises: not a wscfg plan file
    seal = inspect_seal(data, key)
    if seal.status in ("changed", "missing") or (require_seal and seal.status != "verified"):
        raise PlanFileError(seal.message())
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
        seal,
    )


def saved_violations(document: dict[str, Any]) -> list[Any]:
    """The live policy violations a saved plan (or merged parts) holds."""
    from ..engine.violations import Violation
    from ..errors import PlanFileError

    try:
        return [Violation.from_dict(v) for v in document.get("violations") or []]
    except (ValueError, TypeError, AttributeError):
        raise PlanFileError("the plan file's violations list is damaged") from None
