"""The functions of the public API (``wscfg.load``, ``wscfg.connect``, ``wscfg.render``…);
``wscfg/__init__.py`` re-exports them lazily."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .session import AsyncSession, Session, settings_for
from .settings import DEFAULT_PARALLEL, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from ..config.validate import ValidationReport
    from ..engine.state import DesiredState
    from .results import DriftResult, PlanSet


def load(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    target_patterns: Sequence[str] = (),
    shard: str | tuple[int, int] | None = None,
    config_roots: Sequence[str | os.PathLike[str]] = (),
) -> list[DesiredState]:
    """Load, validate and select the target configs of ``paths`` (YAML files, folders or
    globs; files without a ``workspace.slug`` are templates). ``target_patterns``: slug
    globs, the targets whose slug matches one (none: every target); ``shard``: ``"i/n"``,
    the i-th of n deterministic shares. Raises ConfigError with every diagnostic,
    OptionError when nothing is selected."""
    import gc

    from .selection import Selection, parse_shard

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    picked = parse_shard(shard)
    selection = Selection(
        [os.fspath(p) for p in paths],
        target_patterns,
        picked,
        None,
        [os.fspath(r) for r in config_roots],
    )
    try:
        return selection.load()
    finally:
        gc.unfreeze()  # Selection.load freezes what it built, for a run of the CLI


def validate(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    config_roots: Sequence[str | os.PathLike[str]] = (),
    environ: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Check config files offline, as ``wscfg validate`` does, and return what was found;
    never raises for bad input. ``report.ok``; ``report.diagnostics``: every problem, each
    at ``file:line:column``; ``report.warnings``: each unset ``${env:NAME}`` (a warning
    here, so a check works without secrets; :func:`load` and a plan need the variable);
    ``report.summary()``. ``wscfg.render(report, fmt)`` gives what ``wscfg validate
    --format fmt`` prints. ``environ``: where ``${env:NAME}`` values are read (default:
    ``os.environ``)."""
    from ..config.validate import check_paths

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return check_paths(
        [os.fspath(p) for p in paths],
        environ=environ,
        config_roots=[os.fspath(r) for r in config_roots],
        unset_env_is_warning=True,
        models=False,
    )


def connect(
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
) -> Session:
    """A session on the server at ``server`` (its base URL) with the API key ``token``, or
    on the embedded sandbox in ``root``/.wscfg (``embedded=True``; default root: the current
    folder). ``parallel``: workspaces handled at once; ``timeout``: seconds the whole
    session may spend talking to servers (0: no limit); ``rate_limit``: requests per second
    at most; ``plan_key``: the key that seals plan files (default: ``token``, else the
    embedded sandbox's key); ``environ``: where the values of ``${env:NAME}`` references
    of saved plans are read (default: ``os.environ``); ``cache``: a folder where each
    workspace's last read is kept with its ETag, so the next read asks ``If-None-Match`` and
    an unchanged workspace costs a ``304`` (docs/fleet.md, "The read cache"; the results are
    the same without it). Nothing is read from the environment otherwise:
    :func:`settings_from_env` does that, as the CLI does."""
    return Session(
        settings_for(
            server,
            token,
            embedded=embedded,
            parallel=parallel,
            timeout=timeout,
            rate_limit=rate_limit,
            root=root,
            plan_key=plan_key,
            environ=environ,
            cache=cache,
        )
    )


def connect_async(
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
) -> AsyncSession:
    """:func:`connect` for asyncio code: ``async with wscfg.connect_async(...) as ws``; each
    call is awaited on the caller's event loop (cancelling it cancels the run)."""
    session = connect(
        server,
        token,
        embedded=embedded,
        parallel=parallel,
        timeout=timeout,
        rate_limit=rate_limit,
        root=root,
        plan_key=plan_key,
        environ=environ,
        cache=cache,
    )
    return AsyncSession(session.settings)


def render(
    result: PlanSet | DriftResult | ValidationReport, fmt: str = "text", *, full: bool = False
) -> str:
    """A PlanSet or a DriftResult as the CLI prints it: ``text``, ``json`` (a plan: the
    saved-plan document, secrets sealed) or ``markdown`` (a PR comment, at most 65,536
    characters). ``full``: every change of a text plan (else 20 per kind). A
    ValidationReport (from :func:`validate`) as ``wscfg validate --format`` prints it on
    stdout: ``github``, ``sarif``, ``gitlab`` or ``json``."""
    from ..config.validate import ValidationReport
    from .keys import masked
    from .report import render_drift, render_planset
    from .results import DriftResult

    if isinstance(result, ValidationReport):
        from ..config.reports import ci_report
        from ..errors import OptionError

        if fmt not in ("github", "sarif", "gitlab", "json"):
            raise OptionError(
                "fmt", f"a validation report renders as github, sarif, gitlab or json, not {fmt!r}"
            )
        return ci_report(result, fmt)[0]
    if isinstance(result, DriftResult):
        return masked(result.mask, render_drift(result.report, fmt, server=result.server))
    return render_planset(result, fmt, full=full)


def save_plan(plans: PlanSet, path: str | os.PathLike[str]) -> None:
    """Write ``plans`` to the plan file ``path`` (atomically), secrets sealed under the
    session's plan key: ``wscfg apply PATH`` or :func:`read_plan` applies exactly it."""
    from . import planfile
    from .report import planset_sealer

    planfile.save(os.fspath(path), plans, planset_sealer(plans))


def read_plan(
    path: str | os.PathLike[str],
    *,
    key: str | bytes,
    environ: Mapping[str, str] | None = None,
) -> PlanSet:
    """The plan file ``path``, its seal checked under the plan key ``key`` (PlanFileError
    when it does not verify) and the environment values it masks put back from ``environ``
    (default ``os.environ``). ``Session.apply`` checks it against the live workspaces
    before it writes anything."""
    from .planfile import read_saved_plan
    from .run import planset_of_saved

    raw = key.encode() if isinstance(key, str) else key
    env = os.environ if environ is None else environ
    return planset_of_saved(read_saved_plan(os.fspath(path), raw), lambda: raw, env)
