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


# name -> (file under the schemas directory, producer)
DOCUMENTS: dict[str, tuple[str, Callable[[], str]]] = {
    "workspace": ("workspace.schema.json", _workspace),
    "openapi": ("openapi.json", _openapi),
}


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(list(DOCUMENTS)), metavar="[NAME]...")
@click.option("--check", is_flag=True, help="Do not write; exit 1 if a file is missing or stale.")
@click.option(
    "--dir",
    "directory",
    default="schemas",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the schema files live.",
)
@click.pass_context
def schema(ctx: click.Context, names: tuple[str, ...], check: bool, directory: str) -> None:
    """Write (or --check) schemas/workspace.schema.json and schemas/openapi.json.

    workspace.schema.json is the JSON Schema of a config file (for editors: add
    `# yaml-language-server: $schema=<path>/workspace.schema.json` to a file); openapi.json
    describes the Workspace Settings API served by `wscfg sandbox`. NAME limits the run to
    `workspace` or `openapi`.
    """
    with handle_errors(debug_of(ctx)):
        stale: list[str] = []
        for name in names or tuple(DOCUMENTS):
            filename, produce = DOCUMENTS[name]
            path = os.path.join(directory, filename)
            text = produce()
            current = _read(path)
            if check:
                if current != text:
                    stale.append(path)
                    why = "missing" if current is None else "out of date"
                    echo_err(f"{path} is {why}; run `wscfg schema` to regenerate it")
                else:
                    click.echo(f"{path} is up to date")
                continue
            if current == text:
                click.echo(f"{path} is up to date")
                continue
            os.makedirs(directory, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            click.echo(f"wrote {path}")
        if stale:
            sys.exit(1)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
