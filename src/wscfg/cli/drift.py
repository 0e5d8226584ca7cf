"""`wscfg drift`: only the differences someone else made, with who, via what and when; new
drift against a committed baseline of known drift."""

from __future__ import annotations

import sys
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import job_summary, say, settings
from .options import only_option
from .plan import _selection, workspace_options

FORMATS = ("text", "markdown", "json", "html")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@workspace_options
@only_option
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
@click.pass_context
def drift(
    ctx: click.Context,
    paths: tuple[str, ...],
    server: str | None,
    config_roots: tuple[str, ...],
    targets: tuple[str, ...],
    shard: str | None,
    parallel: int,
    only: tuple[str, ...],
    fmt: str,
    out: str | None,
    baseline: str | None,
    update_baseline: bool,
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
    with handle_errors(debug_of(ctx)):
        from ..engine.drift import summary
        from ..files import write_file
        from ..workflow import drift as run

        if update_baseline and not baseline:
            raise click.UsageError("--update-baseline needs --baseline FILE")
        if update_baseline and only:
            raise click.UsageError(
                "--update-baseline cannot be given with --only: the baseline accepts all the "
                "drift found now; run it without --only"
            )
        found = run.drift(
            settings(server, parallel),
            _selection(paths, targets, shard, config_roots),
            only=only,
            baseline=baseline,
            update_baseline=update_baseline,
            on_notice=say,
        )
        text = _markdown(found, out) if fmt == "markdown" else run.render(found, fmt)
        if out:
            write_file(out, text + "\n")
            echo_err(f"Wrote the drift report to {out}: {summary(found.report)}")
        else:
            click.echo(text)
        if found.report.failures:
            sys.exit(1)
        if found.report.new or found.report.failing_violations:
            sys.exit(2)


def _markdown(found: Any, out: str | None) -> str:
    """-o FILE: the whole report. Standard output: one PR comment (65,536 characters), saying
    where the rest is. $GITHUB_STEP_SUMMARY gets the whole report when it fits (1 MiB), else
    the same folding."""
    from ..engine.drift import FULL_REPORT
    from ..engine.render import MARKDOWN_BUDGET
    from ..workflow.drift import markdown

    where = job_summary(lambda budget, where: markdown(found, budget, where), FULL_REPORT)
    if out:
        return markdown(found, 1 << 62, FULL_REPORT)
    return markdown(found, MARKDOWN_BUDGET, where)
