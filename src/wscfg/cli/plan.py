"""`wscfg plan` and `wscfg apply`: compare config with live workspaces, then make them match."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import (
    apply_plans,
    confirm,
    desired_secrets,
    env_mask,
    finish,
    plan_key,
    plan_sealer,
    progress,
    question,
    render_plans,
    run_async,
    run_env_mask,
    server_options,
    timeout_option,
    unsafe_reasons,
)
from .options import config_root_option

FORMATS = ("text", "json", "markdown")


def common_options(fn: Any) -> Any:
    options = [
        server_options,
        timeout_option,
        config_root_option,
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="GLOB",
            help="Only workspaces whose slug matches (repeatable, globs allowed).",
        ),
        click.option("--shard", metavar="I/N", help="Only the I-th of N deterministic shares."),
        click.option(
            "--parallel", default=8, show_default=True, help="Workspaces handled at once."
        ),
        click.option(
            "--allow-mass-changes",
            is_flag=True,
            help="Allow deleting or updating more than 30% of a kind holding 10+ items.",
        ),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


@click.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Save the plan to apply later.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for terminals and CI logs; json, the saved-plan document; markdown for PR "
    "comments (always under GitHub's 65,535 characters).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (0 none, 1 error): for drift checks in CI.",
)
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    allow_mass_changes: bool,
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
) -> None:
    """Show what would change to make live workspaces match PATHS.

    PATHS are YAML files, directories or globs. Each file whose `workspace:` has a `slug` is a
    target; files without one are templates used through `extends`.

    \b
    Examples:
      wscfg plan examples/workspace.yaml
      wscfg plan examples/agency/ --format markdown --detailed-exitcode
      wscfg plan examples/workspace.yaml -o plan.json   # then: wscfg apply plan.json

    \b
    Exit codes: 0 no changes (or changes, without --detailed-exitcode),
    1 error (bad config, unreachable server, a workspace that could not be read),
    2 changes present (with --detailed-exitcode).
    """
    with handle_errors(debug_of(ctx)):
        run, server_name = _make_plans(
            paths, server, targets, shard, parallel, config_roots=config_roots
        )
        plans, failures = run.plans, run.failures
        sealer = plan_sealer(run) if (out or fmt == "json") and plans else None
        mask = run_env_mask(run)
        render_plans(plans, failures, fmt, server_name, sealer, mask)
        _warn_unsafe(plans, allow_mass_changes)
        if failures:
            if out:
                echo_err(f"Not saving {out}: {len(failures)} workspace(s) could not be planned.")
            sys.exit(1)
        if out:
            _save(out, plans, server_name, sealer, mask)
            echo_err(f"Saved the plan to {out}. Apply it with: wscfg apply {out}")
        if detailed_exitcode and any(not p.empty for p in plans):
            sys.exit(2)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a TTY).")
@click.option(
    "--create-missing",
    is_flag=True,
    help="Create configured workspaces that do not exist yet (agency key).",
)
@click.option(
    "--fleet-delete-share",
    default=0.25,
    show_default=True,
    metavar="SHARE",
    help="Refuse when more than this share of 4+ targets would delete items.",
)
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    allow_mass_changes: bool,
    auto_approve: bool,
    create_missing: bool,
    fleet_delete_share: float,
) -> None:
    """Make live workspaces match PATHS, or apply a saved PLANFILE exactly.

    Shows the plan and asks before changing anything. A saved plan (from `wscfg plan -o`) is
    checked first: if anything it touches changed since, nothing is written.

    \b
    Examples:
      wscfg apply examples/workspace.yaml            # plan, show, ask, apply
      wscfg apply plan.json --auto-approve           # exactly the reviewed plan, in CI
      wscfg apply clinics/ --create-missing          # a fleet, creating new sub-accounts

    \b
    Exit codes: 0 applied (or nothing to do), 1 error before any write,
    3 stopped part-way (some changes were made; run plan again to see what is left).
    """
    with handle_errors(debug_of(ctx)):
        from ..engine.apply import check_secrets
        from ..errors import UnsafePlanError
        from ..fleet import fleet_unsafe

        saved = _saved_plan(paths)
        if saved is not None:
            mask = saved[3]
            plans, failures, server_name, secrets = _checked_saved_plan(
                saved[:3], server, targets, shard, parallel
            )
        else:
            run, server_name = _make_plans(
                paths,
                server,
                targets,
                shard,
                parallel,
                create_missing=create_missing,
                auto_approve=auto_approve,
                config_roots=config_roots,
            )
            # A target that cannot be read is reported; the others go on.
            plans, failures, secrets = run.plans, run.failures, desired_secrets(run)
            mask = run_env_mask(run)
        reasons = [r for p in plans for r in unsafe_reasons(p, allow_mass_changes)]
        if not allow_mass_changes:
            reasons += fleet_unsafe(plans, fleet_delete_share)
        render_plans(plans, failures, "text", server_name, mask=mask)
        if reasons:
            raise UnsafePlanError(reasons)
        slugs = [p.slug for p in plans]
        if all(p.empty for p in plans):
            finish([], failures, slugs, mask)
            return
        for p in plans:
            check_secrets(p, secrets(p))
        confirm(auto_approve, question(plans))
        reports, apply_failures = _run(
            apply_plans(server, plans, secrets, parallel, mask), writing=True
        )
        finish(reports, failures + apply_failures, slugs, mask)


# --- helpers ---------------------------------------------------------------------------------


def _make_plans(
    paths: tuple[str, ...],
    server: str | None,
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    *,
    create_missing: bool = False,
    auto_approve: bool = False,
    config_roots: tuple[str, ...] = (),
) -> tuple[Any, str]:
    """Load and select the targets, read them and plan: (PlanRun, server name)."""
    from ..fleet import parse_shard

    try:
        shard_t = parse_shard(shard) if shard else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    selection = Selection(paths, targets, shard_t, shard, config_roots)
    preloaded = None
    if create_missing:
        preloaded = selection.load()
        if preloaded:
            _run(_create_missing(server, preloaded, parallel, auto_approve))
    return _run(_plan(server, selection, parallel, preloaded=preloaded))


class Selection:
    """The targets PATHS, --target and --shard pick."""

    def __init__(
        self,
        paths: tuple[str, ...],
        patterns: tuple[str, ...],
        shard: tuple[int, int] | None,
        shard_text: str | None,
        config_roots: tuple[str, ...] = (),
    ) -> None:
        self.paths, self.patterns, self.shard, self.shard_text = paths, patterns, shard, shard_text
        self.config_roots = config_roots

    @property
    def full(self) -> bool:
        return not self.patterns and self.shard is None

    def pick(self, slugs: list[str]) -> list[str]:
        from ..fleet import select

        return select(slugs, self.patterns, self.shard)

    def guesses(self) -> list[str]:
        from ..config.validate import guess_target_slugs

        return self.pick(guess_target_slugs(list(self.paths)))

    def load(self) -> list[Any]:
        """Load, validate and select (raises ConfigError / UsageError); may run in a thread."""
        from ..config.validate import load_targets
        from ..engine.state import desired_state

        loaded = load_targets(list(self.paths), config_roots=self.config_roots)
        states = [desired_state(d) for d in loaded]
        chosen = set(self.pick([s.slug for s in states]))
        states = [s for s in states if s.slug in chosen]
        if not states and self.shard is None:
            raise click.UsageError("no target workspace selected (check PATHS and --target)")
        return states


def _run(coro: Any, *, writing: bool = False) -> Any:
    return run_async(coro, writing=writing)


async def _plan(
    server: str | None, selection: Selection, parallel: int, *, preloaded: list[Any] | None
) -> tuple[Any, str]:
    """Read live state while the configs load (reads wait on the server, loading on the CPU),
    then plan every target."""
    from ..connect import connect, ensure_workspaces
    from ..fleet import PlanRun, discard, discover, plan_fleet, prefetch

    async with connect(server, parallel=parallel) as conn:
        early: dict[str, Any] = {}
        if preloaded is None:
            early = prefetch(conn.client, selection.guesses(), parallel)
        try:
            states = preloaded
            if states is None:
                states = await asyncio.to_thread(selection.load)
            if not states:
                echo_err(f"No workspace falls in shard {selection.shard_text}; nothing to do.")
                return PlanRun(), "(none)"
            if conn.embedded:
                echo_err(
                    f"Using the {conn.server}: no --server or WSCFG_SERVER set. "
                    "Set them to work on a real platform."
                )
                created = await ensure_workspaces(conn, states)
                # Read early before they existed: read again.
                await discard({s: early.pop(s) for s in created if s in early})
            else:
                found = await discover(conn.client, [s.slug for s in states])
                _report_discovery(found, selection.full)
            with progress(len(states), "Planning") as tick:
                run = await plan_fleet(
                    conn.client, states, parallel=parallel, on_done=tick, prefetched=early
                )
        finally:
            await discard(early)
        return run, conn.server


async def _create_missing(
    server: str | None, states: list[Any], parallel: int, auto_approve: bool
) -> None:
    """apply --create-missing: create configured workspaces that do not exist, after asking."""
    from ..connect import connect
    from ..fleet import create_workspaces, discover

    async with connect(server, parallel=parallel) as conn:
        if conn.embedded:
            return  # the embedded sandbox creates targets on first use anyway
        missing = (await discover(conn.client, [s.slug for s in states])).missing
        if not missing:
            return
        confirm(auto_approve, f"Create {len(missing)} missing workspace(s): {', '.join(missing)}?")
        await create_workspaces(conn.client, [s for s in states if s.slug in missing])
        echo_err(f"Created {len(missing)} workspace(s).")


def _report_discovery(found: Any, full_run: bool) -> None:
    def names(items: list[str]) -> str:
        more = f" and {len(items) - 10} more" if len(items) > 10 else ""
        return ", ".join(items[:10]) + more

    if found.unconfigured and full_run:
        n = len(found.unconfigured)
        echo_err(f"Note: {n} workspace(s) have no config file: {names(found.unconfigured)}")
    if found.missing:
        echo_err(
            f"{len(found.missing)} configured workspace(s) do not exist: {names(found.missing)}; "
            "`wscfg apply --create-missing` creates them"
        )


async def _refresh(server: str | None, slugs: list[str], parallel: int) -> Any:
    from ..connect import connect
    from ..fleet import refresh

    async with connect(server, parallel=parallel) as conn:
        live, failures = await refresh(conn.client, slugs, parallel=parallel)
        return live, failures, conn.server


def _checked_saved_plan(
    saved: tuple[list[Any], str, str | None],
    server: str | None,
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
) -> tuple[list[Any], list[Any], str, Any]:
    """A saved plan, refused unless its server and every item it touches are as planned."""
    from ..engine.apply import secrets_from_env
    from ..engine.plan import check_fresh
    from ..errors import PlanFileError

    plans, server_name, key_id = saved
    plans = _filter_plans(plans, targets, shard)
    live, failures, now_server = _run(_refresh(server, [p.slug for p in plans], parallel))
    if now_server != server_name:
        raise PlanFileError(
            f"the plan was made against {server_name}, not {now_server}; nothing was written"
        )
    _fail_on(failures)
    for p in plans:
        check_fresh(p, live[p.slug])
    lookup = secrets_from_env(dict(os.environ), plan_key(), key_id)
    return plans, [], server_name, lambda plan: lookup


def _warn_unsafe(plans: list[Any], allow: bool) -> None:
    for p in plans:
        for reason in unsafe_reasons(p, allow):
            echo_err(f"Warning: apply will refuse this plan: {reason}")


def _fail_on(failures: list[Any]) -> None:
    from ..errors import WscfgError

    if failures:
        lines = "\n  - ".join(f"{f.target}: {f.message}" for f in failures)
        raise WscfgError(
            f"could not read {len(failures)} workspace(s), nothing was written:\n  - {lines}"
        )


def _save(out: str, plans: list[Any], server: str, sealer: Any, mask: Any) -> None:
    from ..engine.plan import plans_to_document

    doc = plans_to_document(plans, server=server, sealer=sealer)
    if mask:
        doc = mask.data(doc)
    tmp = Path(out + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(out)


def _saved_plan(paths: tuple[str, ...]) -> tuple[list[Any], str, str | None, Any] | None:
    """The plan file's plans, server and plan key id, with environment values put back (and
    the mask that hides them again in what apply prints)."""
    from ..engine.plan import plans_from_document
    from ..errors import PlanFileError

    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    try:
        data = json.loads(Path(paths[0]).read_text())
    except OSError as exc:
        raise PlanFileError(f"cannot read {paths[0]}: {exc.strerror}") from None
    except ValueError:
        raise PlanFileError(f"{paths[0]} is not valid JSON") from None
    from ..engine.envmask import unmask

    used: dict[str, str] = {}
    data = unmask(data, os.environ, plan_key(), used)
    plans, server = plans_from_document(data)
    key_id = data.get("plan_key_id")
    return plans, server, key_id if isinstance(key_id, str) else None, env_mask(used)


def _filter_plans(plans: list[Any], targets: tuple[str, ...], shard: str | None) -> list[Any]:
    from ..fleet import parse_shard, select

    chosen = set(select([p.slug for p in plans], targets, parse_shard(shard) if shard else None))
    return [p for p in plans if p.slug in chosen]
