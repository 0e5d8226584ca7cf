"""The commands that bring live settings back: `wscfg drift` reports only the differences
someone else made, with who, via what and when (new drift against a committed baseline of
known drift); `wscfg adopt` accepts them (changes made in the UI) into the config files,
comments kept; `wscfg export` writes live settings as YAML."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from . import echo_err, handle_errors
from .run import CONNECTION, SELECTION, WORKSPACES, Fleet, only_option, options, say

FORMATS = ("text", "markdown", "json", "html")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@options(*WORKSPACES, only_option)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for logs; markdown for an issue or job summary; json with a `drift` list; "
    "html, one self-contained page (workspaces × kinds matrix, fleet rows, who and when).",
)
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False), help="Write the report here, not stdout."
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Known drift (a JSON file of fingerprints): reported and exit code ignore it.",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Rewrite --baseline FILE to accept every drift found now (exit 0 unless an error).",
)
def drift(
    fmt: str, out: str | None, baseline: str | None, update_baseline: bool, **fleet: Any
) -> None:
    """Report drift in the workspaces of PATHS: live values someone other than wscfg wrote,
    each with who (a person or an API key), via what (the UI or the API) and when, from the
    platform's audit log. Differences that come from the config are not drift: `wscfg plan`
    shows them.

    With --baseline, known drift is left out: a scheduled job alerts on new drift only.
    --update-baseline accepts the drift found now (commit the file).

    The live workspaces are also checked against the `policies:` of their configs
    (docs/policies.md): violations are reported in every format (json: a `violations`
    list), a new one of an error policy exits 2, and baselines cover them as they cover drift.

    \b
    Examples:
      wscfg drift clinics/
      wscfg drift clinics/ --baseline drift-baseline.json --format markdown -o drift.md
      wscfg drift clinics/ --baseline drift-baseline.json --update-baseline
      wscfg drift clinics/ --shard 2/4 --format json -o drift-2.json
      wscfg drift clinics/ --format html -o drift.html
      wscfg drift clinics/ --only webhooks --only security   # drift of these kinds only

    \b
    Exit codes: 0 no new drift, 2 new drift or a new error-policy violation, 1 error (bad
    config or baseline, a workspace that could not be read).
    """
    with handle_errors():
        from ..engine.drift import summary
        from ..files import write_file
        from ..workflow import drift as run

        f = Fleet(**fleet)
        if update_baseline and not baseline:
            raise click.UsageError("--update-baseline needs --baseline FILE")
        if update_baseline and f.only:
            raise click.UsageError(
                "--update-baseline cannot be given with --only: the baseline accepts all the "
                "drift found now; run it without --only"
            )
        found = run.drift(
            f.settings(),
            f.selection(),
            only=f.only,
            baseline=baseline,
            update_baseline=update_baseline,
            on_notice=say,
        )
        if fmt == "markdown":
            text = run.comment(found, bool(out), os.environ.get("GITHUB_STEP_SUMMARY"), echo_err)
        else:
            text = run.render(found, fmt)
        if out:
            write_file(out, text + "\n")
            echo_err(f"Wrote the drift report to {out}: {summary(found.report)}")
        else:
            click.echo(text)
        if found.report.failures:
            sys.exit(1)
        if found.report.new or found.report.failing_violations:
            sys.exit(2)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@options(*CONNECTION, *SELECTION, only_option)
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
def adopt(into_template: bool, allow_fleet_change: bool, dry_run: bool, **fleet: Any) -> None:
    """Accept what changed in the live workspace into the config: edit the YAML of PATHS so it
    declares the live values, then print a unified diff of the edit.

    A changed field is rewritten where it was declared; an item created in the UI is appended
    to its kind's list; an item deleted in the UI is removed. Comments, key order, quoting and
    flow/block style are kept, and lines the edit did not need are left byte for byte.

    A value a template (`extends`) declared is written as an override in the target's own
    file (an item the UI deleted: `$remove: true`); the template and the other targets that
    use it are left alone.

    Refused, by name (exit 1; the rest is still adopted): write-only fields (a webhook's
    secret: its reference stays), values that come from ${env:X} (they would be written
    in clear) and a key a template locks (docs/policies.md).

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
    with handle_errors():
        from ..workflow.adopt import adopt as run

        f = Fleet(**fleet)
        done = run(
            replace(f, parallel=1).settings(),
            f.selection(),
            only=f.only,
            into_template=into_template,
            allow_fleet_change=allow_fleet_change,
            dry_run=dry_run,
            on_notice=say,
            on_diff=lambda diff: click.echo(diff, nl=False),
            on_file=lambda edit: _said(edit, dry_run),
        )
        for failed in done.failures:
            echo_err(f"Error: {failed.target}: {failed.message}")
        if done.failures or done.not_adopted:
            sys.exit(1)


def _said(edit: Any, dry_run: bool) -> None:
    for note in edit.notes:
        echo_err(f"Note: {note}")
    for message in edit.not_adopted:
        echo_err(f"Error: {message}")
    verb = "Would adopt" if dry_run else "Adopted"
    echo_err(f"{edit.file}: {verb} {edit.adopted} change(s); {len(edit.not_adopted)} refused.")


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
@options(*CONNECTION)
def export(slug: str | None, all_: bool, out: str | None, base: str | None, **fleet: Any) -> None:
    """Write live settings as YAML that plans to zero changes.

    Secrets are never exported: a webhook with a secret gets a comment naming the
    ${env:…} line to add if you want wscfg to manage it.

    \b
    Examples:
      wscfg export --workspace acme-north -o acme-north.yaml
      wscfg export --all -o clinics/ --extends clinics/base.yaml
    """
    with handle_errors():
        from ..errors import WscfgError
        from ..workflow import export as ex

        if bool(slug) == all_:
            raise click.UsageError("give either --workspace SLUG or --all")
        base_doc = ex.load_base(base) if base else None
        at = Fleet(**fleet).settings()
        done = ex.export(at, slug, base=base_doc, by="`wscfg export`", on_notice=say)  # file header
        docs, written = done.documents, []
        if all_:
            written = ex.write(docs, base, Path(out or "export"), folder=True)
            echo_err(f"Exported {len(docs)} workspace(s) to {Path(out or 'export')}/")
        elif not docs:
            raise WscfgError(done.skipped[0] if done.skipped else "nothing was exported")
        elif out:
            written = ex.write({slug or "": docs[slug or ""]}, base, Path(out), folder=False)
            echo_err(f"Exported {slug} to {out}")
        else:
            click.echo(ex.rebase(docs[slug or ""], base, Path.cwd() / "stdout.yaml"), nl=False)
        for line in ex.open_problems(written, base):
            echo_err(line)
        for why in done.skipped:
            echo_err(f"Error: {why}")
        if done.skipped:
            sys.exit(1)
