"""`wscfg plan` and `wscfg apply`: compare config with live workspaces, then make them match."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import (
    after_writes,
    apply_plans,
    confirm,
    current_rate_limit,
    desired_secrets,
    finish,
    parallel_option,
    plan_key,
    plan_sealer,
    progress,
    question,
    rate_limit_option,
    render_plans,
    run_async,
    run_env_mask,
    server_options,
    timeout_option,
)
from .options import (
    allow_mass_changes_option,
    auto_approve_option,
    check_only,
    config_root_option,
    fleet_delete_share_option,
    narrow,
    only_option,
    parse_only,
    partial_note,
    shard_option,
    skip_unsafe_option,
    target_option,
)
from .saved import SavedPlan, read_saved_plan, saved_violations
from .secretsfile import force_option, new_secrets_option, secrets_file

FORMATS = ("text", "json", "markdown")
ALLOWANCE_FLAGS = {
    "allow_mass_changes": "--allow-mass-changes",
    "fleet_delete_share": "--fleet-delete-share",
    "skip_unsafe": "--skip-unsafe",
}


def _decorate(fn: Any, options: list[Any]) -> Any:
    for opt in reversed(options):
        fn = opt(fn)
    return fn


WORKSPACE_OPTIONS = [
    server_options,
    timeout_option,
    rate_limit_option,
    config_root_option,
    target_option,
    shard_option,
    parallel_option,
]


def workspace_options(fn: Any) -> Any:
    """The server and which workspaces to read: shared by plan, apply and drift."""
    return _decorate(fn, WORKSPACE_OPTIONS)


def common_options(fn: Any) -> Any:
    """plan and apply: :func:`workspace_options`, --only and the allowances."""
    options = [
        *WORKSPACE_OPTIONS,
        only_option,
        allow_mass_changes_option,
        fleet_delete_share_option,
        skip_unsafe_option,
        new_secrets_option,
        force_option,
    ]
    return _decorate(fn, options)


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
    "comments (always under GitHub's 65,535 characters; also appended to "
    "$GITHUB_STEP_SUMMARY when that is set).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (0 none, 1 error): for drift checks in CI.",
)
@click.option("--full", is_flag=True, help="List every change (text lists 20 per kind).")
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    only: tuple[str, ...],
    allow_mass_changes: bool,
    fleet_delete_share: float,
    skip_unsafe: bool,
    new_secrets_to: str | None,
    force: bool,
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    full: bool,
) -> None:
    """Show what would change to make live workspaces match PATHS.

    PATHS are YAML files, directories or globs. Each file whose `workspace:` has a `slug` is a
    target; files without one are templates used through `extends`.

    Every difference says where it came from, from the platform's audit log (one read per
    workspace with differences): a change with no note comes from the config; drift, which
    someone else wrote, is marked with who, via what and when, e.g. "(reverts a UI change by
    jane@acme.example, 2026-11-27 14:03 UTC)". `wscfg drift` reports drift alone.

    Everything apply would refuse (the last owner removed, a role or tag deleted while in use,
    mass changes, too many fleet targets deleting, an API key created or rotated without
    --new-secrets-to, the key wscfg runs with revoked) is listed in every format, and plan
    exits 1 unless the flags that allow it are given to plan too. A saved plan records those
    flags: `wscfg apply plan.json` uses exactly them (and needs --new-secrets-to again: apply
    writes the file).

    The live workspaces are also checked against the `policies:` of their configs
    (docs/policies.md): violations are listed in every format (json: a `violations` list);
    they add no change and do not change the exit code (`wscfg drift` exits 2 on new ones).

    \b
    Examples:
      wscfg plan examples/workspace.yaml
      wscfg plan examples/agency/ --format markdown --detailed-exitcode
      wscfg plan examples/workspace.yaml -o plan.json   # then: wscfg apply plan.json
      wscfg plan ws.yaml --only call_tags:spam --only webhooks   # a partial plan

    \b
    Exit codes: 0 no changes (or changes, without --detailed-exitcode),
    1 error (bad config, unreachable server, a workspace that could not be read,
    a plan apply would refuse), 2 changes present (with --detailed-exitcode).
    """
    with handle_errors(debug_of(ctx)):
        from ..engine.safety import Allowances, refusals
        from ..errors import PlanError

        allow = Allowances(
            allow_mass_changes, fleet_delete_share, skip_unsafe, new_secrets_to is not None
        )
        parse_only(only)
        run, server_name, _ = _make_plans(
            paths, server, targets, shard, parallel, config_roots=config_roots
        )
        if only:
            check_only(only, run.desired, run.live)
            narrow(run.plans, only, run.live)
            echo_err(partial_note(only))
        plans, failures = run.plans, run.failures
        identity = part_identity(run, "plan")
        secrets_file(new_secrets_to, force, plans, opening=False)
        found = refusals(plans, allow)
        sealer = plan_sealer(run) if out or fmt == "json" else None
        mask = run_env_mask(run)
        render_plans(
            plans,
            failures,
            fmt,
            server_name,
            allow=allow,
            refusals=found,
            full=full,
            sealer=sealer,
            mask=mask,
            only=only,
            run=identity,
            violations=run.violations,
        )
        if failures:
            if out:
                echo_err(f"Not saving {out}: {len(failures)} workspace(s) could not be planned.")
            sys.exit(1)
        if found and not skip_unsafe:
            n = len(found)
            text = f"apply would refuse this plan ({n} refusal{'s' if n != 1 else ''}, listed "
            text += "above)" + (f"; {out} was not saved" if out else "")
            raise PlanError(text)
        if out:
            _save(out, plans, server_name, allow, sealer, mask, only, identity, run.violations)
            echo_err(f"Saved the plan to {out}. Apply it with: wscfg apply {out}")
        elif fmt == "text" and any(not p.empty for p in plans):
            echo_err(next_step(paths, only))
        if detailed_exitcode and any(not p.empty for p in plans):
            sys.exit(2)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@common_options
@auto_approve_option
@click.option(
    "--create-missing",
    is_flag=True,
    help="Create configured workspaces that do not exist yet (agency key).",
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
    only: tuple[str, ...],
    allow_mass_changes: bool,
    fleet_delete_share: float,
    skip_unsafe: bool,
    new_secrets_to: str | None,
    force: bool,
    auto_approve: bool,
    create_missing: bool,
) -> None:
    """Make live workspaces match PATHS, or apply a saved PLANFILE exactly.

    Shows the plan and asks before changing anything (answer `yes` in full; anything else
    is "Apply cancelled.", exit 1). A saved plan
    (from `wscfg plan -o`) is checked first: if anything it touches changed since, nothing is
    written; it applies with the allowances it was made with and takes no others.

    \b
    Examples:
      wscfg apply examples/workspace.yaml            # plan, show, ask, apply
      wscfg apply plan.json --auto-approve           # exactly the reviewed plan, in CI
      wscfg apply clinics/ --create-missing          # a fleet, creating new sub-accounts
      wscfg apply clinics/ --skip-unsafe             # apply the safe targets only
      wscfg apply ws.yaml --only call_tags:spam      # only that item (a partial plan)
      wscfg apply ws.yaml --new-secrets-to keys.env  # new API key secrets, 0600, once

    \b
    Exit codes: 0 applied (or nothing to do), 1 error before any write (or declined),
    3 stopped part-way (some changes were made, or --skip-unsafe skipped a target;
    run plan again to see what is left).
    """
    with handle_errors(debug_of(ctx)):
        from ..engine.safety import Allowances

        written: tuple[list[str], list[str]] = ([], [])
        saved = _saved_plan(paths)
        if saved is not None:
            given = [
                flag
                for name, flag in ALLOWANCE_FLAGS.items()
                if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT
            ]
            if only:
                raise click.UsageError(
                    f"--only cannot be given with a saved plan: {paths[0]} applies exactly the "
                    "items it holds; make the plan again with --only"
                )
            if given:
                raise click.UsageError(
                    f"{', '.join(given)} cannot be given with a saved plan: it applies with the "
                    f"allowances recorded in {paths[0]}; make the plan again with the flag"
                )
            if saved.only:
                echo_err(partial_note(saved.only))
            plans, mask = saved.with_env()
            plans, failures, server_name, secrets = _checked_saved_plan(
                saved, plans, server, targets, shard, parallel
            )
            slugs = {p.slug for p in plans}
            violations = [v for v in saved_violations(saved.document) if v.workspace in slugs]
            # the file is apply's to write: the plan's record of the option is not enough
            allow = replace(saved.allowances, new_secrets=new_secrets_to is not None)
        else:
            allow = Allowances(
                allow_mass_changes, fleet_delete_share, skip_unsafe, new_secrets_to is not None
            )
            parse_only(only)
            run, server_name, written = _make_plans(
                paths,
                server,
                targets,
                shard,
                parallel,
                create_missing=create_missing,
                auto_approve=auto_approve,
                config_roots=config_roots,
            )
            if only:
                check_only(only, run.desired, run.live)
                narrow(run.plans, only, run.live)
                echo_err(partial_note(only))
            # A target that cannot be read is reported; the others go on.
            plans, failures, secrets = run.plans, run.failures, desired_secrets(run)
            mask = run_env_mask(run)
            violations = run.violations
        with after_writes(*written):
            _apply(
                plans,
                failures,
                server,
                server_name,
                secrets,
                allow,
                parallel,
                auto_approve,
                mask,
                (new_secrets_to, force),
                violations,
            )


def _apply(
    plans: list[Any],
    failures: list[Any],
    server: str | None,
    server_name: str,
    secrets: Any,
    allow: Any,
    parallel: int,
    auto_approve: bool,
    mask: Any,
    new_secrets: tuple[str | None, bool] = (None, False),
    violations: Sequence[Any] = (),
) -> None:
    """Show the plans (with what apply would refuse and the live policy ``violations``, which
    apply reports and never acts on), ask, apply, report."""
    from ..engine.apply import check_secrets
    from ..engine.safety import refusals, refused_targets
    from ..errors import UnsafePlanError

    found = refusals(plans, allow)
    render_plans(
        plans,
        failures,
        "text",
        server_name,
        allow=allow,
        refusals=found,
        mask=mask,
        violations=violations,
    )
    targets = len(plans) + len(failures)  # before --skip-unsafe leaves any out
    skipped: list[str] = []
    if found:
        if not allow.skip_unsafe:
            raise UnsafePlanError([r.line() for r in found])
        unsafe = refused_targets(found)
        skipped = sorted(p.slug for p in plans if p.slug in unsafe)
        plans = [p for p in plans if p.slug not in unsafe]
    slugs = [p.slug for p in plans]
    if all(p.empty for p in plans):
        finish([], failures, slugs, mask, skipped=skipped)
        return
    for p in plans:
        check_secrets(p, secrets(p))
    keep = secrets_file(new_secrets[0], new_secrets[1], plans, opening=True, targets=targets)
    confirm(auto_approve, question(plans))
    reports, apply_failures = _run(
        apply_plans(server, plans, secrets, parallel, mask, keep.add if keep else None),
        writing=True,
    )
    if keep is not None and keep.written:
        echo_err(f"Wrote {keep.written} API key secret(s) to {keep.path} (mode 0600).")
    finish(reports, failures + apply_failures, slugs, mask, skipped=skipped)


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
) -> tuple[Any, str, tuple[list[str], list[str]]]:
    """Load and select the targets, read them and plan: (PlanRun, server name, (the slugs of
    workspaces created on the way, those whose create may have landed unheard))."""
    from ..fleet import parse_shard

    try:
        shard_t = parse_shard(shard) if shard else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    selection = Selection(paths, targets, shard_t, shard, config_roots)
    if shard_t is not None:  # parts of a sharded run carry a digest of the whole selection
        selection.digest_key = plan_key()
    preloaded = None
    created: list[str] = []
    not_created: list[Any] = []
    if create_missing:
        preloaded = selection.load()
        if preloaded:
            created, not_created = _run(_create_missing(server, preloaded, parallel, auto_approve))
            failed = {f.target for f in not_created}
            preloaded = [s for s in preloaded if s.slug not in failed]
    uncertain = [f.target for f in not_created if f.maybe_applied]
    with after_writes(created, uncertain):
        run, server_name = _run(_plan(server, selection, parallel, preloaded=preloaded))
    run.failures.extend(not_created)
    run.whole = selection.whole
    return run, server_name, (created, uncertain)


def part_identity(run: Any, command: str) -> dict[str, Any] | None:
    """The ``"run"`` record of a part of a sharded run; None without --shard."""
    from ..engine.shards import run_identity

    whole = run.whole
    if not whole:
        return None
    return run_identity(
        command, whole["shard"], whole["targets"], whole["config"], whole["select"], whole["order"]
    )


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
        self.digest_key: bytes | None = None  # set for --shard: load() then fills `whole`
        self.whole: dict[str, Any] = {}

    @property
    def full(self) -> bool:
        return not self.patterns and self.shard is None

    def pick(self, slugs: list[str]) -> list[str]:
        from ..fleet import select

        return select(slugs, self.patterns, self.shard)

    def pick_all(self, slugs: list[str]) -> list[str]:
        """The targets of every shard: --target globs only."""
        from ..fleet import select

        return select(slugs, self.patterns, None)

    def guesses(self) -> list[str]:
        from ..config.validate import guess_target_slugs

        return self.pick(guess_target_slugs(list(self.paths)))

    def load(self) -> list[Any]:
        """Load, validate and select (raises ConfigError / UsageError); may run in a thread.

        The cyclic GC stays off throughout, and what was built is then frozen out of it
        (:func:`_plan` unfreezes it on the way out): it lives until the command ends, and a
        collection of it, at the first allocation once the GC is back on and again while the
        snapshots are decoded and diffed, would walk every loaded node and item."""
        import gc

        from ..config.validate import gc_paused, load_targets
        from ..engine.state import desired_state

        with gc_paused():
            loaded = load_targets(list(self.paths), config_roots=self.config_roots)
            states = [desired_state(d) for d in loaded]
            gc.freeze()
        if self.shard is not None and self.digest_key is not None:
            from ..engine.shards import config_digest

            every = set(self.pick_all([s.slug for s in states]))
            whole = [s for s in states if s.slug in every]
            mine = set(self.pick([s.slug for s in whole]))
            self.whole = {
                "shard": self.shard,
                "targets": len(whole),
                "config": config_digest(whole, self.digest_key),
                "select": list(self.patterns),
                "order": {s.slug: n for n, s in enumerate(whole) if s.slug in mine},
            }
        chosen = set(self.pick([s.slug for s in states]))
        states = [s for s in states if s.slug in chosen]
        if not states and self.shard is None:
            raise click.UsageError("no target workspace selected (check PATHS and --target)")
        return states


LOAD_SWITCH_INTERVAL = 0.0002  # seconds, while the configs load in a thread beside the reads


def _run(coro: Any, *, writing: bool = False) -> Any:
    return run_async(coro, writing=writing)


async def _plan(
    server: str | None, selection: Selection, parallel: int, *, preloaded: list[Any] | None
) -> tuple[Any, str]:
    """Read live state while the configs load (reads wait on the server, loading on the CPU),
    then plan every target."""
    from ..connect import connect, ensure_workspaces
    from ..fleet import PlanRun, discard, discover, plan_fleet, prefetch

    async with connect(server, parallel=parallel, rate_limit=current_rate_limit()) as conn:
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
                echo_err(f"No workspace falls in shard {selection.shard_text}; nothing to do.")
                return PlanRun(), conn.server
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
            gc.unfreeze()  # frozen by Selection.load
            await discard(early)
        return run, conn.server


async def _create_missing(
    server: str | None, states: list[Any], parallel: int, auto_approve: bool
) -> tuple[list[str], list[Any]]:
    """apply --create-missing: create configured workspaces that do not exist, after asking.
    Returns the slugs created and a Failure for each that could not be."""
    from ..connect import connect
    from ..fleet import create_workspaces, discover

    async with connect(server, parallel=parallel, rate_limit=current_rate_limit()) as conn:
        if conn.embedded:
            return [], []  # the embedded sandbox creates targets on first use anyway
        missing = (await discover(conn.client, [s.slug for s in states])).missing
        if not missing:
            return [], []
        confirm(auto_approve, f"Create {len(missing)} missing workspace(s): {', '.join(missing)}?")
        created, failures = await create_workspaces(
            conn.client, [s for s in states if s.slug in missing], parallel=parallel
        )
        echo_err(f"Created {len(created)} workspace(s).")
        for f in failures:
            echo_err(f"Could not create workspace {f.target}: {f.message}")
        return created, failures


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

    async with connect(server, parallel=parallel, rate_limit=current_rate_limit()) as conn:
        live, failures = await refresh(conn.client, slugs, parallel=parallel)
        return live, failures, conn.server


def _checked_saved_plan(
    saved: SavedPlan,
    plans: list[Any],
    server: str | None,
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
) -> tuple[list[Any], list[Any], str, Any]:
    """A saved plan, refused unless its server and every item it touches are as planned."""
    from ..engine.apikeys import key_checks
    from ..engine.apply import secrets_from_env
    from ..engine.plan import check_fresh
    from ..errors import PlanFileError

    server_name, key_id = saved.server, saved.key_id
    if saved.only:  # a partial plan applies only its selection, whatever else the file holds
        narrow(plans, saved.only)
    plans = _filter_plans(plans, targets, shard)
    live, failures, now_server = _run(_refresh(server, [p.slug for p in plans], parallel))
    if now_server != server_name:
        raise PlanFileError(
            f"the plan was made against {server_name}, not {now_server}; nothing was written"
        )
    _fail_on(failures)
    for p in plans:
        check_fresh(p, live[p.slug])
        # the key running apply may not be the one that made the plan: check it again
        p.checks += [c for c in key_checks(p.changes, live[p.slug]) if c not in p.checks]
    lookup = secrets_from_env(dict(os.environ), plan_key(), key_id)
    return plans, [], server_name, lambda plan: lookup


def _fail_on(failures: list[Any]) -> None:
    from ..errors import WscfgError

    if failures:
        lines = "\n  - ".join(f"{f.target}: {f.message}" for f in failures)
        raise WscfgError(
            f"could not read {len(failures)} workspace(s), nothing was written:\n  - {lines}"
        )


def _save(
    out: str,
    plans: list[Any],
    server: str,
    allow: Any,
    sealer: Any,
    mask: Any,
    only: tuple[str, ...],
    identity: dict[str, Any] | None = None,
    violations: Sequence[Any] = (),
) -> None:
    from ..engine.plan import plans_to_document
    from ..files import write_file

    doc = plans_to_document(
        plans,
        server=server,
        allowances=allow,
        sealer=sealer,
        only=only,
        mask=mask.data if mask else None,
        run=identity,
        # shown by `wscfg show` (sealed with the rest), grouped under their policy's words
        violations=[{**v.to_dict(), "description": v.description} for v in violations],
    )
    write_file(out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def next_step(paths: tuple[str, ...], only: tuple[str, ...]) -> str:
    """What a text plan with changes says to do next (on stderr): apply it as shown, or save
    it for review and apply exactly that."""
    import shlex

    args = shlex.join([*paths, *(a for o in only for a in ("--only", o))])
    return (
        f"To apply these changes: wscfg apply {args}\n"
        f"To apply exactly this plan after a review: wscfg plan {args} -o plan.json, "
        "then wscfg apply plan.json"
    )


def _saved_plan(paths: tuple[str, ...]) -> SavedPlan | None:
    """A saved plan named as the only PATH; None for config."""
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    return read_saved_plan(paths[0], plan_key())


def _filter_plans(plans: list[Any], targets: tuple[str, ...], shard: str | None) -> list[Any]:
    from ..fleet import parse_shard, select

    chosen = set(select([p.slug for p in plans], targets, parse_shard(shard) if shard else None))
    return [p for p in plans if p.slug in chosen]
