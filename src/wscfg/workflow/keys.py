"""The plan key and what it does: seal secrets in plan files, mask environment values.

The plan key is given to :func:`wscfg.connect` (``plan_key=``; the CLI passes
``$WSCFG_PLAN_KEY``), else it is the API key of the server, else the embedded sandbox's key
(see :mod:`wscfg.engine.seal`). It is found only when a run needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.apply import SecretLookup
    from ..engine.drift import DriftReport
    from ..engine.envmask import EnvMask, Positions
    from ..engine.plan import Plan
    from ..engine.seal import Sealer
    from ..engine.state import LiveState
    from ..fleet import PlanRun

KeySource = Callable[[], bytes]


def desired_secrets(run: PlanRun) -> Callable[[Plan], SecretLookup]:
    """Secret values of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return lambda plan: lookups[plan.slug]


def plan_sealer(run: PlanRun, key: KeySource) -> Sealer:
    """Seal the secrets of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired
    from ..engine.seal import Sealer

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return Sealer(key(), lambda slug: lookups[slug])


def env_mask(
    values: Mapping[str, str],
    key: KeySource,
    positions: Mapping[str, Positions] | None = None,
) -> EnvMask | None:
    """The mask for environment values the configs used (None when they used none); the values
    are also registered for redaction of server messages. ``positions``: the fields set from
    the environment, per workspace (:func:`wscfg.engine.envmask.env_positions`)."""
    if not values:
        return None
    from ..api import redact
    from ..engine.envmask import MIN_MASKED, EnvMask

    for value in values.values():
        if len(value) >= MIN_MASKED:
            redact.register(value)
    return EnvMask(values, key(), positions)


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment values worth hiding in output made from live data (clone): long enough not
    to be common words, and not file paths."""
    from ..engine.envrefs import referable

    return {name: value for name, value in environ.items() if referable(name, value)}


def run_env_mask(run: PlanRun, key: KeySource) -> EnvMask | None:
    """The mask of the environment values the configs of ``run`` used, and of the live values
    of the fields they set (after a variable is rotated, its earlier value is live)."""
    from ..engine.envmask import env_positions

    values: dict[str, str] = {}
    positions: dict[str, Positions] = {}
    for slug, state in run.desired.items():
        if state.target_config is not None:
            values.update(state.target_config.env_values)
            positions[slug] = env_positions(state)
    mask = env_mask(values, key, positions)
    if mask is not None:
        mask.plans(run.plans)  # learns the live values to hide (EnvMask.add_live)
    return mask


def masked_drift(
    run: PlanRun, key: KeySource, known: set[str]
) -> tuple[DriftReport, EnvMask | None]:
    """The drift of ``run`` (``known``: fingerprints a baseline accepts), the fields set from
    the environment masked on both sides, and the mask of the rest of what is shown."""
    from ..engine.drift import DriftReport

    mask = run_env_mask(run, key)
    shown = mask.plans(run.plans) if mask else run.plans
    return DriftReport.of(shown, run.failures, known, run.violations), mask


def restore_rotated(
    mask: EnvMask | None, plans: list[Plan], live: Mapping[str, LiveState], key: KeySource
) -> list[Plan]:
    """``plans`` (of a saved plan) with each rotated identity its file masks put back from
    the live workspaces (:func:`wscfg.engine.envmask.resolve_live`); ``mask`` hides them in
    what apply prints."""
    if mask is not None:
        from ..engine.envmask import resolve_live

        mask.add_live(resolve_live(plans, live, key()))
    return plans


def masked(mask: EnvMask | None, text: str) -> str:
    return mask.text(text) if mask else text


PLAN_KEY_ENV = "WSCFG_PLAN_KEY"


def plan_key_from_env(environ: Mapping[str, str]) -> bytes | None:
    """``WSCFG_PLAN_KEY``, else ``WSCFG_TOKEN``, of ``environ`` (``None``: neither is set)."""
    from ..api.settings import TOKEN_ENV

    for name in (PLAN_KEY_ENV, TOKEN_ENV):
        value = environ.get(name, "").strip()
        if value:
            return value.encode()
    return None


def plan_key_here(environ: Mapping[str, str], root: Path) -> bytes | None:
    """The plan key if this environment has one without connecting or creating anything:
    ``WSCFG_PLAN_KEY``, ``WSCFG_TOKEN``, or the key of an embedded sandbox that exists in
    ``root`` (``wscfg show`` checks a seal with it)."""
    from ..connection import stored_embedded_key

    from_env = plan_key_from_env(environ)
    if from_env is not None:
        return from_env
    try:
        return stored_embedded_key(root).encode()
    except (OSError, ValueError, KeyError, TypeError):
        return None
