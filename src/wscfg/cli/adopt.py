"""`wscfg adopt`: accept live changes (made in the UI) into the config files, comments kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import debug_of, echo_err, handle_errors
from .flow import masked, run_env_mask, server_options, timeout_option
from .options import config_root_option, only_option, parse_only, selected


@click.command()
@click.argument("paths", nargs=-1, required=True)
@server_options
@timeout_option
@config_root_option
@only_option
@click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")
@click.pass_context
def adopt(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    only: tuple[str, ...],
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

    \b
    Exit codes: 0 adopted (or nothing to adopt), 1 error or a refusal.
    """
    with handle_errors(debug_of(ctx)):
        from ..config.adopt import AdoptError
        from ..config.adopt import adopt as adopt_file
        from ..errors import WscfgError
        from .plan import _make_plans

        picked = parse_only(only)
        run, _server, _ = _make_plans(paths, server, (), None, 1, config_roots=config_roots)
        if run.failures:
            for f in run.failures:
                echo_err(f"Error: {f.target}: {f.message}")
            sys.exit(1)
        mask = run_env_mask(run)
        refused = 0
        for plan in run.plans:
            desired = run.desired[plan.slug].origin
            changes = [c for c in plan.changes if selected(c, picked)]
            file = desired.file
            if not changes:
                echo_err(f"{file}: nothing to adopt.")
                continue
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
                    _write(file, result.text)
            for note in result.notes:
                echo_err(f"Note: {note}")
            for r in result.refusals:
                echo_err(f"Error: {r.message()}")
            refused += len(result.refusals)
            n = len(result.adopted)
            verb = "Would adopt" if dry_run else "Adopted"
            echo_err(f"{file}: {verb} {n} change(s); {len(result.refusals)} refused.")
        if refused:
            sys.exit(1)


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


def _write(path: str, text: str) -> None:
    from ..errors import WscfgError

    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise WscfgError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
