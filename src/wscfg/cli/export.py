"""`wscfg export` (live → YAML) and `wscfg clone` (one workspace's settings onto others)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import parallel_option, rate_limit_option, server_options, settings, timeout_option
from .options import (
    allow_mass_changes_option,
    auto_approve_option,
    fleet_delete_share_option,
    shard_option,
    skip_unsafe_option,
    target_option,
)

SCHEMA_REF = "https://wscfg.dev/schemas/workspace.schema.json"


@click.command()
@click.option("--workspace", "slug", metavar="SLUG", help="The workspace to export.")
@click.option("--all", "all_", is_flag=True, help="Export every workspace the key reaches.")
@click.option(
    "-o",
    "--out",
    type=click.Path(),
    metavar="FILE",
    help="File to write (default: stdout); with --all, a directory (default: ./export).",
)
@click.option(
    "--extends",
    "base",
    type=click.Path(exists=True, dir_okay=False),
    help="Write only what differs from this template, and extend it.",
)
@server_options
@timeout_option
@rate_limit_option
@click.pass_context
def export(
    ctx: click.Context,
    slug: str | None,
    all_: bool,
    out: str | None,
    base: str | None,
    server: str | None,
) -> None:
    """Write live settings as YAML that plans to zero changes.

    Secrets are never exported: a webhook with a secret gets a comment naming the
    ${env:…} line to add if you want wscfg to manage it.

    \b
    Examples:
      wscfg export --workspace acme-north -o acme-north.yaml
      wscfg export --all -o clinics/ --extends clinics/base.yaml
    """
    with handle_errors(debug_of(ctx)):
        from ..errors import WscfgError
        from ..files import write_file
        from ..workflow import export as ex

        if bool(slug) == all_:
            raise click.UsageError("give either --workspace SLUG or --all")
        base_doc = ex.load_base(base) if base else None
        done = ex.export(settings(server), slug, base=base_doc, by=BY, on_notice=_notice)
        docs, written = done.documents, []
        if all_:
            folder = Path(out or "export")
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in docs.items():
                written.append(folder / f"{name}.yaml")
                write_file(written[-1], ex.rebase(text, base, written[-1]))
            echo_err(f"Exported {len(docs)} workspace(s) to {folder}/")
        elif not docs:
            raise WscfgError(done.skipped[0] if done.skipped else "nothing was exported")
        elif out:
            written.append(Path(out))
            write_file(out, ex.rebase(docs[slug or ""], base, Path(out)))
            echo_err(f"Exported {slug} to {out}")
        else:
            click.echo(ex.rebase(docs[slug or ""], base, Path.cwd() / "stdout.yaml"), nl=False)
        if base and written:
            _warn_open(ex.check_exported(written, base))
        for why in done.skipped:
            echo_err(f"Error: {why}")
        if done.skipped:
            sys.exit(1)


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
@server_options
@timeout_option
@rate_limit_option
@target_option
@shard_option
@parallel_option
@allow_mass_changes_option
@fleet_delete_share_option
@skip_unsafe_option
@auto_approve_option
@click.pass_context
def clone(
    ctx: click.Context,
    source: str,
    dest: tuple[str, ...],
    server: str | None,
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    allow_mass_changes: bool,
    fleet_delete_share: float,
    skip_unsafe: bool,
    auto_approve: bool,
) -> None:
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
    with handle_errors(debug_of(ctx)):
        from ..engine.safety import Allowances
        from ..workflow.export import clone as plan_clone
        from .plan import _shard, apply_planset

        named = [s.strip() for value in dest for s in value.split(",") if s.strip()]
        if dest and not named:
            raise click.UsageError("--to needs a workspace slug")
        if not named and not targets:
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
        at = settings(server, parallel)
        allow = Allowances(allow_mass_changes, fleet_delete_share, skip_unsafe)
        ps, warnings = plan_clone(
            at, source, named, targets, _shard(shard), allow=allow, on_notice=_notice
        )
        for line in warnings:
            echo_err(line)
        apply_planset(at, ps, auto_approve)


BY = "`wscfg export`"  # the exporter each file's header names


def _notice(notice: Any) -> None:
    from .flow import say  # one wording of what a run says, for every command

    say(notice)


def _warn_open(problems: list[Any]) -> None:
    """With --extends, say plainly if the files need something the template leaves open
    (variables each target must define): export cannot guess their values."""
    if problems:
        echo_err(
            f"Warning: {len(problems)} problem(s) in the exported files; the template "
            "needs values only you know (e.g. its variables under `vars:`):"
        )
    for d in problems[:10]:
        echo_err(f"  {d.headline()}")
