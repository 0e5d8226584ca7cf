"""``wscfg schema [--check] [NAME...]``: write or check the JSON documents in schemas/."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from . import debug_of, echo_err, handle_errors


def _workspace() -> str:
    from ..config.schema import dump_json, workspace_schema

    return dump_json(workspace_schema())


def _openapi() -> str:
    from .. import sandbox

    text = getattr(sandbox, "openapi_text", None)
    if text is not None:
        return str(text())
    from ..config.schema import dump_json

    return dump_json(sandbox.openapi_document())


def _check() -> str:
    from ..config.schema import check_schema, dump_json

    return dump_json(check_schema())


# The schema `wscfg validate` reads at run time (wscfg.config.schemacheck): in the package.
PACKAGED = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "config", "document.schema.json"
)

# name -> (file under the schemas directory, or PACKAGED; producer)
DOCUMENTS: dict[str, tuple[str, Callable[[], str]]] = {
    "workspace": ("workspace.schema.json", _workspace),
    "openapi": ("openapi.json", _openapi),
    "check": (PACKAGED, _check),
}


def _shown(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith(os.pardir) else rel


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(list(DOCUMENTS)), metavar="[NAME]...")
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
        stale: list[str] = []
        for name in names or tuple(DOCUMENTS):
            filename, produce = DOCUMENTS[name]
            packaged = filename == PACKAGED
            path = filename if packaged else os.path.join(directory, filename)
            text = produce()
            shown = _shown(path)
            current = _read(path)
            if check:
                if current != text:
                    stale.append(path)
                    why = "missing" if current is None else "out of date"
                    echo_err(f"{shown} is {why}; run `wscfg schema` to regenerate it")
                else:
                    click.echo(f"{shown} is up to date")
                continue
            if current == text:
                click.echo(f"{shown} is up to date")
                continue
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            click.echo(f"wrote {shown}")
        if stale:
            sys.exit(1)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
