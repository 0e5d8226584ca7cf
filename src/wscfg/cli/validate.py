"""``wscfg validate PATH...``: check config files offline and report every problem."""

from __future__ import annotations

import json
import sys

import click

from . import debug_of, handle_errors, print_diagnostics
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
        if fmt == "json":
            click.echo(json.dumps(report.to_dict(), indent=2))
        elif fmt == "github":
            from .annotations import github_lines

            for line in github_lines(report.diagnostics, report.warnings):
                click.echo(line)
            click.echo(report.summary() if report.ok else f"Error: {report.summary()}")
        elif fmt == "sarif":
            from importlib.metadata import version

            from .annotations import left_out_note, sarif_left_out, sarif_log

            log = sarif_log(report.diagnostics, report.warnings, version=version("wscfg"))
            click.echo(json.dumps(log, indent=2, ensure_ascii=False))
            left_out = sarif_left_out(report.diagnostics, report.warnings)
            if left_out:
                click.echo(f"Warning: {left_out_note(left_out)}", err=True)
        elif fmt == "gitlab":
            from .codequality import code_quality

            issues = code_quality(report.diagnostics, report.warnings)
            click.echo(json.dumps(issues, indent=2, ensure_ascii=False))
            click.echo(report.summary() if report.ok else f"Error: {report.summary()}", err=True)
        else:
            print_diagnostics(report.warnings, "warning")
            if report.ok:
                click.echo(report.summary())
            else:
                print_diagnostics(report.diagnostics)
                click.echo(f"Error: {report.summary()}", err=True)
        if not report.ok:
            sys.exit(1)
