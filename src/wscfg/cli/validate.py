"""``wscfg validate PATH...``: check config files offline and report every problem."""

from __future__ import annotations

import sys

import click

from . import debug_of, echo_err, handle_errors, print_diagnostics
from .options import config_root_option

FORMATS = ("text", "github", "sarif", "gitlab", "json")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people (problems on stderr); github for workflow-command annotations; "
    "sarif for code scanning (SARIF 2.1.0); gitlab for a GitLab Code Quality report; json for "
    "machines (the last four on stdout). CI formats give paths from the repository root.",
)
@config_root_option
@click.pass_context
def validate(
    ctx: click.Context, paths: tuple[str, ...], fmt: str, config_roots: tuple[str, ...]
) -> None:
    """Check config files offline: YAML, schema, references, variables and environment.

    PATH may be a file, a directory (every *.yaml / *.yml below it) or a glob. Every problem
    of every file is reported as `file:line:col: path: message` with the offending line.
    A file whose resolved `workspace.slug` is set is a target; one without is a template,
    used through `extends:`, which may only name .yaml/.yml wscfg configs inside the config
    root (the enclosing git work tree, else the folder named; --config-root adds more).
    No network access.

    An unset `${env:NAME}` is a warning here (named and located), so validate works in CI
    without secrets, e.g. on pull requests from forks; plan and apply need the variable.

    \b
    Examples:
      wscfg validate examples/workspace.yaml examples/agency/
      wscfg validate config/ --format github        # annotations on the PR diff
      wscfg validate config/ --format sarif > wscfg.sarif   # upload to code scanning
      wscfg validate config/ --format gitlab > gl-code-quality-report.json   # MR widget

    \b
    Exit codes: 0 valid (warnings allowed), 1 a problem was found.
    """
    with handle_errors(debug_of(ctx)):
        from ..config.validate import check_paths

        report = check_paths(
            paths, config_roots=config_roots, unset_env_is_warning=True, models=False
        )
        if fmt != "text":
            from ..config.reports import ci_report

            out, err = ci_report(report, fmt)
            click.echo(out)
            if err is not None:
                echo_err(err)
        else:
            print_diagnostics(report.warnings, "warning")
            print_diagnostics(report.diagnostics)
            click.echo(
                report.summary() if report.ok else f"Error: {report.summary()}", err=not report.ok
            )
        if not report.ok:
            sys.exit(1)
