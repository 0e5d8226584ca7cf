"""`wscfg drift`: only the differences someone else made, with who, via what and when; new
drift against a committed baseline of known drift."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import masked, run_env_mask
from .options import check_only, narrow, only_option, parse_only
from .plan import _make_plans, part_identity, workspace_options

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
        from ..engine import drift as report_mod
        from ..files import write_file

        if update_baseline and not baseline:
            raise click.UsageError("--update-baseline needs --baseline FILE")
        if update_baseline and only:
            raise click.UsageError(
                "--update-baseline cannot be given with --only: the baseline accepts all the "
                "drift found now; run it without --only"
            )
        parse_only(only)
        known: set[str] = set()
        if baseline and not update_baseline:
            known = _read_baseline(baseline)
        run, server_name, _ = _make_plans(
            paths, server, targets, shard, parallel, config_roots=config_roots
        )
        if only:
            check_only(only, run.desired, run.live)
            narrow(run.plans, only)
            echo_err(f"Partial drift report (--only {', '.join(only)}): other drift is not shown.")
        report = report_mod.DriftReport.of(run.plans, run.failures, known, run.violations)
        if update_baseline and baseline and not run.failures:
            accepted: list[Any] = [*report.new, *report.violations]
            write_file(baseline, report_mod.baseline_text(accepted))
            also = (
                f" and {len(report.violations)} of policy violations" if report.violations else ""
            )
            echo_err(f"Wrote {len(report.new)} fingerprint(s) of known drift{also} to {baseline}.")
            report = report_mod.DriftReport.of(
                run.plans, run.failures, _fingerprints(report), run.violations
            )
            report.accepted = baseline
        if fmt == "json":
            identity = part_identity(run, "drift")
            if identity is not None:
                identity["baseline"] = report_mod.baseline_digest(known)
            text = report_mod.report_json(report, server=server_name, run=identity)
        elif fmt == "markdown":
            text = _markdown(report, out, masked_by=run_env_mask(run))
        elif fmt == "html":
            from datetime import UTC, datetime

            from ..engine.drift_html import report_html

            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            text = report_html(report, server=server_name, generated=now)
        else:
            text = report_mod.report_text(report)
        text = masked(run_env_mask(run), text)
        if out:
            write_file(out, text + "\n")
            echo_err(f"Wrote the drift report to {out}: {report_mod.summary(report)}")
        else:
            click.echo(text)
        if report.failures:
            sys.exit(1)
        if report.new or report.failing_violations:
            sys.exit(2)


def _markdown(report: object, out: str | None, *, masked_by: object) -> str:
    """-o FILE: the whole report. Standard output: one PR comment (65,536 characters), saying
    where the rest is. $GITHUB_STEP_SUMMARY gets the whole report when it fits (1 MiB), else
    the same folding."""
    from ..engine import drift as report_mod
    from ..engine import render
    from .flow import job_summary

    def markdown(budget: int, where: str) -> str:
        return masked(masked_by, report_mod.report_markdown(report, budget, full=where))  # type: ignore[arg-type]

    where = job_summary(markdown, report_mod.FULL_REPORT)
    if out:
        return markdown(1 << 62, report_mod.FULL_REPORT)
    return markdown(render.MARKDOWN_BUDGET, where)


def _fingerprints(report: object) -> set[str]:
    found = [*getattr(report, "new", []), *getattr(report, "violations", [])]
    return {i.fingerprint for i in found}


def _read_baseline(path: str) -> set[str]:
    from ..engine.drift import BaselineError, parse_baseline

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"no baseline file {path}; write one with --baseline {path} --update-baseline"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read the baseline {path}: {_why(exc)}") from None
    return parse_baseline(text, path)


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
