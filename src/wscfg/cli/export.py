"""`wscfg export` (live → YAML) and `wscfg clone` (one workspace's settings onto others)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import (
    current_rate_limit,
    desired_secrets,
    env_mask,
    environment_values,
    parallel_option,
    rate_limit_option,
    run_async,
    server_options,
    timeout_option,
)
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

        if bool(slug) == all_:
            raise click.UsageError("give either --workspace SLUG or --all")
        base_doc = _load_base(base) if base else None
        skipped: list[str] = []
        docs = run_async(_export(server, slug, base_doc, skipped))
        written: list[Path] = []
        if all_:
            folder = Path(out or "export")
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in docs.items():
                path = folder / f"{name}.yaml"
                write_file(path, _rebase(text, base, path))
                written.append(path)
            echo_err(f"Exported {len(docs)} workspace(s) to {folder}/")
        elif not docs:
            raise WscfgError(skipped[0] if skipped else "nothing was exported")
        else:
            (text,) = docs.values()
            if out:
                write_file(out, _rebase(text, base, Path(out)))
                written.append(Path(out))
                echo_err(f"Exported {slug} to {out}")
            else:
                click.echo(_rebase(text, base, Path.cwd() / "stdout.yaml"), nl=False)
        if base and written:
            _check_exported(written, base)
        if skipped:
            for why in skipped:
                echo_err(f"Error: {why}")
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
        from .plan import _apply

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
        from ..fleet import parse_shard

        try:
            share = parse_shard(shard) if shard else None
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--shard") from None
        run, server_name, uncopied = run_async(
            _clone_plans(server, source, (named, targets, share), parallel)
        )
        for name in uncopied:
            for line in _uncopied_secret(name, run.live):
                echo_err(line)
        allow = Allowances(allow_mass_changes, fleet_delete_share, skip_unsafe)
        mask = env_mask(environment_values())  # live values may hold environment values
        _apply(
            run.plans,
            run.failures,
            server,
            server_name,
            desired_secrets(run),
            allow,
            parallel,
            auto_approve,
            mask,
        )


# --- helpers ---------------------------------------------------------------------------------


async def _export(
    server: str | None, slug: str | None, base: dict[str, Any] | None, skipped: list[str]
) -> dict[str, str]:
    """YAML per workspace; workspaces that cannot be exported are named in ``skipped``."""
    from ..config.dump import to_yaml
    from ..connection import connect
    from ..engine.envmask import env_references
    from ..engine.export import export_live
    from ..fleet import read_live
    from ..model.base import SLUG_RE

    async with connect(server, rate_limit=current_rate_limit()) as conn:
        if conn.embedded:
            echo_err(f"Using the {conn.server}: no --server or WSCFG_SERVER set.")
        slugs = [slug] if slug else sorted(w["slug"] for w in await conn.client.list_workspaces())
        out = {}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        for s in slugs:
            if not isinstance(s, str) or not SLUG_RE.match(s):
                # --all names files after slugs: a server's "../../x" must not become a path
                skipped.append(f"skipped workspace {_printable(s)}: not a valid workspace slug")
                continue
            live = await read_live(conn.client, s)
            result = export_live(live, base=base)
            header = [
                f"Exported from {conn.server}, workspace {s}, on {stamp} by `wscfg export`.",
                "Plans to zero changes against the same workspace. Secrets are never exported.",
            ]
            document = env_references(result.document, os.environ)
            out[s] = to_yaml(
                document,
                header=header,
                secrets=result.secrets,
                footer=result.read_only_section(),
            )
        return out


def _printable(value: Any) -> str:
    text = repr(value)
    return "".join(c if c.isprintable() else "?" for c in text[:80])


def _load_base(path: str) -> dict[str, Any]:
    from ..config.template import load_template_document

    return load_template_document(path)


def _check_exported(paths: list[Path], base: str) -> None:
    """With --extends, say plainly if the files need something the template leaves open
    (variables each target must define): export cannot guess their values. The template was
    named on the command line, so its folder is a config root too."""
    from ..config.validate import check_paths

    report = check_paths([str(p) for p in paths], config_roots=[os.path.dirname(base) or "."])
    if report.ok:
        return
    echo_err(
        f"Warning: {len(report.diagnostics)} problem(s) in the exported files; the template "
        "needs values only you know (e.g. its variables under `vars:`):"
    )
    for d in report.diagnostics[:10]:
        echo_err(f"  {d.headline()}")


def _rebase(text: str, base: str | None, dest: Path) -> str:
    """Insert `extends:` pointing at the template, relative to where the file is written."""
    if not base:
        return text
    rel = os.path.relpath(Path(base).resolve(), dest.resolve().parent)
    return text.replace("version: 1\n", f"version: 1\nextends: {rel}\n", 1)


def _uncopied_secret(name: str, live: dict[str, Any]) -> list[str]:
    """What clone says of a webhook whose secret it cannot copy, by what each target has: its
    own secret (kept), or no secret at all (the webhook is created or left without one)."""
    keeps: list[str] = []
    bare: list[str] = []
    for slug, state in sorted(live.items()):
        hook = (state.items.get("webhooks") or {}).get(name) or {}
        (keeps if hook.get("secret_fingerprint") else bare).append(slug)
    head = f"Warning: the secret of webhook {name} cannot be copied (it is write-only); "
    out = []
    if keeps:
        out.append(
            head + f"{', '.join(keeps)} keep{'s' if len(keeps) == 1 else ''} "
            "its own secret: set it there if it differs"
        )
    if bare:
        out.append(
            head + f"{', '.join(bare)} get{'s' if len(bare) == 1 else ''} the webhook without a "
            "secret: set one there (secret: ${env:NAME} in its config)"
        )
    return out


async def _clone_plans(
    server: str | None,
    source: str,
    which: tuple[list[str], tuple[str, ...], tuple[int, int] | None],
    parallel: int,
) -> tuple[Any, str, list[str]]:
    """Plan the copy: (PlanRun, server name, the webhooks whose secret cannot be copied).
    ``which``: the --to slugs (none: every workspace the key reaches), --target globs and
    --shard that pick the workspaces to copy onto; the source is never one of them."""
    from ..config.desired import TargetConfig
    from ..connection import connect
    from ..engine.export import export_live
    from ..engine.state import desired_state
    from ..errors import WscfgError
    from ..fleet import plan_fleet, read_live, select
    from ..model import WorkspaceConfig

    named, globs, shard = which
    async with connect(server, parallel=parallel, rate_limit=current_rate_limit()) as conn:
        if conn.embedded:
            echo_err(f"Using the {conn.server}: no --server or WSCFG_SERVER set.")
        if named:
            pool = named
        else:
            listed = await conn.client.list_workspaces()
            pool = sorted(str(w["slug"]) for w in listed if w.get("slug") != source)
        targets = select(pool, globs, shard)
        if not targets:
            raise WscfgError(
                "no workspace to copy onto: --target/--shard matched none of "
                + (", ".join(pool[:5]) + (" …" if len(pool) > 5 else "") if pool else "(none)")
            )
        exported = export_live(await read_live(conn.client, source))
        doc = exported.document
        doc.pop("members", None)  # people belong to each workspace, not to its settings
        doc.pop("invitations", None)
        doc.pop("api_keys", None)  # a key belongs to its workspace; its secret exists once
        profile = {k: v for k, v in doc.get("workspace", {}).items() if k not in ("slug", "name")}
        states = []
        for slug in targets:
            body = dict(doc, workspace={"slug": slug, **profile})
            config = WorkspaceConfig.model_validate(body)
            states.append(desired_state(TargetConfig(f"clone of {source}", config)))
        run = await plan_fleet(conn.client, states, parallel=parallel)
        return run, conn.server, sorted(exported.secrets)
