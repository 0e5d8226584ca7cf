"""Options several commands share (kept out of cli/__init__ so `--help` stays lean)."""

from __future__ import annotations

import click

CONFIG_ROOT_HELP = (
    "Also allow `extends:` to reach files in DIR (repeatable). By default a config may only "
    "extend files inside its git work tree, else inside the folder named on the command line."
)

config_root_option = click.option(
    "--config-root",
    "config_roots",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False),
    help=CONFIG_ROOT_HELP,
)
