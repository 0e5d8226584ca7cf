"""What plan, apply and clone share on the command line: the connection options and the
settings they make, printing plans, what a run says, asking, and the apply report.

The run itself is :mod:`wscfg.workflow.run`; only the cli package prints or exits.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import echo_err

if TYPE_CHECKING:
    from ..engine.apply import Outcome
    from ..engine.envmask import EnvMask
    from ..workflow.results import ApplyResult, Notice
    from ..workflow.run import Events
    from ..workflow.settings import Settings


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


SERVER_HELP = (
    "Workspace Settings API base URL, with or without its /v1 (default: $WSCFG_SERVER, else "
    "the embedded sandbox in ./.wscfg/). The key is read from $WSCFG_TOKEN."
)
EMBEDDED_HELP = (
    "Use the local embedded sandbox in ./.wscfg/ even though WSCFG_TOKEN is set or this is a "
    "CI job (both refuse it otherwise)."
)


def server_options(fn: Any) -> Any:
    """``--server URL`` and ``--embedded``: the command receives ``server`` only (the
    :data:`~wscfg.connection.FORCE_EMBEDDED` marker for ``--embedded``)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta["wscfg.embedded"] = value

    def combine(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if not ctx.meta.get("wscfg.embedded"):
            return value
        if value:
            raise click.UsageError("give either --server or --embedded, not both")
        from ..connection import FORCE_EMBEDDED

        return FORCE_EMBEDDED

    fn = click.option("--server", metavar="URL", callback=combine, help=SERVER_HELP)(fn)
    return click.option(
        "--embedded",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=remember,
        help=EMBEDDED_HELP,
    )(fn)


DEFAULT_TIMEOUT = 300  # seconds a whole command may spend talking to servers
_DEADLINE = "wscfg.deadline"


def timeout_option(fn: Any) -> Any:
    """``--timeout SECONDS``: one deadline for everything the command does over the network."""

    def remember(ctx: click.Context, _param: click.Parameter, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            raise click.BadParameter("must be 0 (no limit) or more seconds", param_hint="--timeout")
        ctx.meta[_DEADLINE] = (value, time.monotonic() + value if value else None)

    return click.option(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        expose_value=False,
        is_eager=True,
        callback=remember,
        help="Stop when the whole run has talked to the server this long (0: no limit); "
        "each request also has its own 150 s deadline.",
    )(fn)


_RATE = "wscfg.rate_limit"


def rate_limit_option(fn: Any) -> Any:
    """``--rate-limit N``: requests per second for the whole run, on top of what the server
    advertises (its ``RateLimit-Policy`` / ``RateLimit`` fields)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise click.BadParameter(
                "must be a positive number of requests per second", param_hint="--rate-limit"
            )
        ctx.meta[_RATE] = value

    return click.option(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        expose_value=False,
        callback=remember,
        help="Send at most N requests per second in the whole run (every workspace, reads and "
        "writes); the server's advertised limit applies too.",
    )(fn)


def settings(server: str | None = None, parallel: int = 8) -> Settings:
    """The run settings of the running command: ``--server``/``--embedded`` (else
    ``$WSCFG_SERVER``, with ``$WSCFG_TOKEN``), its ``--timeout`` deadline, ``--rate-limit``,
    ``--parallel`` and the plan key (``$WSCFG_PLAN_KEY``, else ``$WSCFG_TOKEN``)."""
    from ..connection import settings_from_env
    from ..workflow.keys import plan_key_from_env
    from ..workflow.settings import Settings

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    if server is None and ctx is not None:
        server = ctx.params.get("server")
    seconds, deadline = meta.get(_DEADLINE, (0, None))
    rate = meta.get(_RATE)
    return Settings(
        lambda: settings_from_env(server),
        Path.cwd(),
        parallel,
        float(rate) if rate is not None else None,
        seconds,
        deadline,
        plan_key_from_env(os.environ),
    )


def plan_key_here() -> bytes | None:
    """The plan key here without connecting or creating anything (``wscfg show``)."""
    from ..workflow.keys import plan_key_here as here

    return here(os.environ, Path.cwd())


def render_plans(plans: list[Any], failures: list[Any], fmt: str, server: str, **how: Any) -> None:
    """Print the plans (:func:`wscfg.workflow.report.render_plans`, ``how`` its options):
    colour on a terminal without ``$NO_COLOR``; markdown also goes to ``$GITHUB_STEP_SUMMARY``
    unless ``summary`` is false; a partial plan's note in the command line's words."""
    from ..workflow import report
    from .options import partial_note

    summary = how.pop("summary", True)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    only = how.get("only", ())
    click.echo(
        report.render_plans(
            plans,
            failures,
            fmt,
            server,
            colour=colour,
            note=partial_note(only) if only else None,
            step_summary=os.environ.get("GITHUB_STEP_SUMMARY") if summary else None,
            on_notice=echo_err,
            **how,
        )
    )


def job_summary(markdown: Callable[[int, str], str], full: str) -> str:
    """:func:`wscfg.workflow.report.job_summary` into ``$GITHUB_STEP_SUMMARY``."""
    from ..workflow.report import job_summary as append

    return append(markdown, full, os.environ.get("GITHUB_STEP_SUMMARY"), echo_err)


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


def say(notice: Notice) -> None:
    """What a run says, as the command line words it (on stderr)."""
    items = notice.slugs

    def names() -> str:
        more = f" and {len(items) - 10} more" if len(items) > 10 else ""
        return ", ".join(items[:10]) + more

    if notice.code == "embedded":
        echo_err(
            f"Using the {notice.detail}: no --server or WSCFG_SERVER set. "
            "Set them to work on a real platform."
        )
    elif notice.code == "empty-shard":
        echo_err(f"No workspace falls in shard {notice.detail}; nothing to do.")
    elif notice.code == "unconfigured":
        echo_err(f"Note: {len(items)} workspace(s) have no config file: {names()}")
    elif notice.code == "missing":
        echo_err(
            f"{len(items)} configured workspace(s) do not exist: {names()}; "
            "`wscfg apply --create-missing` creates them"
        )
    else:
        echo_err(notice.text)


class ApplyLines:
    """Apply's lines on stdout (:class:`~wscfg.workflow.results.OutcomeLines`), environment
    values masked, every line escaped."""

    def __init__(self, mask: EnvMask | None) -> None:
        from ..workflow.results import OutcomeLines

        self.mask = mask
        self.lines = OutcomeLines()

    def outcome(self, slug: str, o: Outcome) -> None:
        from ..escape import text
        from ..workflow.keys import masked

        line = self.lines.line(slug, o)
        if line is not None:
            click.echo(text(masked(self.mask, line)))

    def counts(self) -> None:
        from ..escape import text

        for line in self.lines.counts():
            click.echo(text(line))


def events(auto_approve: bool, mask: EnvMask | None = None) -> tuple[Events, ApplyLines]:
    """The events of a command's run: notices on stderr, questions on the terminal, apply's
    lines on stdout, a progress bar on a terminal."""
    from ..workflow.run import Events

    lines = ApplyLines(mask)
    return Events(say, asker(auto_approve), lines.outcome, progress), lines


def finish(result: ApplyResult, mask: EnvMask | None = None) -> None:
    """Print per-workspace results; raise ApplyError (exit 3 if anything was written or a
    target was skipped as unsafe, else 1)."""
    for line in result.lines(mask):
        click.echo(line)
    result.raise_for_errors()


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Any]:
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda _name: bar.update(1)
