"""THE run: load → connect → read → plan → refusals → seal → mask → render or save → apply →
report, top-down.

:func:`plan` makes a :class:`~.results.PlanSet` from config (loading the configs in a thread
while the live workspaces are read); :func:`read_saved` reads one back from a plan file and
:func:`check_saved` checks it against the live workspaces; :func:`apply` applies a PlanSet
and returns an :class:`~.results.ApplyResult`. What the command line prints along the way
comes back through :class:`Events`; nothing here prints, asks or exits.

The run is async underneath: :func:`plan_async`, :func:`apply_async`, :func:`drift_async`
(what :class:`wscfg.AsyncSession` awaits on the caller's event loop, so cancelling the caller
cancels the run); :func:`plan`, :func:`apply`, :func:`drift` run them to completion on a loop
of their own. Each step that talks to a server runs inside what is left of the run's deadline
(:meth:`Settings.step`) on a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ApplyCancelled, ApplyError, WscfgError
from .keys import desired_secrets, masked_drift, restore_rotated, run_env_mask
from .results import ApplyResult, DriftResult, Notice, PlanSet, embedded_notice, question
from .selection import Selection, check_only, filter_plans, narrow, parse_only
from .settings import run_coroutine

if TYPE_CHECKING:
    from ..connection import Connection
    from ..engine.apply import ApplyReport, Outcome, SecretLookup
    from ..engine.plan import Plan
    from ..engine.render import Failure
    from ..engine.safety import Allowances
    from ..engine.state import DesiredState, LiveState
    from ..fleet import Discovery, PlanRun
    from .planfile import SavedPlan
    from .settings import Settings

Progress = Callable[[int, str], contextlib.AbstractContextManager[Callable[[str], None] | None]]


@dataclass
class Events:
    """What a run tells and asks its caller (each optional).

    ``notice(Notice)``: something worth saying (the CLI prints it on stderr).
    ``confirm(question) -> bool``: asked before a write (creating workspaces, applying);
    anything but True cancels (:class:`~wscfg.errors.ApplyCancelled`). None: never asked.
    ``outcome(slug, Outcome)``: each change as apply makes it.
    ``progress(total, label)``: a context manager yielding a tick per workspace done (or None).
    ``secret(slug, key name, secret)``: each new API key secret as it arrives (the only place
    it goes); ``open_secrets(plans, targets)`` is asked for that hook before apply asks to go
    ahead, when a plan issues a secret.
    """

    notice: Callable[[Notice], None] | None = None
    confirm: Callable[[str], bool] | None = None
    outcome: Callable[[str, Outcome], None] | None = None
    progress: Progress | None = None
    open_secrets: Callable[[list[Plan], int], Callable[[str, str, str], None] | None] | None = None

    def say(self, notice: Notice) -> None:
        if self.notice is not None:
            self.notice(notice)

    def ask(self, text: str) -> None:
        if self.confirm is not None and self.confirm(text) is not True:
            raise ApplyCancelled(text)

    @contextlib.contextmanager
    def ticking(self, total: int, label: str) -> Iterator[Callable[[str], None] | None]:
        if self.progress is None:
            yield None
            return
        with self.progress(total, label) as tick:
            yield tick


LOAD_SWITCH_INTERVAL = 0.0002  # seconds, while the configs load in a thread beside the reads


# --- plan ------------------------------------------------------------------------------------


def plan(
    settings: Settings,
    selection: Selection | Sequence[DesiredState],
    *,
    allow: Allowances | None = None,
    only: Sequence[str] = (),
    create_missing: bool = False,
    events: Events | None = None,
) -> PlanSet:
    """:func:`plan_async` on an event loop of its own, run to completion."""
    return run_coroutine(
        plan_async(
            settings,
            selection,
            allow=allow,
            only=only,
            create_missing=create_missing,
            events=events,
        )
    )


async def plan_async(
    settings: Settings,
    selection: Selection | Sequence[DesiredState],
    *,
    allow: Allowances | None = None,
    only: Sequence[str] = (),
    create_missing: bool = False,
    events: Events | None = None,
) -> PlanSet:
    """Plan the targets of ``selection`` (or configs loaded already): read each live
    workspace, compare, say where each difference came from, check the live workspaces'
    policies; with ``only``, keep the items it selects. ``create_missing``: first create the
    configured workspaces that do not exist (after ``events.confirm``)."""
    from ..engine.safety import Allowances

    events = events or Events()
    parse_only(only)
    found = await plan_targets_async(settings, selection, create_missing, events)
    run, server, (created, uncertain) = found
    ps = PlanSet(
        run.plans,
        run.failures,
        server,
        allow if allow is not None else Allowances(),
        tuple(only),
        run.violations,
        run.desired,
        run.live,
        part_identity(run, "plan"),
        secrets=desired_secrets(run),
        created=created,
        uncertain=uncertain,
        key=settings.key,
    )
    if only:
        check_only(only, run.desired, run.live)
        narrow(ps.plans, only, run.live)
    ps.mask = run_env_mask(run, settings.key)
    return ps


def plan_targets(
    settings: Settings,
    selection: Selection | Sequence[DesiredState],
    create_missing: bool = False,
    events: Events | None = None,
) -> tuple[PlanRun, str, tuple[list[str], list[str]]]:
    """:func:`plan_targets_async` on an event loop of its own, run to completion."""
    return run_coroutine(plan_targets_async(settings, selection, create_missing, events))


async def plan_targets_async(
    settings: Settings,
    selection: Selection | Sequence[DesiredState],
    create_missing: bool = False,
    events: Events | None = None,
) -> tuple[PlanRun, str, tuple[list[str], list[str]]]:
    """Load and select the targets, create missing ones (``create_missing``), read them and
    plan: (the PlanRun, the server's name, (the workspaces created on the way, those whose
    create may have landed unheard)). drift and adopt read what they need from it."""
    events = events or Events()
    if not isinstance(selection, Selection):
        selection = _Loaded(list(selection))
    if selection.shard is not None:  # parts of a sharded run carry a digest of the selection
        selection.digest_key = settings.key()
    preloaded = None
    created: list[str] = []
    not_created: list[Failure] = []
    if create_missing:
        preloaded = await asyncio.to_thread(selection.load)  # CPU: off the event loop
        if preloaded:
            try:
                step = _create_missing(settings, preloaded, events)
                created, not_created = await settings.step(step)
            except BaseException:
                gc.unfreeze()  # frozen by selection.load; _read_and_plan will not run
                raise
            failed = {f.target for f in not_created}
            preloaded = [s for s in preloaded if s.slug not in failed]
    uncertain = [f.target for f in not_created if f.maybe_applied]
    with after_writes(created, uncertain):
        run, server_name = await settings.step(
            _read_and_plan(settings, selection, events, preloaded=preloaded)
        )
    run.failures.extend(not_created)
    run.whole = selection.whole
    return run, server_name, (created, uncertain)


class _Loaded(Selection):
    """Configs the caller loaded already (:func:`wscfg.load`): every one is a target."""

    def __init__(self, states: list[DesiredState]) -> None:
        super().__init__(())
        self.states = states

    def guesses(self) -> list[str]:
        return [s.slug for s in self.states]

    def load(self) -> list[DesiredState]:
        if not self.states:
            from ..errors import OptionError
            from .selection import NO_TARGET

            raise OptionError("target_patterns", NO_TARGET)
        # As Selection.load: the configs live until the run ends (which unfreezes them), and
        # a collection while the snapshots are decoded and diffed would walk all of them.
        gc.freeze()
        return list(self.states)


async def _read_and_plan(
    settings: Settings,
    selection: Selection,
    events: Events,
    *,
    preloaded: list[DesiredState] | None,
) -> tuple[PlanRun, str]:
    """Read live state while the configs load (reads wait on the server, loading on the CPU),
    then plan every target."""
    from ..connection import ensure_workspaces
    from ..fleet import PlanRun, discard, discover, plan_fleet, prefetch

    parallel = settings.parallel
    async with settings.connection() as conn:
        early: dict[str, Any] = {}
        if preloaded is None:
            early = prefetch(conn.client, selection.guesses(), parallel)
        try:
            states = preloaded
            if states is None:
                # The load holds the GIL; by default the loop, back from each system call
                # of the reads, would wait for it up to 5 ms (and the reads crawl).
                was = sys.getswitchinterval()
                sys.setswitchinterval(LOAD_SWITCH_INTERVAL)
                try:
                    states = await asyncio.to_thread(selection.load)
                finally:
                    sys.setswitchinterval(was)
            if not states:
                shard = selection.shard_text
                if shard:  # else every target's create failed, and each failure says so
                    text = f"No workspace falls in shard {shard}; nothing to do."
                    events.say(Notice("empty-shard", text, detail=shard))
                return PlanRun(), conn.server
            if conn.embedded:
                events.say(embedded_notice(conn.server))
                created = await ensure_workspaces(conn, states)
                # Read early before they existed: read again.
                await discard({s: early.pop(s) for s in created if s in early})
            else:
                found = await discover(conn.client, [s.slug for s in states])
                _report_discovery(found, selection.full, events)
            with events.ticking(len(states), "Planning") as tick:
                run = await plan_fleet(
                    conn.client, states, parallel=parallel, on_done=tick, prefetched=early
                )
        finally:
            gc.unfreeze()  # frozen by Selection.load
            await discard(early)
        return run, conn.server


async def _create_missing(
    settings: Settings, states: list[DesiredState], events: Events
) -> tuple[list[str], list[Failure]]:
    """Create configured workspaces that do not exist, after asking. Returns the slugs
    created and a Failure for each that could not be."""
    from ..fleet import create_workspaces, discover
    from .results import creation_notices

    async with settings.connection() as conn:
        if conn.embedded:
            return [], []  # the embedded sandbox creates targets on first use anyway
        missing = (await discover(conn.client, [s.slug for s in states])).missing
        if not missing:
            return [], []
        events.ask(f"Create {len(missing)} missing workspace(s): {', '.join(missing)}?")
        created, failures, meanwhile = await create_workspaces(
            conn.client, [s for s in states if s.slug in missing], parallel=settings.parallel
        )
        for notice in creation_notices(created, failures, meanwhile):
            events.say(notice)
        return created, failures


def _report_discovery(found: Discovery, full_run: bool, events: Events) -> None:
    from .results import discovery_notices

    for notice in discovery_notices(found.unconfigured if full_run else [], found.missing):
        events.say(notice)


def part_identity(run: PlanRun, command: str) -> dict[str, Any] | None:
    """The ``"run"`` record of a part of a sharded run; None without a shard."""
    from ..engine.shards import part_record

    return part_record(command, run.whole) if run.whole else None


@contextlib.contextmanager
def after_writes(created: list[str], uncertain: Sequence[str] = ()) -> Iterator[None]:
    """Once workspaces were created (or may have been: a create that failed unheard), no later
    error may say "nothing was written": an ApplyError (partial) that says what was, with the
    error it replaces as ``replaced`` and what it adds as ``written_note``."""

    def names(slugs: Sequence[str]) -> str:
        return ", ".join(slugs[:10]) + (", …" if len(slugs) > 10 else "")

    if not created and not uncertain:
        yield
        return
    try:
        yield
    except WscfgError as exc:
        if exc.exit_code == 3 or isinstance(exc, ApplyCancelled):
            raise
        said = []
        if created:
            said.append(f"{len(created)} workspace(s) were created before this ({names(created)})")
        if uncertain:
            said.append(f"creating {names(uncertain)} may have succeeded unheard")
        note = "; ".join(said)
        # "nothing was written" is no longer true: say what was
        first = "apply stopped part-way" if isinstance(exc, ApplyError) else exc.message
        err = ApplyError(f"{first}\n{note}; run `wscfg plan` to see what is left", partial=True)
        err.replaced, err.written_note = exc, note  # type: ignore[attr-defined]
        raise err from None


# --- drift and export ------------------------------------------------------------------------


def drift(
    settings: Settings,
    configs: Sequence[DesiredState],
    *,
    only: Sequence[str] = (),
    known: set[str] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
) -> DriftResult:
    """:func:`drift_async` on an event loop of its own, run to completion."""
    return run_coroutine(
        drift_async(settings, configs, only=only, known=known, on_notice=on_notice)
    )


async def drift_async(
    settings: Settings,
    configs: Sequence[DesiredState],
    *,
    only: Sequence[str] = (),
    known: set[str] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
) -> DriftResult:
    """Drift in the live workspaces of ``configs`` (``known``: fingerprints of drift
    accepted in a baseline); ``only`` narrows it to the items it selects."""
    parse_only(only)
    run, server, _ = await plan_targets_async(settings, configs, events=Events(notice=on_notice))
    if only:
        check_only(only, run.desired, run.live)
        narrow(run.plans, only)
    report, mask = masked_drift(run, settings.key, known or set())
    return DriftResult(report, server, mask)


async def export(settings: Settings, slug: str) -> str:
    """The live settings of workspace ``slug`` as a config (YAML), environment values it
    holds written as references to them; secrets never."""
    from .export import export_one

    async with settings.connection() as conn:
        return await export_one(conn.client, conn.server, slug, environ=settings.environ)


# --- a saved plan ----------------------------------------------------------------------------


def read_saved(path: str, settings: Settings) -> PlanSet:
    """The plan file ``path`` as a PlanSet, its seal checked under the plan key and its
    environment values put back from ``settings.environ``; :func:`check_saved` (which
    :func:`apply` runs) checks it against the live workspaces."""
    from .planfile import read_saved_plan

    return saved_planset(read_saved_plan(path, settings.key()), settings)


def saved_planset(saved: SavedPlan, settings: Settings) -> PlanSet:
    """A plan file read back (:func:`~.planfile.read_saved_plan`) as a PlanSet."""
    return planset_of_saved(saved, settings.key, settings.environ)


def planset_of_saved(
    saved: SavedPlan, key: Callable[[], bytes], environ: Mapping[str, str]
) -> PlanSet:
    """A plan file read back as a PlanSet: ``key`` gives the plan key that sealed it,
    ``environ`` the values of the ``${env:…}`` references it masks."""
    from .planfile import saved_violations

    plans, mask = saved.with_env(key, environ)
    return PlanSet(
        plans,
        [],
        saved.server,
        saved.allowances,
        saved.only,
        saved_violations(saved.document),
        mask=mask,
        saved=True,
        key_id=saved.key_id,
        key=key,
    )


def check_saved(
    settings: Settings,
    ps: PlanSet,
    targets: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
) -> PlanSet:
    """:func:`check_saved_async` on an event loop of its own, run to completion."""
    return run_coroutine(check_saved_async(settings, ps, targets, shard))


async def check_saved_async(
    settings: Settings,
    ps: PlanSet,
    targets: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
) -> PlanSet:
    """A saved plan (narrowed to ``targets``/``shard``), refused unless its server and every
    item it touches are as planned; its secrets then come from ``settings.environ``."""
    from ..engine.apikeys import key_checks
    from ..engine.apply import secrets_from_env
    from ..engine.plan import check_fresh
    from ..errors import PlanFileError

    plans = ps.plans
    if ps.only:  # a partial plan applies only its selection, whatever else the file holds
        narrow(plans, ps.only)
    plans = filter_plans(plans, targets, shard)
    live, failures, now_server = await settings.step(_refresh(settings, plans))
    if now_server != ps.server:
        raise PlanFileError(
            f"the plan was made against {ps.server}, not {now_server}; nothing was written"
        )
    fail_on(failures)
    for p in restore_rotated(ps.mask, plans, live, settings.key):
        check_fresh(p, live[p.slug])
        # the key running apply may not be the one that made the plan: check it again
        p.failed_checks += [
            c for c in key_checks(p.changes, live[p.slug]) if c not in p.failed_checks
        ]
    lookup = secrets_from_env(dict(settings.environ), settings.key(), ps.key_id)
    slugs = {p.slug for p in plans}
    return replace(
        ps,
        plans=plans,
        failures=[],
        violations=[v for v in ps.violations if v.workspace in slugs],
        secrets=_constant(lookup),
        saved=False,
    )


def _constant(lookup: SecretLookup) -> Callable[[Plan], SecretLookup]:
    return lambda plan: lookup


async def _refresh(
    settings: Settings, plans: list[Plan]
) -> tuple[dict[str, LiveState], list[Failure], str]:
    from ..fleet import refresh

    async with settings.connection() as conn:
        live, failures = await refresh(
            conn.client, [p.slug for p in plans], parallel=settings.parallel
        )
        return live, failures, conn.server


def fail_on(failures: Sequence[Failure]) -> None:
    """Refuse to go on when workspaces could not be read (before anything was written)."""
    if failures:
        lines = "\n  - ".join(f"{f.target}: {f.message}" for f in failures)
        raise WscfgError(
            f"could not read {len(failures)} workspace(s), nothing was written:\n  - {lines}"
        )


# --- apply -----------------------------------------------------------------------------------


def apply(settings: Settings, ps: PlanSet, events: Events | None = None) -> ApplyResult:
    """:func:`apply_async` on an event loop of its own, run to completion."""
    return run_coroutine(apply_async(settings, ps, events))


async def apply_async(settings: Settings, ps: PlanSet, events: Events | None = None) -> ApplyResult:
    """Apply the plans of ``ps``: refuse what its allowances do not allow (or, with
    ``skip_unsafe``, leave those workspaces out), check every secret is at hand, ask
    (``events.confirm``), write, and report what was applied and what failed. A saved plan
    is checked against the live workspaces first. Writes nothing when a check fails."""
    events = events or Events()
    if ps.saved:
        ps = await check_saved_async(settings, ps)
    with after_writes(ps.created, ps.uncertain):
        return await _apply(settings, ps, events)


async def _apply(settings: Settings, ps: PlanSet, events: Events) -> ApplyResult:
    from ..engine.apply import check_secrets
    from ..engine.safety import refused_targets
    from ..errors import UnsafePlanError

    plans, failures, allow = ps.plans, ps.failures, ps.allow
    found = ps.refusals()
    targets = len(plans) + len(failures)  # before skip_unsafe leaves any out
    skipped: list[str] = []
    if found:
        if not allow.skip_unsafe:
            raise UnsafePlanError([r.line() for r in found])
        unsafe = refused_targets(found)
        skipped = sorted(p.slug for p in plans if p.slug in unsafe)
        plans = [p for p in plans if p.slug not in unsafe]
    slugs = [p.slug for p in plans]
    if all(p.empty for p in plans):
        return ApplyResult([], list(failures), slugs, skipped)
    secrets = ps.secrets or _no_secrets
    for p in plans:
        check_secrets(p, secrets(p))
    on_secret = events.open_secrets(plans, targets) if events.open_secrets else None
    events.ask(question(plans))
    reports, apply_failures = await settings.step(
        _write(settings, plans, secrets, events, on_secret), writing=True
    )
    return ApplyResult(reports, [*failures, *apply_failures], slugs, skipped)


def _no_secrets(plan: Plan) -> SecretLookup:
    raise WscfgError(f"no secret values for the plan of {plan.slug}")


async def _write(
    settings: Settings,
    plans: list[Plan],
    secrets: Callable[[Plan], SecretLookup],
    events: Events,
    on_secret: Callable[[str, str, str], None] | None,
) -> tuple[list[ApplyReport], list[Failure]]:
    from ..fleet import apply_fleet

    async with settings.connection() as conn:
        if any(not p.empty for p in plans):
            await check_can_write(conn)
        return await apply_fleet(
            conn.client,
            plans,
            secrets,
            parallel=settings.parallel,
            on_outcome=events.outcome,
            on_secret=on_secret,
        )


WRITE_SCOPE = "settings:write"


async def check_can_write(conn: Connection) -> None:
    """Once, before the first write: refuse a key that cannot write, instead of collecting a
    403 for every change."""
    key = await conn.client.describe_key()
    if key is None:
        return  # a server that does not describe keys: its 403s will say it
    scopes = key.get("scopes")
    if isinstance(scopes, list) and WRITE_SCOPE not in scopes:
        shown = ", ".join(str(s) for s in scopes) or "none"
        raise WscfgError(
            f"the API key cannot change settings (its scopes: {shown}); apply needs a key with "
            f"{WRITE_SCOPE}. Nothing was written."
        )
