"""`wscfg adopt`: accept live changes (made in the UI) into the config files, comments kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import masked, rate_limit_option, run_env_mask, server_options, timeout_option
from .options import (
    check_only,
    config_root_option,
    only_option,
    parse_only,
    selected,
    shard_option,
    target_option,
)


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
        from ..config.adopt import AdoptError, split_by_file
        from ..config.adopt import adopt as adopt_file
        from ..errors import WscfgError
        from ..files import write_file
        from .plan import _make_plans

        picked = parse_only(only)
        run, _server, _ = _make_plans(paths, server, targets, shard, 1, config_roots=config_roots)
        if run.failures:
            for f in run.failures:
                echo_err(f"Error: {f.target}: {f.message}")
            sys.exit(1)
        check_only(only, run.desired, run.live)
        mask = run_env_mask(run)
        refused = 0
        edits: list[tuple[str, Any, list[Any]]] = []  # (file, desired, changes)
        for plan in run.plans:
            desired = run.desired[plan.slug].target_config
            changes = [c for c in plan.changes if selected(c, picked)]
            if not changes:
                echo_err(f"{desired.file}: nothing to adopt.")
                continue
            if not into_template:
                edits.append((desired.file, desired, changes))
                continue
            for file, part in split_by_file(desired, changes, desired.file).items():
                if file != desired.file:
                    users = _users(file, plan.slug, paths, config_roots)
                    n = len(users)
                    echo_err(
                        f"{file} is used by {n} other target(s) in PATHS and its folder"
                        + (f": {', '.join(users)}" if users else "")
                        + (
                            "; adopting into it changes them too."
                            if users
                            else "; only this target changes."
                        )
                    )
                    if users and not allow_fleet_change:
                        raise WscfgError(
                            f"refusing to edit {file}: {n} other target(s) use it; "
                            "give --allow-fleet-change to change them too, or adopt without "
                            "--into-template (an override in the target's own file)"
                        )
                edits.append((file, desired, part))
        for file, desired, changes in edits:
            try:
                old = Path(file).read_text(encoding="utf-8")
                result = adopt_file(old, file, desired, changes, _read)
            except (OSError, UnicodeDecodeError) as exc:
                raise WscfgError(f"cannot read {file}: {type(exc).__name__}") from None
            except AdoptError as exc:
                raise WscfgError(f"{file}: {exc}") from None
            if result.text != old:
                click.echo(masked(mask, _diff(old, result.text, file)), nl=False)
                if not dry_run:
                    write_file(file, result.text, keep_mode=True)
            for note in result.notes:
                echo_err(f"Note: {note}")
            for r in result.not_adopted:
                echo_err(f"Error: {r.message()}")
            refused += len(result.not_adopted)
            n = len(result.adopted)
            verb = "Would adopt" if dry_run else "Adopted"
            echo_err(f"{file}: {verb} {n} change(s); {len(result.not_adopted)} refused.")
        if refused:
            sys.exit(1)


def _users(
    template: str, slug: str, paths: tuple[str, ...], config_roots: tuple[str, ...]
) -> list[str]:
    """The other targets, in PATHS and in the template's folder, whose config reads it."""
    from ..config.adopt import users_of
    from ..config.validate import load_targets

    folder = os.path.dirname(template) or "."
    loaded = load_targets([*paths, folder], config_roots=config_roots)
    return sorted({s for s in users_of(template, loaded) if s != slug})


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _diff(old: str, new: str, file: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{file}",
        tofile=f"b/{file}",
    )
    return "".join(lines)
