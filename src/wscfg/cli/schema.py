"""``wscfg schema [--check] [NAME...]``: write or check the JSON documents in schemas/."""

from __future__ import annotations

import sys

import click

from ..workflow.schemas import NAMES
from . import debug_of, echo_err, handle_errors


def _said(shown: str, status: str) -> None:
    if status == "written":
        click.echo(f"wrote {shown}")
    elif status == "up to date":
        click.echo(f"{shown} is up to date")
    else:
        echo_err(f"{shown} is {status}; run `wscfg schema` to regenerate it")


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(NAMES), metavar="[NAME]...")
@click.option("--check", is_flag=True, help="Do not write; exit 1 if a file is missing or stale.")
@click.option(
    "--dir",
    "directory",
    default="schemas",
    show_default=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Where the schema files live.",
)
@click.pass_context
def schema(ctx: click.Context, names: tuple[str, ...], check: bool, directory: str) -> None:
    """Write (or --check) schemas/workspace.schema.json and schemas/openapi.json.

    workspace.schema.json is the JSON Schema of a config file (for editors: add
    `# yaml-language-server: $schema=<path>/workspace.schema.json` to a file); openapi.json
    describes the Workspace Settings API served by `wscfg sandbox`. `check` is the schema
    `wscfg validate` checks a resolved file against before it needs the models; it lives in the
    package (wscfg/config/document.schema.json), whatever --dir says. NAME limits the run to
    `workspace`, `openapi` or `check`.

    \b
    Examples:
      wscfg schema                  # write every schema (after changing a model)
      wscfg schema --check          # CI: exit 1 if a committed schema is stale
      wscfg schema workspace --dir /tmp/schemas
    """
    with handle_errors(debug_of(ctx)):
        from ..workflow.schemas import sync

        if sync(names, directory, check=check, on_result=_said):
            sys.exit(1)
