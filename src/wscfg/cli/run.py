"""A run on the command line: the options the commands that reach workspaces share, what
they say (:class:`Fleet`: the library's settings, selection and allowances), and what a run
prints, says and asks (plans, notices, the question before a write, the apply report).

The run itself is :mod:`wscfg.workflow.run`; only the cli package prints or exits. Kept out of
cli/__init__ so `--help` stays lean.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from . import echo_err

if TYPE_CHECKING:
    from ..engine.apply import Outcome
    from ..engine.envmask import EnvMask
    from ..engine.safety import Allowances
    from ..workflow.results import Notice, OutcomeLines, PlanSet
    from ..workflow.run import Events
    from ..workflow.selection import Selection
    from ..workflow.settings import Settings

Decorator = Callable[[Any], Any]

config_root_option = click.option(
    "--config-root",
    "config_roots",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False),
    help="Also allow `extends:` to reach files in DIR (repeatable). By default a config may only "
    "extend files inside its git work tree, else inside the folder named on the command line.",
)


# Which workspaces a fleet command works on, and the allowances of apply: one definition each,
# shared by plan, apply, drift, adopt and clone (tests/cli/test_option_vocabulary.py).
target_option = click.option(
    "--target",
    "target_patterns",
    multiple=True,
    metavar="GLOB",
    help="Only workspaces whose slug matches (repeatable, globs allowed).",
)
shard_option = click.option(
    "--shard", metavar="I/N", help="Only the I-th of N deterministic shares."
)
cache_option = click.option(
    "--cache",
    metavar="DIR",
    help="Keep each workspace's last read in DIR (default: $WSCFG_CACHE); an unchanged one then "
    "costs a 304, which APIs do not count against their limit. Same results; safe to delete.",
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
    multiple=True,
    metavar="KIND[:KEY]",
    help="Only these items (repeatable): a kind (`webhooks`) or one item (`call_tags:spam`); "
    "Terraform-style targeting. A selector matching no declared or live item is an error.",
)


def _at_least_one(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value < 1:
        raise click.UsageError(f"--parallel must be at least 1 (got {value})", ctx)
    return value


parallel_option = click.option(
    "--parallel",
    default=8,
    show_default=True,
    type=int,
    metavar="N",
    callback=_at_least_one,
    help="Workspaces handled at once (1 or more).",
)


def _embedded(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta["wscfg.embedded"] = value


def _server(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--server URL`` or ``--embedded``: the command receives ``server`` only (the
    :data:`~wscfg.connection.FORCE_EMBEDDED` marker for ``--embedded``)."""
    if not ctx.meta.get("wscfg.embedded"):
        return value
    if value:
        raise click.UsageError("give either --server or --embedded, not both")
    from ..connection import FORCE_EMBEDDED

    return FORCE_EMBEDDED


embedded_option = click.option(
    "--embedded",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_embedded,
    help="Use the local embedded sandbox in ./.wscfg/ even though WSCFG_TOKEN is set or this is "
    "a CI job (both refuse it otherwise).",
)
server_option = click.option(
    "--server",
    metavar="URL",
    callback=_server,
    help="Workspace Settings API base URL, with or without its /v1 (default: $WSCFG_SERVER, "
    "else the embedded sandbox in ./.wscfg/). The key is read from $WSCFG_TOKEN.",
)


def _deadline(ctx: click.Context, _param: click.Parameter, value: float) -> None:
    """``--timeout SECONDS``: one deadline for everything the command does over the network."""
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter("must be 0 (no limit) or more seconds", param_hint="--timeout")
    ctx.meta["wscfg.deadline"] = (value, time.monotonic() + value if value else None)


timeout_option = click.option(
    "--timeout",
    type=float,
    default=300,  # seconds a whole command may spend talking to servers
    show_default=True,
    metavar="SECONDS",
    expose_value=False,
    is_eager=True,
    callback=_deadline,
    help="Stop when the whole run has talked to the server this long (0: no limit); "
    "each request also has its own 150 s deadline.",
)


def _rate(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
    """``--rate-limit N``: requests per second for the whole run, on top of what the server
    advertises (its ``RateLimit-Policy`` / ``RateLimit`` fields)."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise click.BadParameter(
            "must be a positive number of requests per second", param_hint="--rate-limit"
        )
    ctx.meta["wscfg.rate_limit"] = value


rate_limit_option = click.option(
    "--rate-limit",
    type=float,
    metavar="N",
    expose_value=False,
    callback=_rate,
    help="Send at most N requests per second in the whole run (every workspace, reads and "
    "writes); the server's advertised limit applies too.",
)


def options(*decorators: Decorator) -> Decorator:
    """The options in the order ``--help`` lists them."""
    return lambda fn: functools.reduce(lambda f, option: option(f), reversed(decorators), fn)


# The server and how long and fast to talk to it: every command that reaches one.
CONNECTION = (embedded_option, server_option, timeout_option, rate_limit_option)
# Which workspaces (and the read cache): plan, apply, drift and adopt.
SELECTION = (config_root_option, target_option, shard_option, cache_option)
# The server and which workspaces to read: plan, apply and drift.
WORKSPACES = (*CONNECTION, *SELECTION, parallel_option)
ALLOWANCES = (allow_mass_changes_option, fleet_delete_share_option, skip_unsafe_option)
# plan and apply: the workspaces, --only and the allowances.
PLAN_OPTIONS = (*WORKSPACES, only_option, *ALLOWANCES, new_secrets_option, force_option)


@dataclass(frozen=True)
class Fleet:
    """What the options of a command that works on workspaces say (plan, apply, drift, adopt,
    clone; each has some of them), and what the library makes of them."""

    paths: tuple[str, ...] = ()
    server: str | None = None
    config_roots: tuple[str, ...] = ()
    target_patterns: tuple[str, ...] = ()
    shard: str | None = None
    cache: str | None = None
    parallel: int = 8
    only: tuple[str, ...] = ()
    allow_mass_changes: bool = False
    fleet_delete_share: float = 0.25
    skip_unsafe: bool = False
    new_secrets_to: str | None = None
    force: bool = False

    def settings(self) -> Settings:
        """The run settings of the running command: ``--server``/``--embedded`` (else
        ``$WSCFG_SERVER``, with ``$WSCFG_TOKEN``), its ``--timeout`` deadline, ``--rate-limit``,
        ``--parallel``, ``--cache`` (else ``$WSCFG_CACHE``) and the plan key
        (``$WSCFG_PLAN_KEY``, else ``$WSCFG_TOKEN``)."""
        from ..workflow.settings import Settings

        meta = click.get_current_context().meta
        timeout, deadline = meta.get("wscfg.deadline", (0, None))
        how = {"rate_limit": meta.get("wscfg.rate_limit"), "cache": self.cache}
        return Settings.from_env(
            self.server, self.parallel, timeout=timeout, deadline=deadline, **how
        )

    def selection(self) -> Selection:
        """The targets PATHS, --target and --shard pick."""
        from ..workflow.selection import select

        return select(self.paths, self.target_patterns, self.shard, self.config_roots)

    def allow(self) -> Allowances:
        from ..engine.safety import Allowances

        return Allowances(
            self.allow_mass_changes,
            self.fleet_delete_share,
            self.skip_unsafe,
            self.new_secrets_to is not None,
        )


def show_plans(ps: PlanSet, fmt: str, *, summary: bool = True, **how: Any) -> None:
    """Print the plans (:func:`wscfg.workflow.report.render_planset`, ``how`` its options):
    colour on a terminal without ``$NO_COLOR``; markdown also goes to ``$GITHUB_STEP_SUMMARY``
    unless ``summary`` is false; a partial plan's note in the command line's words."""
    from ..workflow.report import partial_note, render_planset

    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    note = partial_note(ps.only, "--only") if ps.only else None
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY") if summary else None
    how.update(colour=colour, note=note, step_summary=step_summary, on_notice=echo_err)
    click.echo(render_planset(ps, fmt, **how))


def asker(auto_approve: bool) -> Callable[[str], bool]:
    """Ask, Terraform style: only ``yes`` in full goes ahead; anything else is False (the
    run raises ApplyCancelled: "Apply cancelled.", exit 1, as Terraform does), so a script
    never reads a decline as success. Without a TTY and ``--auto-approve``: a usage error."""

    def ask(question: str) -> bool:
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise click.UsageError(
                "refusing to apply without confirmation: no TTY; pass --auto-approve"
            )
        answer = click.prompt(
            f"{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value",
            default="",
            show_default=False,
        )
        return bool(answer.strip() == "yes")

    return ask


# What the command line says of a run's notices (``{text}``: the library's words), by code.
SAID = {
    "embedded": "Using the {detail}: no --server or WSCFG_SERVER set. "
    "Set them to work on a real platform.",
    "empty-shard": "No workspace falls in shard {detail}; nothing to do.",
    "unconfigured": "Note: {text}",
    "missing": "{text}; `wscfg apply --create-missing` creates them",
}


def say(notice: Notice) -> None:
    """What a run says, as the command line words it (on stderr)."""
    echo_err(SAID.get(notice.code, "{text}").format(text=notice.text, detail=notice.detail))


def events(auto_approve: bool, mask: EnvMask | None = None) -> tuple[Events, OutcomeLines]:
    """The events of a command's run: notices on stderr, questions on the terminal, apply's
    lines on stdout (environment values masked, every line escaped), a progress bar on a
    terminal; and those lines, to say how many more there were."""
    from ..workflow.results import OutcomeLines
    from ..workflow.run import Events

    lines = OutcomeLines(mask)

    def outcome(slug: str, o: Outcome) -> None:
        line = lines.line(slug, o)
        if line is not None:
            click.echo(line)

    return Events(say, asker(auto_approve), outcome, progress), lines


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Any]:
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda _name: bar.update(1)


def planned(fleet: Fleet, at: Settings, auto_approve: bool = False, **how: Any) -> PlanSet:
    """The plans of ``fleet`` (``how``: more options of :func:`wscfg.workflow.run.plan`), and
    a partial plan's note on stderr."""
    from ..workflow import run
    from ..workflow.report import partial_note
    from ..workflow.selection import parse_only

    allow = fleet.allow()
    parse_only(fleet.only)
    ps = run.plan(
        at, fleet.selection(), allow=allow, only=fleet.only, events=events(auto_approve)[0], **how
    )
    if fleet.only:
        echo_err(partial_note(fleet.only, "--only"))
    return ps


def apply_planset(
    at: Settings, ps: PlanSet, auto_approve: bool, secrets: tuple[str | None, bool] = (None, False)
) -> None:
    """Show the plans (with what apply would refuse and the live policy violations, which
    apply reports and never acts on), ask, apply, print per-workspace results; raise
    ApplyError (exit 3 if anything was written or a target was skipped as unsafe, else 1)."""
    from ..workflow.run import after_writes, apply
    from ..workflow.secrets import SecretsHook

    with after_writes(ps.created, ps.uncertain):
        show_plans(ps, "text")
        happened, lines = events(auto_approve, ps.mask)
        happened.open_secrets = hook = SecretsHook(*secrets)
        result = apply(at, ps, happened)
        for line in lines.counts():
            click.echo(line)
        if hook.file is not None and hook.file.written:
            echo_err(
                f"Wrote {hook.file.written} API key secret(s) to {hook.file.path} (mode 0600)."
            )
        for line in result.lines(ps.mask):
            click.echo(line)
        result.raise_for_errors()
