"""``wscfg validate PATH...``: check config files offline and report every problem."""

from __future__ import annotations

import json
import sys

import click

from . import debug_of, handle_errors, print_diagnostics
from .options import config_root_option


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people (problems on stderr), json for machines (on stdout).",
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
    Exit status: 0 when everything is valid, 1 otherwise. No network access.
    """
    with handle_errors(debug_of(ctx)):
        from ..config.validate import check_paths

        report = check_paths(paths, config_roots=config_roots)
        if fmt == "json":
            click.echo(json.dumps(report.to_dict(), indent=2))
        elif report.ok:
            click.echo(report.summary())
        else:
            print_diagnostics(report.diagnostics)
            click.echo(f"Error: {report.summary()}", err=True)
        if not report.ok:
            sys.exit(1)
