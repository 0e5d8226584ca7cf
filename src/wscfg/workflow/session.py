"""The public session objects (:func:`wscfg.connect`, :func:`wscfg.connect_async`) over the
run (:mod:`.run`) and its settings (:mod:`.settings`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .keys import PLAN_KEY_ENV
from .settings import DEFAULT_PARALLEL, DEFAULT_TIMEOUT, Settings, cache_from_env

if TYPE_CHECKING:
    from ..engine.apply import Outcome
    from ..engine.safety import Allowances
    from ..engine.state import DesiredState
    from .results import ApplyResult, DriftResult, Notice, PlanSet
    from .run import Events


def settings_for(
    server: str | None = None,
    token: str | None = None,
    *,
    embedded: bool = False,
    parallel: int = DEFAULT_PARALLEL,
    timeout: float = DEFAULT_TIMEOUT,
    rate_limit: float | None = None,
    root: str | os.PathLike[str] | None = None,
    plan_key: str | bytes | None = None,
    environ: Mapping[str, str] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Settings:
    """The Settings of :func:`wscfg.connect` (SetupError / OptionError when they cannot be)."""
    import math

    from ..api.settings import ServerSettings, validate_base_url, validate_token
    from ..errors import OptionError, SetupError

    if embedded and server:
        raise SetupError("give either server= or embedded=True, not both")
    configured: ServerSettings | None = None
    if server:
        if not token:
            raise SetupError(f"a server is given ({server}) but no token= (its API key)")
        validate_token(token)
        configured = ServerSettings(validate_base_url(server), token)
    elif not embedded:
        raise SetupError(
            "give server= and token=, or embedded=True for the embedded sandbox "
            "(wscfg.settings_from_env() reads them from the environment as the CLI does)"
        )
    if parallel < 1:
        raise OptionError("parallel", f"must be at least 1 (got {parallel})")
    if not math.isfinite(timeout) or timeout < 0:
        raise OptionError("timeout", "must be 0 (no limit) or more seconds")
    if rate_limit is not None and (not math.isfinite(rate_limit) or rate_limit <= 0):
        raise OptionError("rate_limit", "must be a positive number of requests per second")
    key = plan_key.encode() if isinstance(plan_key, str) else plan_key
    folder = None
    if cache is not None and os.fspath(cache) != "":
        from ..api.cache import check_folder

        folder = check_folder(cache)
    return Settings.of(
        lambda: configured,
        timeout=timeout,
        root=Path(root) if root is not None else Path.cwd(),
        parallel=parallel,
        rate_limit=rate_limit,
        plan_key=key or None,
        environ=os.environ if environ is None else environ,
        cache=folder,
    )


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`wscfg.connect` as the command line reads them from the
    environment: ``WSCFG_SERVER`` with ``WSCFG_TOKEN``, else the embedded sandbox (refused,
    as by the CLI, when ``WSCFG_TOKEN`` is set or in a CI job: SetupError),
    ``WSCFG_PLAN_KEY`` and ``WSCFG_CACHE`` (the read cache's folder).
    ``wscfg.connect(**wscfg.settings_from_env())``."""
    from ..connection import settings_from_env as resolve

    env = os.environ if environ is None else environ
    configured = resolve(None, env)
    out: dict[str, Any] = (
        {"embedded": True}
        if configured is None
        else {"server": configured.url, "token": configured.token}
    )
    plan_key = env.get(PLAN_KEY_ENV, "").strip()
    if plan_key:
        out["plan_key"] = plan_key
    cache = cache_from_env(env)
    if cache:
        out["cache"] = cache
    return out


class Session:
    """A connection to the workspaces (:func:`wscfg.connect`): plan, apply, drift, export.

    Each call opens the connections it needs and closes them before it returns; the session
    holds the settings (and the deadline, ``timeout`` seconds from :func:`wscfg.connect`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def plan(
        self,
        configs: Sequence[DesiredState],
        *,
        only: Sequence[str] = (),
        allow: Allowances | None = None,
        create_missing: bool = False,
        confirm: Callable[[str], bool] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
    ) -> PlanSet:
        """Plan ``configs`` (from :func:`wscfg.load`) against their live workspaces.
        ``only``: ``KIND`` or ``KIND:KEY`` selectors (a partial plan); ``allow``: what apply
        may do that it refuses by default; ``create_missing``: create the configured
        workspaces that do not exist first (after ``confirm``, when given)."""
        from . import run

        events = run.Events(notice=on_notice, confirm=confirm)
        return run.plan(
            self.settings,
            list(configs),
            allow=allow,
            only=only,
            create_missing=create_missing,
            events=events,
        )

    def apply(
        self,
        plans: PlanSet,
        *,
        confirm: Callable[[str], bool] | None = None,
        on_outcome: Callable[[str, Outcome], None] | None = None,
        on_secret: Callable[[str, str, str], None] | None = None,
    ) -> ApplyResult:
        """Apply ``plans`` (from :meth:`plan` or :func:`wscfg.read_plan`); a saved plan is
        checked against the live workspaces first. Raises before any write when apply
        would refuse the plan (UnsafePlanError) or a check fails; returns what was applied
        and what failed (``result.raise_for_errors()`` raises ApplyError). ``on_secret(slug,
        key name, secret)`` receives each new API key secret (``allow.new_secrets``)."""
        from . import run

        return run.apply(self.settings, plans, _apply_events(confirm, on_outcome, on_secret))

    def drift(
        self,
        configs: Sequence[DesiredState],
        *,
        only: Sequence[str] = (),
        baseline: Iterable[str] = (),
        on_notice: Callable[[Notice], None] | None = None,
    ) -> DriftResult:
        """Drift in the workspaces of ``configs``: live values someone other than wscfg
        wrote, with who, via what and when; ``baseline``: fingerprints of known drift."""
        from . import run

        return run.drift(
            self.settings, list(configs), only=only, known=set(baseline), on_notice=on_notice
        )

    def export(self, slug: str) -> str:
        """The live settings of workspace ``slug`` as a config (YAML); secrets never."""
        from . import run

        return self.settings.run(run.export(self.settings, slug))

    def read_plan(self, path: str | os.PathLike[str]) -> PlanSet:
        """The plan file ``path`` (its seal checked under this session's plan key)."""
        from . import run

        return run.read_saved(os.fspath(path), self.settings)


class AsyncSession:
    """:class:`Session` for asyncio code (:func:`wscfg.connect_async`): the same calls,
    awaited on the caller's event loop (loading configs goes to a worker thread). Cancelling
    the awaiting task (``asyncio.wait_for(ws.apply(plans), 10)``) cancels the run: no request
    is sent after the cancellation returns (one sent already may still land)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def plan(
        self,
        configs: Sequence[DesiredState],
        *,
        only: Sequence[str] = (),
        allow: Allowances | None = None,
        create_missing: bool = False,
        confirm: Callable[[str], bool] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
    ) -> PlanSet:
        """:meth:`Session.plan`, awaited."""
        from . import run

        return await run.plan_async(
            self.settings,
            list(configs),
            allow=allow,
            only=only,
            create_missing=create_missing,
            events=run.Events(notice=on_notice, confirm=confirm),
        )

    async def apply(
        self,
        plans: PlanSet,
        *,
        confirm: Callable[[str], bool] | None = None,
        on_outcome: Callable[[str, Outcome], None] | None = None,
        on_secret: Callable[[str, str, str], None] | None = None,
    ) -> ApplyResult:
        """:meth:`Session.apply`, awaited."""
        from . import run

        return await run.apply_async(
            self.settings, plans, _apply_events(confirm, on_outcome, on_secret)
        )

    async def drift(
        self,
        configs: Sequence[DesiredState],
        *,
        only: Sequence[str] = (),
        baseline: Iterable[str] = (),
        on_notice: Callable[[Notice], None] | None = None,
    ) -> DriftResult:
        """:meth:`Session.drift`, awaited."""
        from . import run

        return await run.drift_async(
            self.settings, list(configs), only=only, known=set(baseline), on_notice=on_notice
        )

    async def export(self, slug: str) -> str:
        """:meth:`Session.export`, awaited."""
        from . import run

        return await self.settings.step(run.export(self.settings, slug))

    async def read_plan(self, path: str | os.PathLike[str]) -> PlanSet:
        """:meth:`Session.read_plan`, awaited (the file is read in a worker thread)."""
        import asyncio

        from . import run

        return await asyncio.to_thread(run.read_saved, os.fspath(path), self.settings)


def _apply_events(
    confirm: Callable[[str], bool] | None,
    on_outcome: Callable[[str, Outcome], None] | None,
    on_secret: Callable[[str, str, str], None] | None,
) -> Events:
    from .run import Events

    return Events(
        confirm=confirm,
        outcome=on_outcome,
        open_secrets=(lambda _plans, _targets: on_secret) if on_secret else None,
    )
