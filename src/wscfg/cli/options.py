"""Options several commands share (kept out of cli/__init__ so `--help` stays lean)."""

from __future__ import annotations

from typing import Any

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
auto_approve_option = click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (required without a TTY)."
)


def parse_only(values: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """``KIND`` or ``KIND:KEY`` → (kind, key or None); an unknown kind is a usage error."""
    from ..model.kinds import BY_NAME

    out: list[tuple[str, str | None]] = []
    for value in values:
        kind, sep, key = value.partition(":")
        if kind not in BY_NAME:
            raise click.BadParameter(
                f"unknown kind {kind!r}; one of: {', '.join(BY_NAME)}", param_hint="--only"
            )
        if sep and not key:
            raise click.BadParameter(f"{value!r} names no item after ':'", param_hint="--only")
        out.append((kind, key if sep else None))
    return out


def selected(change: Any, only: list[tuple[str, str | None]]) -> bool:
    if not only:
        return True
    return any(change.kind == k and (key is None or change.key == key) for k, key in only)


only_option = click.option(
    "--only",
    "only",
    multiple=True,
    metavar="KIND[:KEY]",
    help="Only these items (repeatable): a kind (`webhooks`) or one item (`call_tags:spam`); "
    "Terraform-style targeting. A selector matching no declared or live item is an error.",
)


def narrow(plans: list[Any], only: tuple[str, ...], live: dict[str, Any] | None = None) -> None:
    """Keep only the selected changes in each plan (in place). With ``live`` (slug → live
    state), the API key checks are made again over the changes kept: a key the selection
    does not touch is no reason to refuse it."""
    from ..engine.apikeys import CODES, key_checks

    picked = parse_only(only)
    for p in plans:
        p.changes = [c for c in p.changes if selected(c, picked)]
        if live is not None and p.slug in live:
            p.checks = [c for c in p.checks if c[0] not in CODES]
            p.checks += key_checks(p.changes, live[p.slug])


def check_only(only: tuple[str, ...], desired: Any, live: Any) -> None:
    """A typo in ``--only`` is an error, not an empty plan: a ``KIND:KEY`` selector must name
    an item some target declares or has (``desired`` and ``live``: slug → DesiredState /
    LiveState); the closest one is suggested. (A kind's name is checked by
    :func:`parse_only`; a kind without items selects nothing, which is not a typo.)"""
    import difflib

    from ..errors import WscfgError

    for text, (kind, key) in zip(only, parse_only(only), strict=True):
        if key is None:  # a kind: its name was checked (parse_only); having no items is fine
            continue
        known: set[str] = set()
        for state in (*desired.values(), *live.values()):
            known.update(state.items.get(kind, {}))
        if key in known:
            continue
        names = sorted(known)
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        if not close:
            lowered = {n.lower(): n for n in names}
            close = [lowered[c] for c in difflib.get_close_matches(key.lower(), lowered, n=1)]
        if close:
            hint = f"; did you mean '{kind}:{close[0]}'?"
        elif names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            hint = f" ({kind}: {shown})"
        else:
            hint = f" (no target declares or has any {kind})"
        raise WscfgError(f"--only {text} matches no declared or live item{hint}")


def partial_note(only: tuple[str, ...]) -> str:
    """What plan, apply and show say (on stderr) of a plan made with ``--only``."""
    return (
        f"Partial plan (--only {', '.join(only)}): other differences are neither shown nor applied."
    )
