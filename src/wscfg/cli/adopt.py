"""`wscfg adopt`: accept live changes (made in the UI) into the config files, comments kept."""

from __future__ import annotations

import sys
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import rate_limit_option, say, server_options, settings, timeout_option
from .options import config_root_option, only_option, shard_option, target_option
from .plan import _selection


@click.command()
@click.argument("paths", nargs=-1, required=True)
@server_options
@timeout_option
@rate_limit_option
@config_root_option
@target_option
@shard_option
@only_option
@click.option(
    "--into-template",
    is_flag=True,
    help="Edit the template (`extends`) that declared a value instead of writing an override; "
    "first says how many other targets (in PATHS and its folder) use it.",
)
@click.option(
    "--allow-fleet-change",
    is_flag=True,
    help="With --into-template: edit a template other targets use too (they change as well).",
)
@click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")
@click.pass_context
def adopt(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    targets: tuple[str, ...],
    shard: str | None,
    only: tuple[str, ...],
    into_template: bool,
    allow_fleet_change: bool,
    dry_run: bool,
) -> None:
    """Accept what changed in the live workspace into the config: edit the YAML of PATHS so it
    declares the live values, then print a unified diff of the edit.

    A changed field is rewritten where it was declared; an item created in the UI is appended
    to its kind's list; an item deleted in the UI is removed. Comments, key order, quoting and
    flow/block style are kept, and lines the edit did not need are left byte for byte.

    A value a template (`extends`) declared is written as an override in the target's own
    file (an item the UI deleted: `$remove: true`); the template and the other targets that
    use it are left alone.

    Refused, by name (exit 1; the rest is still adopted): write-only fields (a webhook's
    secret: its reference stays) and values that come from ${env:X} (they would be written
    in clear).

    \b
    Examples:
      wscfg adopt ws.yaml --dry-run                # show the edit, write nothing
      wscfg adopt ws.yaml                          # accept every live change
      wscfg adopt ws.yaml --only call_tags:spam    # accept one item
      wscfg adopt ws.yaml --only members --only notifications
      wscfg adopt clinics/ --target 'clinic-north*' # only those workspaces' files
      wscfg adopt clinics/ --into-template --dry-run   # edit base.yaml; how many targets change
      wscfg adopt clinics/ --into-template --allow-fleet-change

    \b
    Exit codes: 0 adopted (or nothing to adopt), 1 error or a refusal.
    """
    with handle_errors(debug_of(ctx)):
        from ..workflow.adopt import adopt as run

        done = run(
            settings(server, 1),
            _selection(paths, targets, shard, config_roots),
            only=only,
            into_template=into_template,
            allow_fleet_change=allow_fleet_change,
            dry_run=dry_run,
            on_notice=say,
            on_diff=lambda diff: click.echo(diff, nl=False),
            on_file=lambda edit: _said(edit, dry_run),
        )
        for f in done.failures:
            echo_err(f"Error: {f.target}: {f.message}")
        if done.failures or done.not_adopted:
            sys.exit(1)


def _said(edit: Any, dry_run: bool) -> None:
    for note in edit.notes:
        echo_err(f"Note: {note}")
    for message in edit.not_adopted:
        echo_err(f"Error: {message}")
    verb = "Would adopt" if dry_run else "Adopted"
    echo_err(f"{edit.file}: {verb} {edit.adopted} change(s); {len(edit.not_adopted)} refused.")
