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
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import echo_err

if TYPE_CHECKING:
    from ..engine.apply import Outcome
    from ..engine.envmask import EnvMask
    from ..workflow.results import ApplyResult, Notice
    from ..workflow.run import Events
    from ..workflow.settings import Settings

T = TypeVar("T")


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


def current_rate_limit() -> float | None:
    """The ``--rate-limit`` of the running command (``None``: none given)."""
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(_RATE) if ctx is not None else None
    return float(value) if value is not None else None


PLAN_KEY_ENV = "WSCFG_PLAN_KEY"


def _plan_key_from_env() -> bytes | None:
    """``WSCFG_PLAN_KEY``, else ``WSCFG_TOKEN`` (``None``: neither is set)."""
    from ..api.settings import TOKEN_ENV

    for name in (PLAN_KEY_ENV, TOKEN_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value.encode()
    return None


def settings(server: str | None = None, parallel: int = 8) -> Settings:
    """The run settings of the running command: ``--server``/``--embedded`` (else
    ``$WSCFG_SERVER``, with ``$WSCFG_TOKEN``), its ``--timeout`` deadline, ``--rate-limit``,
    ``--parallel`` and the plan key (``$WSCFG_PLAN_KEY``, else ``$WSCFG_TOKEN``)."""
    from ..connection import settings_from_env
    from ..workflow.settings import Settings

    ctx = click.get_current_context(silent=True)
    if server is None and ctx is not None:
        server = ctx.params.get("server")
    seconds, deadline = ctx.meta.get(_DEADLINE, (0, None)) if ctx is not None else (0, None)
    return Settings(
        lambda: settings_from_env(server),
        Path.cwd(),
        parallel,
        current_rate_limit(),
        seconds,
        deadline,
        _plan_key_from_env(),
    )


def run_async(coro: Coroutine[Any, Any, T], *, writing: bool = False) -> T:
    """Run one step of a command inside what is left of its ``--timeout``."""
    return settings().run(coro, writing=writing)


def plan_key() -> bytes:
    """The key that seals secrets in plan files: ``WSCFG_PLAN_KEY``, else the API key (of the
    server, or of the embedded sandbox). See :mod:`wscfg.engine.seal`."""
    return settings().key()


def plan_key_here() -> bytes | None:
    """The plan key if this environment has one without connecting or creating anything:
    ``WSCFG_PLAN_KEY``, ``WSCFG_TOKEN``, or the key of an embedded sandbox that exists here
    (``wscfg show`` checks a seal with it)."""
    from ..connection import stored_embedded_key

    from_env = _plan_key_from_env()
    if from_env is not None:
        return from_env
    try:
        return stored_embedded_key(Path.cwd()).encode()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def masked(mask: EnvMask | None, text: str) -> str:
    return mask.text(text) if mask else text


def render_plans(
    plans: list[Any],
    failures: list[Any],
    fmt: str,
    server: str,
    *,
    allow: Any = None,
    refusals: list[Any] | None = None,
    full: bool = False,
    summary: bool = True,
    sealer: Any = None,
    mask: Any = None,
    only: tuple[str, ...] = (),
    run: dict[str, Any] | None = None,
    violations: Sequence[Any] = (),
) -> None:
    """Print the plans in ``fmt`` with what apply would refuse and the policy ``violations``
    of the live workspaces (reported only: they add no change), environment values masked;
    markdown also goes to ``$GITHUB_STEP_SUMMARY`` when that is set (the job summary of a
    GitHub Actions step) and ``summary`` is true. ``only``: the ``--only`` selection of a
    partial plan, recorded in the json document and noted at the top of markdown."""
    from ..engine import render
    from ..workflow import report
    from .options import partial_note

    found = refusals or []
    skip = bool(allow is not None and allow.skip_unsafe)
    if fmt == "json":
        text = report.plans_json(
            plans,
            failures,
            server,
            allow=allow,
            sealer=sealer,
            only=only,
            mask=mask,
            run=run,
            violations=violations,
        )
        click.echo(text)  # masked before it was sealed
    elif fmt == "markdown":

        def markdown(budget: int, where: str) -> str:
            return report.plans_markdown(
                plans,
                failures,
                budget=budget,
                where=where,
                refusals=found,
                skip_unsafe=skip,
                mask=mask,
                note=partial_note(only) if only else None,
                violations=violations,
            )

        # the comment (stdout) fits 65,536 characters and says where the whole plan is
        where = job_summary(markdown, render.FULL_PLAN) if summary else render.FULL_PLAN
        click.echo(markdown(render.MARKDOWN_BUDGET, where))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(
            report.plans_text(
                plans,
                failures,
                colour=colour,
                refusals=found,
                skip_unsafe=skip,
                full=full,
                mask=mask,
                violations=violations,
            )
        )


def job_summary(markdown: Callable[[int, str], str], full: str) -> str:
    """Give ``$GITHUB_STEP_SUMMARY`` (when set) a markdown report, ``markdown(budget, where)``:
    the whole report when it fits (1 MiB), else folded as a comment is. Returns where a PR
    comment should say the whole report is: the job summary when it took it whole, else
    ``full``."""
    from ..engine import render

    if not os.environ.get("GITHUB_STEP_SUMMARY"):
        return full
    job = fit_bytes(markdown, render.JOB_SUMMARY_BYTES, full)
    _step_summary(job)
    return "in this run's job summary" if render.CUT_NOTE not in job else full


def fit_bytes(render: Callable[[int, str], str], limit: int, where: str) -> str:
    """``render(budget, where)`` (a budget in characters) whose UTF-8 form fits ``limit``
    bytes: tried at ``limit`` characters, then at a budget scaled to what the text weighed."""
    budget = limit - 4096
    while True:
        text: str = render(budget, where)
        size = len(text.encode("utf-8"))
        if size <= limit - 1 or budget < 1000:
            return text
        budget = budget * (limit - 4096) // size


def _step_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        echo_err(
            f"Warning: could not write the job summary to $GITHUB_STEP_SUMMARY: {exc.strerror}"
        )


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
