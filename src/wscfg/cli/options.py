"""Options several commands share (kept out of cli/__init__ so `--help` stays lean)."""

from __future__ import annotations

import click

# What plan, apply, drift and adopt share with the library (its errors name the API's
# options; handle_errors words them with the flags below).
from ..workflow.selection import check_only as check_only
from ..workflow.selection import narrow as narrow
from ..workflow.selection import parse_only as parse_only
from ..workflow.selection import selected as selected

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


# Which workspaces a fleet command works on, and the allowances of apply: one definition each,
# shared by plan, apply, drift, adopt and clone (tests/cli/test_option_vocabulary.py).
target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="GLOB",
    help="Only workspaces whose slug matches (repeatable, globs allowed).",
)
shard_option = click.option(
    "--shard", metavar="I/N", help="Only the I-th of N deterministic shares."
)
allow_mass_changes_option = click.option(
    "--allow-mass-changes",
    is_flag=True,
    help="Allow deleting or updating more than 30% of a kind holding 10+ items.",
)
fleet_delete_share_option = click.option(
    "--fleet-delete-share",
    default=0.25,
    show_default=True,
    type=click.FloatRange(0, 1),
    metavar="SHARE",
    help="Refuse when more than this share of 4+ targets would delete items.",
)
skip_unsafe_option = click.option(
    "--skip-unsafe",
    is_flag=True,
    help="Apply the safe targets of a fleet and skip the ones apply would refuse "
    "(exit 3 when any is skipped).",
)
new_secrets_option = click.option(
    "--new-secrets-to",
    "new_secrets_to",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the secret of each API key created or re-issued (rotation raised) to FILE "
    "(NAME=value lines, mode 0600): the only place it is ever written. Required when a plan "
    "creates or rotates a key.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="With --new-secrets-to: overwrite an existing FILE (its other keys' lines are kept).",
)
auto_approve_option = click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (required without a TTY)."
)


only_option = click.option(
    "--only",
    "only",
    multiple=True,
    metavar="KIND[:KEY]",
    help="Only these items (repeatable): a kind (`webhooks`) or one item (`call_tags:spam`); "
    "Terraform-style targeting. A selector matching no declared or live item is an error.",
)


def partial_note(only: tuple[str, ...]) -> str:
    """What plan, apply and show say (on stderr) of a plan made with ``--only``."""
    return (
        f"Partial plan (--only {', '.join(only)}): other differences are neither shown nor applied."
    )
