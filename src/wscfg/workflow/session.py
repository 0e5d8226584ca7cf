"""How a run reaches the workspaces: the server (or the embedded sandbox), the deadline, the
rate limit, the plan key; and the public session objects over them (:func:`wscfg.connect`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DeadlineError

if TYPE_CHECKING:
    from ..api.settings import ServerSettings
    from ..connection import Connection
    from ..engine.apply import Outcome
    from ..engine.safety import Allowances
    from ..engine.state import DesiredState
    from .results import ApplyResult, DriftResult, Notice, PlanSet

T = TypeVar("T")
DEFAULT_TIMEOUT = 300.0  # seconds a whole run may spend talking to servers
DEFAULT_PARALLEL = 8


@dataclass
class Settings:
    """Where and how a run connects. ``resolve`` says which server (``None``: the embedded
    sandbox in ``root``); it is called each time a connection opens, so a setup error comes
    when a run first needs the server. ``deadline``: when the whole run must be done (a
    :func:`time.monotonic` time; ``None``: no limit), ``timeout`` the seconds it was given.
    ``environ``: where secrets referenced by saved plans and configs are read."""

    resolve: Callable[[], ServerSettings | None]
    root: Path = field(default_factory=Path.cwd)
    parallel: int = DEFAULT_PARALLEL
    rate_limit: float | None = None
    timeout: float = 0
    deadline: float | None = None
    plan_key: bytes | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _key: bytes | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(
        cls,
        resolve: Callable[[], ServerSettings | None],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> Settings:
        """Settings whose deadline is ``timeout`` seconds from now (0: none)."""
        deadline = time.monotonic() + timeout if timeout else None
        return cls(resolve, timeout=timeout, deadline=deadline, **kwargs)

    def key(self) -> bytes:
        """The plan key: the one given, else the server's API key, else the embedded
        sandbox's key (created with the sandbox)."""
        if self.plan_key is not None:
            return self.plan_key
        if self._key is None:
            configured = self.resolve()
            if configured is not None:
                self._key = configured.token.encode()
            else:
                from ..connection import embedded_key

                self._key = embedded_key(self.root).encode()
        return self._key

    @contextlib.asynccontextmanager
    async def connection(self, parallel: int | None = None) -> AsyncIterator[Connection]:
        """A connection for one step of the run."""
        from ..connection import open_connection

        async with open_connection(
            self.resolve(),
            parallel=self.parallel if parallel is None else parallel,
            root=self.root,
            rate_limit=self.rate_limit,
        ) as conn:
            yield conn

    def run(self, coro: Coroutine[Any, Any, T], *, writing: bool = False) -> T:
        """Run one step of the run inside what is left of its deadline (DeadlineError when it
        passes; ``writing``: the step writes, so some changes may have been made)."""
        import asyncio

        deadline = self.deadline
        if deadline is None:
            return run_coroutine(coro)

        async def bounded() -> T:
            return await asyncio.wait_for(coro, max(deadline - time.monotonic(), 0.001))

        try:
            return run_coroutine(bounded())
        except TimeoutError:
            raise DeadlineError(self.timeout, partial=writing) from None


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, with the result handed back outside the task.

    On Python 3.11, ``asyncio.run`` ends by restoring the SIGINT handler and, on the way,
    formats the repr of its main task, result included (a CPython 3.11 quirk): for a plan of
    20,000 changes that repr took most of a second. The task here returns ``None``.
    """
    import asyncio

    box: list[T] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]


# --- the public sessions ---------------------------------------------------------------------


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
    return Settings.of(
        lambda: configured,
        timeout=timeout,
        root=Path(root) if root is not None else Path.cwd(),
        parallel=parallel,
        rate_limit=rate_limit,
        plan_key=key or None,
        environ=os.environ if environ is None else environ,
    )


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`wscfg.connect` as the command line reads them from the
    environment: ``WSCFG_SERVER`` with ``WSCFG_TOKEN``, else the embedded sandbox (refused,
    as by the CLI, when ``WSCFG_TOKEN`` is set or in a CI job: SetupError), and
    ``WSCFG_PLAN_KEY``. ``wscfg.connect(**wscfg.settings_from_env())``."""
    from ..connection import settings_from_env as resolve

    env = os.environ if environ is None else environ
    configured = resolve(None, env)
    out: dict[str, Any] = (
        {"embedded": True}
        if configured is None
        else {"server": configured.url, "token": configured.token}
    )
    plan_key = env.get("WSCFG_PLAN_KEY", "").strip()
    if plan_key:
        out["plan_key"] = plan_key
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

        events = run.Events(
            confirm=confirm,
            outcome=on_outcome,
            open_secrets=(lambda _plans, _targets: on_secret) if on_secret else None,
        )
        return run.apply(self.settings, plans, events)

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
    awaited. Each runs the session's run in a worker thread, so the caller's event loop
    goes on meanwhile."""

    def __init__(self, settings: Settings) -> None:
        self.sync = Session(settings)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def plan(self, configs: Sequence[DesiredState], **kwargs: Any) -> PlanSet:
        """:meth:`Session.plan`, awaited."""
        return await _in_thread(self.sync.plan, configs, **kwargs)

    async def apply(self, plans: PlanSet, **kwargs: Any) -> ApplyResult:
        """:meth:`Session.apply`, awaited."""
        return await _in_thread(self.sync.apply, plans, **kwargs)

    async def drift(self, configs: Sequence[DesiredState], **kwargs: Any) -> DriftResult:
        """:meth:`Session.drift`, awaited."""
        return await _in_thread(self.sync.drift, configs, **kwargs)

    async def export(self, slug: str) -> str:
        """:meth:`Session.export`, awaited."""
        return await _in_thread(self.sync.export, slug)

    async def read_plan(self, path: str | os.PathLike[str]) -> PlanSet:
        """:meth:`Session.read_plan`, awaited."""
        return await _in_thread(self.sync.read_plan, path)


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    import asyncio
    import functools

    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
