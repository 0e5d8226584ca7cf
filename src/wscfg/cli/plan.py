"""`wscfg plan` and `wscfg apply`: compare config with live workspaces, then make them match;
`wscfg clone`: plan one workspace's settings onto others, and apply them."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import click
from click.core import ParameterSource

from . import echo_err, handle_errors, run

FORMATS = ("text", "json", "markdown")
ALLOWANCE_NAMES = ("allow_mass_changes", "fleet_delete_share", "skip_unsafe")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@run.options(*run.PLAN_OPTIONS)
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
def plan(out: str | None, fmt: str, detailed_exitcode: bool, full: bool, **fleet: Any) -> None:
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
    with handle_errors():
        from ..workflow import planfile
        from ..workflow.report import next_step, planset_sealer, refused
        from ..workflow.secrets import secrets_file

        f = run.Fleet(**fleet)
        ps = run.planned(f, f.settings())
        secrets_file(f.new_secrets_to, f.force, ps.plans, opening=False)
        sealer = planset_sealer(ps) if out or fmt == "json" else None
        run.show_plans(ps, fmt, full=full, sealer=sealer)
        if ps.failures:
            if out:
                echo_err(f"Not saving {out}: {len(ps.failures)} workspace(s) could not be planned.")
            sys.exit(1)
        refused(ps, out)
        if out:
            planfile.save(out, ps, sealer)
            echo_err(f"Saved the plan to {out}. Apply it with: wscfg apply {out}")
        elif fmt == "text" and not ps.empty:
            echo_err(next_step(f.paths, f.only))
        if detailed_exitcode and not ps.empty:
            sys.exit(2)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@run.options(*run.PLAN_OPTIONS, run.auto_approve_option)
@click.option(
    "--create-missing",
    is_flag=True,
    help="Create configured workspaces that do not exist yet (agency key).",
)
def apply(auto_approve: bool, create_missing: bool, **fleet: Any) -> None:
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
    with handle_errors():
        from ..workflow.planfile import saved_plan_named
        from ..workflow.report import partial_note
        from ..workflow.run import check_saved, saved_planset

        f = run.Fleet(**fleet)
        at = f.settings()
        saved = saved_plan_named(f.paths, at.key)
        if saved is None:
            ps = run.planned(f, at, auto_approve, create_missing=create_missing)
        else:
            _saved_only(f)
            if saved.only:
                echo_err(partial_note(saved.only, "--only"))
            sel = f.selection()
            ps = check_saved(at, saved_planset(saved, at), sel.patterns, sel.shard)
            # the file is apply's to write: the plan's record of the option is not enough
            ps.allow = replace(ps.allow, new_secrets=f.new_secrets_to is not None)
        run.apply_planset(at, ps, auto_approve, (f.new_secrets_to, f.force))


def _saved_only(f: run.Fleet) -> None:
    """A saved plan applies exactly what it holds, with the allowances it was made with."""
    ctx = click.get_current_context()
    given = [
        p.opts[0]
        for p in ctx.command.params
        if p.name in ALLOWANCE_NAMES and ctx.get_parameter_source(p.name) != ParameterSource.DEFAULT
    ]
    if f.only:
        raise click.UsageError(
            f"--only cannot be given with a saved plan: {f.paths[0]} applies exactly the "
            "items it holds; make the plan again with --only"
        )
    if given:
        raise click.UsageError(
            f"{', '.join(given)} cannot be given with a saved plan: it applies with the "
            f"allowances recorded in {f.paths[0]}; make the plan again with the flag"
        )


@click.command()
@click.option("--from", "source", required=True, metavar="SLUG", help="Workspace to copy from.")
@click.option(
    "--to",
    "dest",
    multiple=True,
    metavar="SLUG",
    help="A workspace to copy onto (repeatable; SLUG,SLUG also works). Without --to: every "
    "workspace the key reaches but the source, narrowed by --target and --shard.",
)
@run.options(*run.CONNECTION, run.target_option, run.shard_option, run.parallel_option)
@run.options(*run.ALLOWANCES, run.auto_approve_option)
def clone(source: str, dest: tuple[str, ...], auto_approve: bool, **fleet: Any) -> None:
    """Copy one workspace's settings onto other workspaces: export, plan, confirm, apply.

    Copies roles, call tags, call rules, blocked callers, webhooks, notification defaults,
    time zone and business profile. Members are not copied (people belong to each workspace),
    nor API keys (each key belongs to its workspace, and its secret exists once);
    the targets keep their slug and name; webhook secrets cannot be copied (they are
    unreadable) and stay as they are on each target: clone names each such webhook.

    \b
    Examples:
      wscfg clone --from acme-north --to acme-south
      wscfg clone --from template-clinic --to clinic-01 --to clinic-02 --auto-approve
      wscfg clone --from template-clinic --target 'clinic-*' --shard 1/4 --skip-unsafe

    \b
    Exit codes: 0 copied (or nothing to do), 1 error before any write (or declined),
    3 stopped part-way (some changes were made, or --skip-unsafe skipped a target).
    """
    with handle_errors():
        from ..workflow.export import clone as plan_clone

        f = run.Fleet(**fleet)
        named = [s.strip() for value in dest for s in value.split(",") if s.strip()]
        if dest and not named:
            raise click.UsageError("--to needs a workspace slug")
        if not named and not f.target_patterns:
            raise click.UsageError(
                "name the workspaces to copy onto: --to SLUG (repeatable) or --target GLOB"
            )
        if source in named:
            raise click.UsageError(
                f"--to names {source}, the workspace --from copies: it cannot be cloned onto itself"
            )
        twice = sorted({t for t in named if named.count(t) > 1})
        if twice:
            raise click.UsageError(f"--to names {', '.join(twice)} twice")
        at = f.settings()
        sel = f.selection()
        ps, warnings = plan_clone(
            at, source, named, sel.patterns, sel.shard, allow=f.allow(), on_notice=run.say
        )
        for line in warnings:
            echo_err(line)
        run.apply_planset(at, ps, auto_approve)
