"""Many targets at once: read, plan and apply workspaces concurrently, one failure isolated.

A fleet run shares one API client (one connection pool, one concurrency limit, one retry
budget). Each target is read with one snapshot request. A target that fails (revoked key,
missing workspace, server error) becomes a :class:`Failure` naming it; the others go on.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .engine.apply import ApplyReport, Outcome, SecretLookup, apply_plan
from .engine.origin import attribute, audit_query
from .engine.plan import Plan, make_plan
from .engine.protocols import ServerApi
from .engine.render import Failure
from .engine.shards import MAX_SHARDS
from .engine.state import DesiredState, LiveState
from .engine.violations import Violation, check_live
from .errors import ConflictError, WscfgError

T = TypeVar("T")
Progress = Callable[[str], None]


def select(
    slugs: Sequence[str], patterns: Sequence[str], shard: tuple[int, int] | None
) -> list[str]:
    """Targets picked by ``--target`` globs and a deterministic ``--shard i/n`` split."""
    out = [s for s in slugs if not patterns or any(fnmatch.fnmatchcase(s, p) for p in patterns)]
    if shard is not None:
        index, count = shard
        out = [s for s in out if zlib.crc32(s.encode()) % count == index - 1]
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` as ``(i, n)``: ASCII digits only (no sign, space or ``_``), at most
    :data:`~wscfg.engine.shards.MAX_SHARDS` shares; ValueError otherwise."""
    found = re.fullmatch(r"([0-9]{1,30})/([0-9]{1,30})", text)
    if found is None:
        raise ValueError(f"--shard takes i/n, e.g. 1/4 (got {text!r})")
    i, n = int(found.group(1)), int(found.group(2))
    if not (1 <= i <= n <= MAX_SHARDS):
        raise ValueError(f"--shard {text}: need 1 <= i <= n <= {MAX_SHARDS}")
    return i, n


@dataclass
class Discovery:
    """How config files and the workspaces the key reaches line up."""

    missing: list[str] = field(default_factory=list)  # configured, but no such workspace
    unconfigured: list[str] = field(default_factory=list)  # reachable, but no config file


async def discover(client: ServerApi, slugs: Sequence[str]) -> Discovery:
    existing = {w["slug"] for w in await client.list_workspaces()}
    wanted = set(slugs)
    return Discovery(sorted(wanted - existing), sorted(existing - wanted))


async def create_workspaces(
    client: ServerApi, targets: Sequence[DesiredState], *, parallel: int = 8
) -> tuple[list[str], list[Failure], list[str]]:
    """Create sub-accounts for targets that do not exist, each owned by its declared owner
    (else the platform's default owner), so the first plan does not replace the owner.

    One failed create does not stop the others: it becomes a :class:`Failure` naming it. A
    create answered 409 (the slug is taken) is read back: a workspace this key now reaches
    was created meanwhile by another run (an identical apply racing this one), which is what
    was asked for; one it does not reach is someone else's, and stays a Failure.
    Returns the slugs created, the failures, and the slugs created meanwhile by others."""

    async def one(t: DesiredState) -> str | tuple[str, str]:
        body = {"slug": t.slug, **t.items.get("workspace", {}).get("", {})}
        body.setdefault("name", t.slug)
        owner = t.first_owner()
        if owner:
            body["owner"] = owner
        try:
            await client.create_workspace(body)
        except ConflictError as exc:
            return (t.slug, exc.message)
        return t.slug

    results = await _bounded(targets, one, parallel, None, lambda t: t.slug)
    failures = [r for r in results if isinstance(r, Failure)]
    taken = [r for r in results if isinstance(r, tuple)]
    meanwhile: list[str] = []
    if taken:  # one read of what the key reaches, however many creates were refused
        reached = {w.get("slug") for w in await client.list_workspaces()}
        meanwhile = sorted(slug for slug, _ in taken if slug in reached)
        failures += [Failure(slug, message) for slug, message in taken if slug not in reached]
    return [r for r in results if isinstance(r, str)], failures, meanwhile


async def read_live(client: ServerApi, slug: str) -> LiveState:
    snapshot = await client.workspace(slug).snapshot()
    return LiveState.from_snapshot(slug, snapshot, owned=True)  # a fresh one, not kept


async def _bounded(
    items: Sequence[T],
    work: Callable[[T], Awaitable[Any]],
    parallel: int,
    on_done: Progress | None,
    name: Callable[[T], str],
) -> list[Any]:
    sem = asyncio.Semaphore(max(1, parallel))

    async def run(item: T) -> Any:
        async with sem:
            try:
                return await work(item)
            except WscfgError as exc:
                return Failure(name(item), exc.message, getattr(exc, "maybe_applied", False))
            finally:
                if on_done is not None:
                    on_done(name(item))

    return list(await asyncio.gather(*(run(i) for i in items)))


@dataclass
class PlanRun:
    plans: list[Plan] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    live: dict[str, LiveState] = field(default_factory=dict)
    desired: dict[str, DesiredState] = field(default_factory=dict)
    # a --shard run: the share, and the whole selection's size and config digest
    # (see :func:`wscfg.engine.shards.run_identity`); empty otherwise
    whole: dict[str, Any] = field(default_factory=dict)
    # policies broken by the live workspaces (reported, never planned: docs/policies.md)
    violations: list[Violation] = field(default_factory=list)


def prefetch(
    client: ServerApi, slugs: Sequence[str], parallel: int
) -> dict[str, asyncio.Task[dict[str, Any]]]:
    """Start reading snapshots now (bounded), to be claimed by :func:`plan_fleet` later.

    Used while configs are still loading: the reads wait on the server, the load on the CPU.
    A slug that turns out not to be a target is simply never claimed (see :func:`discard`)."""
    sem = asyncio.Semaphore(max(1, parallel))

    async def one(slug: str) -> dict[str, Any]:
        async with sem:
            snapshot: dict[str, Any] = await client.workspace(slug).snapshot()
            return snapshot

    return {s: asyncio.ensure_future(one(s)) for s in dict.fromkeys(slugs)}


async def discard(tasks: dict[str, asyncio.Task[dict[str, Any]]]) -> None:
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


async def plan_fleet(
    client: ServerApi,
    targets: Sequence[DesiredState],
    *,
    parallel: int = 8,
    on_done: Progress | None = None,
    prefetched: dict[str, asyncio.Task[dict[str, Any]]] | None = None,
) -> PlanRun:
    run = PlanRun(desired={t.slug: t for t in targets})
    early = prefetched if prefetched is not None else {}

    async def one(target: DesiredState) -> tuple[Plan, LiveState, list[Violation]]:
        task = early.pop(target.slug, None)
        if task is not None:
            live = LiveState.from_snapshot(target.slug, await task, owned=True)
        else:
            live = await read_live(client, target.slug)
        plan = make_plan(target, live)
        await explain(client, plan)
        policies = target.target_config.policies if target.target_config is not None else ()
        return plan, live, check_live(target.slug, policies, live)

    results = await _bounded(targets, one, parallel, on_done, lambda t: t.slug)
    for r in results:
        if isinstance(r, Failure):
            run.failures.append(r)
        else:
            plan, live, found = r
            run.plans.append(plan)
            run.live[plan.slug] = live
            run.violations.extend(found)
    return run


async def explain(client: ServerApi, plan: Plan) -> None:
    """Say where each difference of ``plan`` came from (config or drift, who, via, when):
    one filtered audit read, none when the plan is empty."""
    if plan.empty:
        return
    kinds, keys = audit_query(plan.changes)
    entries = await client.workspace(plan.slug).audit(kinds, keys)
    attribute(plan.changes, entries, await client.wscfg_keys())


async def refresh(
    client: ServerApi, slugs: Sequence[str], *, parallel: int = 8
) -> tuple[dict[str, LiveState], list[Failure]]:
    """Re-read the live state of saved-plan targets (one snapshot each)."""
    results = await _bounded(slugs, lambda s: read_live(client, s), parallel, None, lambda s: s)
    live = {r.slug: r for r in results if isinstance(r, LiveState)}
    return live, [r for r in results if isinstance(r, Failure)]


async def apply_fleet(
    client: ServerApi,
    plans: Sequence[Plan],
    secrets: Callable[[Plan], SecretLookup],
    *,
    parallel: int = 8,
    on_outcome: Callable[[str, Outcome], None] | None = None,
    on_done: Progress | None = None,
    on_secret: Callable[[str, str, str], None] | None = None,
) -> tuple[list[ApplyReport], list[Failure]]:
    """``on_secret(slug, key name, secret)`` receives each new API key secret as it arrives."""

    async def one(plan: Plan) -> ApplyReport:
        def hook(o: Outcome) -> None:
            if on_outcome is not None:
                on_outcome(plan.slug, o)

        def keep(name: str, secret: str) -> None:
            assert on_secret is not None
            on_secret(plan.slug, name, secret)

        return await apply_plan(
            plan,
            client.workspace(plan.slug),
            secrets(plan),
            on_outcome=hook,
            on_secret=keep if on_secret is not None else None,
        )

    todo = [p for p in plans if not p.empty]
    results = await _bounded(todo, one, parallel, on_done, lambda p: p.slug)
    return (
        [r for r in results if isinstance(r, ApplyReport)],
        [r for r in results if isinstance(r, Failure)],
    )
