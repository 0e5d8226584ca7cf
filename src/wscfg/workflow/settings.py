"""How a run reaches the workspaces: the server (or the embedded sandbox), the deadline, the
rate limit, the plan key."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DeadlineError

if TYPE_CHECKING:
    from ..api.pacing import Pacer
    from ..api.settings import ServerSettings
    from ..connection import Connection

T = TypeVar("T")
DEFAULT_TIMEOUT = 300.0  # seconds a whole run may spend talking to servers
DEFAULT_PARALLEL = 8
CACHE_ENV = "WSCFG_CACHE"  # the read cache's folder (wscfg.settings_from_env, the CLI)


@dataclass
class Settings:
    """Where and how a run connects. ``resolve`` says which server (``None``: the embedded
    sandbox in ``root``); it is called each time a connection opens, so a setup error comes
    when a run first needs the server. ``deadline``: when the whole run must be done (a
    :func:`time.monotonic` time; ``None``: no limit), ``timeout`` the seconds it was given.
    ``environ``: where secrets referenced by saved plans and configs are read. Every
    connection of the run shares one request budget per server and key (``_pacers``).
    ``cache``: the read cache's folder (:mod:`wscfg.api.cache`; ``None``: every read in
    full)."""

    resolve: Callable[[], ServerSettings | None]
    root: Path = field(default_factory=Path.cwd)
    parallel: int = DEFAULT_PARALLEL
    rate_limit: float | None = None
    timeout: float = 0
    deadline: float | None = None
    plan_key: bytes | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    cache: Path | None = None
    _key: bytes | None = field(default=None, init=False, repr=False)
    _pacers: dict[str, Pacer] = field(default_factory=dict, init=False, repr=False)

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

    @classmethod
    def from_env(
        cls, server: str | None, parallel: int = DEFAULT_PARALLEL, **kwargs: Any
    ) -> Settings:
        """Settings of the server the command line means: ``server`` (:data:`FORCE_EMBEDDED
        <wscfg.connection.FORCE_EMBEDDED>` for the embedded sandbox), else ``$WSCFG_SERVER``
        with ``$WSCFG_TOKEN``; the plan key ``$WSCFG_PLAN_KEY``, else ``$WSCFG_TOKEN``; the read
        cache's folder ``cache``, else ``$WSCFG_CACHE`` (none: every read in full)."""
        from ..connection import settings_from_env
        from .keys import plan_key_from_env

        key = plan_key_from_env(os.environ)
        cache = kwargs.pop("cache", None) or cache_from_env(os.environ)
        if cache:  # the read cache's folder: made on first use, never a file
            from ..api.cache import check_folder

            kwargs["cache"] = check_folder(cache)
        return cls(lambda: settings_from_env(server), parallel=parallel, plan_key=key, **kwargs)

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
            cache=self.cache,
            pacers=self._pacers,
        ) as conn:
            yield conn

    async def step(self, coro: Coroutine[Any, Any, T], *, writing: bool = False) -> T:
        """Await one step of the run on the running event loop, inside what is left of its
        deadline (DeadlineError when it passes; ``writing``: the step writes, so some changes
        may have been made). Cancelling the awaiting task cancels the step."""
        import asyncio

        deadline = self.deadline
        if deadline is None:
            return await coro
        try:
            return await asyncio.wait_for(coro, max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise DeadlineError(self.timeout, partial=writing) from None

    def run(self, coro: Coroutine[Any, Any, T], *, writing: bool = False) -> T:
        """:meth:`step` on an event loop of its own, run to completion."""
        return run_coroutine(self.step(coro, writing=writing))


def cache_from_env(environ: Mapping[str, str]) -> str | None:
    """The read cache's folder ``$WSCFG_CACHE`` of ``environ`` (``None``: unset or blank)."""
    return environ.get(CACHE_ENV, "").strip() or None


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
