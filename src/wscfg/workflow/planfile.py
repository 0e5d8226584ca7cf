"""Plan files: a run's plans saved for review and applied later exactly as saved.

The document is sealed (:mod:`wscfg.engine.seal`): reading one back checks the seal under
the plan key before anything else in the file is used, and refuses a file that was changed
after it was written, one sealed with another plan key (saying so), and an unsealed one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import OptionError, PlanFileError

MAX_FILE_BYTES = 256 << 20  # no plan or drift report of a shard comes near (~2 kB a workspace)
MAX_DEPTH = 64  # levels of JSON nesting: a plan document holds a few dozen at most

if TYPE_CHECKING:
    from ..engine.envmask import EnvMask
    from ..engine.plan import Plan
    from ..engine.safety import Allowances
    from ..engine.seal import SealCheck, Sealer
    from ..engine.violations import Violation
    from .results import PlanSet


def plan_document(ps: PlanSet, sealer: Sealer | None) -> dict[str, Any]:
    """The plan file document of ``ps`` (secrets sealed by ``sealer``, environment values
    masked by ``ps.mask``, fields set from them on both sides)."""
    from ..engine.plan import plans_to_document

    return plans_to_document(
        ps.mask.plans(ps.plans) if ps.mask else ps.plans,
        server=ps.server,
        allowances=ps.allow,
        sealer=sealer,
        only=ps.only,
        mask=ps.mask.document if ps.mask else None,
        run=ps.run,
        # shown by `wscfg show` (sealed with the rest), grouped under their policy's words
        violations=[{**v.to_dict(), "description": v.description} for v in ps.violations],
    )


def save(path: str, ps: PlanSet, sealer: Sealer | None) -> None:
    """Write the plan file of ``ps`` to ``path`` (atomically; WscfgError when it cannot)."""
    from ..files import write_file

    doc = plan_document(ps, sealer)
    write_file(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class SavedPlan:
    """A plan file read back: the document as saved (environment values still masked) and
    what its header says. ``show`` renders :meth:`plans` or the document itself; apply takes
    :meth:`with_env`."""

    document: dict[str, Any]
    server: str
    allowances: Allowances
    only: tuple[str, ...]  # the item selection of a partial plan; empty for a full one
    key_id: str | None  # the key its secrets were sealed with
    seal: SealCheck  # the check of the document's seal under the key given to read_saved_plan

    def plans(self) -> list[Plan]:
        """The plans as saved, environment values masked (PlanFileError when damaged)."""
        from ..engine.plan import plans_from_document

        return plans_from_document(self.document)[0]

    def with_env(
        self, key: Callable[[], bytes], environ: Mapping[str, str]
    ) -> tuple[list[Plan], EnvMask | None]:
        """The plans with the environment values the file masks put back from ``environ``
        (PlanError when one is unset or changed), and the mask that hides them again in what
        apply prints (``None`` when the file masks none)."""
        from ..engine.envmask import unmask
        from ..engine.plan import plans_from_document
        from .keys import env_mask

        used: dict[str, str] = {}
        data = unmask(self.document, environ, key(), used)
        return plans_from_document(data)[0], env_mask(used, key)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    from ..engine.seal import CHANGED

    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise PlanFileError(f"{CHANGED} (it names {json.dumps(k)[:60]} twice)")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    from ..engine.seal import CHANGED

    raise PlanFileError(f"{CHANGED} (it holds {name}, which JSON does not allow)")


def read_json(path: str, **how: Any) -> Any:
    """The JSON document in the file ``path`` (``how``: options of :func:`json.loads`);
    PlanFileError naming it when it cannot be read, is larger than :data:`MAX_FILE_BYTES`
    (never read further: a device or a runaway file fills no memory), is not JSON, or is
    nested deeper than :data:`MAX_DEPTH` levels (no wscfg document is; deeper would reach
    Python's recursion limit in whatever walks it next)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise PlanFileError(
            f"{path} is larger than any wscfg plan or drift report (over {MAX_FILE_BYTES} bytes)"
        )
    too_deep = PlanFileError(
        f"{path} is not a wscfg plan or drift report (JSON nested deeper than {MAX_DEPTH} levels)"
    )
    try:
        data = json.loads(raw.decode("utf-8"), **how)
    except RecursionError:
        raise too_deep from None
    except ValueError:  # UnicodeDecodeError included
        raise PlanFileError(f"{path} is not valid JSON") from None
    if _deeper_than(data, MAX_DEPTH):
        raise too_deep
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether JSON data nests more than ``limit`` levels (level by level, no recursion)."""
    level = [data]
    for _ in range(limit):
        below: list[Any] = []
        for c in level:
            items = c.values() if c.__class__ is dict else c if c.__class__ is list else ()
            below += [v for v in items if v.__class__ is dict or v.__class__ is list]
        if not below:
            return False
        level = below
    return True


def read_saved_plan(path: str, key: bytes | None, *, require_seal: bool = True) -> SavedPlan:
    """A plan file whose seal verifies under ``key`` (the plan key; ``None``: none available,
    the seal is not checked); PlanFileError when it is not a plan file, its seal does not
    verify (unless ``require_seal`` is false: ``show`` reports a key it cannot check with) or
    its header is damaged."""
    from ..engine.plan import PLAN_FORMAT, allowances_of, only_of
    from ..engine.plan import plan_document as checked_document
    from ..engine.seal import inspect_seal
    from .selection import parse_only

    data = read_json(path, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        checked_document(data)  # raises: not a wscfg plan file
    seal = inspect_seal(data, key)
    if seal.status in ("changed", "missing") or (require_seal and seal.status != "verified"):
        raise PlanFileError(seal.message())
    data = checked_document(data)
    only = only_of(data)
    try:
        parse_only(only)
    except OptionError as exc:
        raise PlanFileError(f'the plan file is damaged ("only": {exc.reason})') from None
    key_id = data.get("plan_key_id")
    return SavedPlan(
        data,
        str(data.get("server", "")),
        allowances_of(data),
        only,
        key_id if isinstance(key_id, str) else None,
        seal,
    )


def saved_violations(document: dict[str, Any]) -> list[Violation]:
    """The live policy violations a saved plan (or merged parts) holds."""
    from ..engine.violations import Violation

    try:
        return [Violation.from_dict(v) for v in document.get("violations") or []]
    except (ValueError, TypeError, AttributeError):
        raise PlanFileError("the plan file's violations list is damaged") from None


def saved_plan_named(paths: Sequence[str], key: Callable[[], bytes]) -> SavedPlan | None:
    """The saved plan named as the only path (a ``.json`` file: ``wscfg apply PLANFILE``),
    its seal checked with ``key()``; None when ``paths`` name config."""
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    return read_saved_plan(paths[0], key())
