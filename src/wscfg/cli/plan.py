"""`wscfg plan` and `wscfg apply`: compare config with live workspaces, then make them match."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import (
    events,
    finish,
    parallel_option,
    rate_limit_option,
    render_plans,
    server_options,
    settings,
    timeout_option,
)
from .options import (
    allow_mass_changes_option,
    auto_approve_option,
    config_root_option,
    fleet_delete_share_option,
    force_option,
    new_secrets_option,
    only_option,
    parse_only,
    partial_note,
    shard_option,
    skip_unsafe_option,
    target_option,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..engine.plan import Plan
    from ..engine.seal import Sealer
    from ..workflow.results import PlanSet
    from ..workflow.secrets import SecretsFile
    from ..workflow.selection import Selection
    from ..workflow.settings import Settings

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
        from ..engine.safety import Allowances
        from ..errors import PlanError
        from ..workflow import planfile, run
        from ..workflow.report import planset_sealer
        from ..workflow.secrets import secrets_file

        allow = Allowances(
            allow_mass_changes, fleet_delete_share, skip_unsafe, new_secrets_to is not None
        )
        parse_only(only)
        ps = run.plan(
            settings(server, parallel),
            _selection(paths, targets, shard, config_roots),
            allow=allow,
            only=only,
            events=events(False)[0],
        )
        if only:
            echo_err(partial_note(only))
        secrets_file(new_secrets_to, force, ps.plans, opening=False)
        found = ps.refusals()
        sealer = planset_sealer(ps) if out or fmt == "json" else None
        _show(ps, fmt, full=full, sealer=sealer)
        if ps.failures:
            if out:
                echo_err(f"Not saving {out}: {len(ps.failures)} workspace(s) could not be planned.")
            sys.exit(1)
        if found and not skip_unsafe:
            n = len(found)
            text = f"apply would refuse this plan ({n} refusal{'s' if n != 1 else ''}, listed "
            text += "above)" + (f"; {out} was not saved" if out else "")
            raise PlanError(text)
        if out:
            planfile.save(out, ps, sealer)
            echo_err(f"Saved the plan to {out}. Apply it with: wscfg apply {out}")
        elif fmt == "text" and not ps.empty:
            echo_err(next_step(paths, only))
        if detailed_exitcode and not ps.empty:
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
        from ..workflow import run
        from ..workflow.planfile import saved_plan_named

        at = settings(server, parallel)
        saved = saved_plan_named(paths, at.key)
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
            ps = run.saved_planset(saved, at)
            ps = run.check_saved(at, ps, targets, _shard(shard))
            # the file is apply's to write: the plan's record of the option is not enough
            ps.allow = replace(ps.allow, new_secrets=new_secrets_to is not None)
        else:
            allow = Allowances(
                allow_mass_changes, fleet_delete_share, skip_unsafe, new_secrets_to is not None
            )
            parse_only(only)
            ps = run.plan(
                at,
                _selection(paths, targets, shard, config_roots),
                allow=allow,
                only=only,
                create_missing=create_missing,
                events=events(auto_approve)[0],
            )
            if only:
                echo_err(partial_note(only))
        apply_planset(at, ps, auto_approve, (new_secrets_to, force))


def apply_planset(
    at: Settings,
    ps: PlanSet,
    auto_approve: bool,
    new_secrets: tuple[str | None, bool] = (None, False),
) -> None:
    """Show the plans (with what apply would refuse and the live policy violations, which
    apply reports and never acts on), ask, apply, report."""
    from ..workflow.run import after_writes, apply
    from ..workflow.secrets import secrets_file

    with after_writes(ps.created, ps.uncertain):
        _show(ps, "text")
        happened, lines = events(auto_approve, ps.mask)
        kept: list[SecretsFile] = []

        def open_secrets(plans: list[Plan], targets: int) -> Callable[[str, str, str], None] | None:
            path, force = new_secrets
            keep = secrets_file(path, force, plans, opening=True, targets=targets)
            kept.extend([keep] if keep is not None else [])
            return keep.add if keep is not None else None

        happened.open_secrets = open_secrets
        result = apply(at, ps, happened)
        lines.counts()
        if kept and kept[0].written:
            echo_err(f"Wrote {kept[0].written} API key secret(s) to {kept[0].path} (mode 0600).")
        finish(result, ps.mask)


def _show(ps: PlanSet, fmt: str, *, full: bool = False, sealer: Sealer | None = None) -> None:
    render_plans(
        ps.plans,
        ps.failures,
        fmt,
        ps.server,
        allow=ps.allow,
        refusals=ps.refusals(),
        full=full,
        sealer=sealer,
        mask=ps.mask,
        only=ps.only,
        run=ps.run,
        violations=ps.violations,
    )


# --- helpers ---------------------------------------------------------------------------------


def _shard(shard: str | None) -> tuple[int, int] | None:
    return _selection((), (), shard, ()).shard


def _selection(
    paths: tuple[str, ...], targets: tuple[str, ...], shard: str | None, roots: tuple[str, ...]
) -> Selection:
    """The targets PATHS, --target and --shard pick."""
    from ..workflow.selection import select

    return select(paths, targets, shard, roots)


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
