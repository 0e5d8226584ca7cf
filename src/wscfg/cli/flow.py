"""What plan, apply and clone share: rendering, asking, applying, reporting.

Only the cli package prints; these helpers print and raise the errors that set exit codes.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import echo_err

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, with the result handed back outside the task.

    On Python 3.11, ``asyncio.run`` ends by restoring the SIGINT handler and, on the way,
    formats the repr of its main task, result included (a CPython 3.11 quirk): for a plan of
    20,000 changes that repr took most of a second. The task here returns ``None``.
    """
    import asyncio

    box: list[T] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]


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


APPLY_LINES_PER_KIND = 20  # per workspace, kind and status; the rest are counted


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
    :data:`~wscfg.connect.FORCE_EMBEDDED` marker for ``--embedded``)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta["wscfg.embedded"] = value

    def combine(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if not ctx.meta.get("wscfg.embedded"):
            return value
        if value:
            raise click.UsageError("give either --server or --embedded, not both")
        from ..connect import FORCE_EMBEDDED

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


def run_async(coro: Any, *, writing: bool = False) -> Any:
    """Run one step of a command inside what is left of its ``--timeout``."""
    import asyncio

    from ..errors import ApplyError, WscfgError

    ctx = click.get_current_context(silent=True)
    seconds, deadline = ctx.meta.get(_DEADLINE, (0, None)) if ctx is not None else (0, None)
    if deadline is None:
        return run_coroutine(coro)

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, max(deadline - time.monotonic(), 0.001))

    try:
        return run_coroutine(bounded())
    except TimeoutError:
        if writing:
            raise ApplyError(
                f"apply stopped after --timeout {seconds:g} s; some changes may have been made: "
                "run `wscfg plan` to see what is left",
                partial=True,
            ) from None
        raise WscfgError(
            f"gave up after --timeout {seconds:g} s; nothing was written (raise --timeout for "
            "a slow server or a large fleet)"
        ) from None


async def apply_plans(
    server: str | None,
    plans: list[Any],
    secrets: Any,
    parallel: int,
    mask: Any = None,
    on_secret: Any = None,
) -> Any:
    """Apply, printing one line per change (at most 20 per workspace, kind and status, then a
    count), so the lines add up to the "N applied" that follows."""
    from ..connect import connect
    from ..escape import text
    from ..fleet import apply_fleet

    shown: dict[tuple[str, str, str], int] = {}
    marks = {"done": "✓", "failed": "✗", "skipped": "·"}

    def on_outcome(slug: str, o: Any) -> None:
        group = (slug, o.change.kind, o.status)
        shown[group] = shown.get(group, 0) + 1
        if shown[group] > APPLY_LINES_PER_KIND:
            return
        line = f"{marks[o.status]} {slug}: {o.change.symbol} {o.change.label}"
        if o.detail:
            line += f": {o.detail}"
        click.echo(text(masked(mask, line)))

    async with connect(server, parallel=parallel, rate_limit=current_rate_limit()) as conn:
        if any(not p.empty for p in plans):
            await check_can_write(conn.client)
        result = await apply_fleet(
            conn.client,
            plans,
            secrets,
            parallel=parallel,
            on_outcome=on_outcome,
            on_secret=on_secret,
        )
    verbs = {"done": "applied", "failed": "failed", "skipped": "not attempted"}
    for (slug, kind, status), n in shown.items():
        if n > APPLY_LINES_PER_KIND:
            more = n - APPLY_LINES_PER_KIND
            noun = kind.replace("_", " ")
            click.echo(text(f"{marks[status]} {slug}: … and {more} more {noun} {verbs[status]}"))
    return result


WRITE_SCOPE = "settings:write"


async def check_can_write(client: Any) -> None:
    """Once, before the first write: refuse a key that cannot write, instead of collecting a
    403 for every change."""
    from ..errors import WscfgError

    key = await client.describe_key()
    if key is None:
        return  # a server that does not describe keys: its 403s will say it
    scopes = key.get("scopes")
    if isinstance(scopes, list) and WRITE_SCOPE not in scopes:
        shown = ", ".join(str(s) for s in scopes) or "none"
        raise WscfgError(
            f"the API key cannot change settings (its scopes: {shown}); apply needs a key with "
            f"{WRITE_SCOPE}. Nothing was written."
        )


def desired_secrets(run: Any) -> Any:
    """Secret values of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return lambda plan: lookups[plan.slug]


PLAN_KEY_ENV = "WSCFG_PLAN_KEY"


def _plan_key_from_env() -> bytes | None:
    """``WSCFG_PLAN_KEY``, else ``WSCFG_TOKEN`` (``None``: neither is set)."""
    from ..api.settings import TOKEN_ENV

    for name in (PLAN_KEY_ENV, TOKEN_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value.encode()
    return None


def plan_key() -> bytes:
    """The key that seals secrets in plan files: ``WSCFG_PLAN_KEY``, else the API key (of the
    server, or of the embedded sandbox). See :mod:`wscfg.engine.seal`."""
    from_env = _plan_key_from_env()
    if from_env is not None:
        return from_env
    from ..api.settings import server_from_env
    from ..connect import FORCE_EMBEDDED, check_embedded_allowed, embedded_key

    ctx = click.get_current_context(silent=True)
    server = ctx.params.get("server") if ctx is not None else None
    forced = server == FORCE_EMBEDDED
    if not forced:
        server_from_env(server)  # a server without WSCFG_TOKEN: the same error connect gives
    check_embedded_allowed(os.environ, forced=forced)  # never create a sandbox it would refuse
    return embedded_key(Path.cwd()).encode()


def plan_key_here() -> bytes | None:
    """The plan key if this environment has one without connecting or creating anything:
    ``WSCFG_PLAN_KEY``, ``WSCFG_TOKEN``, or the key of an embedded sandbox that exists here
    (``wscfg show`` checks a seal with it)."""
    from ..connect import stored_embedded_key

    from_env = _plan_key_from_env()
    if from_env is not None:
        return from_env
    try:
        return stored_embedded_key(Path.cwd()).encode()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def plan_sealer(run: Any) -> Any:
    """Seal the secrets of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired
    from ..engine.seal import Sealer

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return Sealer(plan_key(), lambda slug: lookups[slug])


def env_mask(values: dict[str, str]) -> Any:
    """The mask for environment values the configs used (None when they used none); the values
    are also registered for redaction of server messages."""
    if not values:
        return None
    from ..api import redact
    from ..engine.envmask import MIN_MASKED, EnvMask

    for value in values.values():
        if len(value) >= MIN_MASKED:
            redact.register(value)
    return EnvMask(values, plan_key())


def environment_values() -> dict[str, str]:
    """Environment values worth hiding in output made from live data (clone): long enough not
    to be common words, and not file paths."""
    from ..engine.envmask import referable

    return {name: value for name, value in os.environ.items() if referable(name, value)}


def run_env_mask(run: Any) -> Any:
    values: dict[str, str] = {}
    for state in run.desired.values():
        if state.target_config is not None:
            values.update(state.target_config.env_values)
    return env_mask(values)


def masked(mask: Any, text: str) -> str:
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
    from ..engine.violations import report_markdown as violations_markdown
    from ..engine.violations import report_text as violations_text
    from .options import partial_note

    total = len(plans) + len(failures)

    found = refusals or []
    skip = bool(allow is not None and allow.skip_unsafe)
    if fmt == "json":
        text = render.plan_json(
            plans,
            failures,
            server=server,
            allowances=allow,
            sealer=sealer,
            only=only,
            mask=mask.data if mask else None,
            run=run,
            violations=[v.to_dict() for v in violations],
        )
        click.echo(text)  # masked before it was sealed
    elif fmt == "markdown":

        def markdown(budget: int, where: str) -> str:
            text = render.plan_markdown(
                plans,
                failures,
                budget=budget,
                refusals=found,
                skip_unsafe=skip,
                mask=mask.text if mask else None,
                note=partial_note(only) if only else None,
                full=where,
            )
            if violations:
                room = budget - len(text)
                text += "\n" + "\n".join(violations_markdown(violations, total, room)) + "\n"
            return masked(mask, text)

        # the comment (stdout) fits 65,536 characters and says where the whole plan is
        where = job_summary(markdown, render.FULL_PLAN) if summary else render.FULL_PLAN
        click.echo(markdown(render.MARKDOWN_BUDGET, where))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = render.fleet_text(
            plans, failures, colour=colour, refusals=found, skip_unsafe=skip, full=full
        )
        if violations:
            text += "\n" + "\n".join(violations_text(violations, total))
        click.echo(masked(mask, text))


def job_summary(markdown: Any, full: str) -> str:
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


def fit_bytes(render: Any, limit: int, where: str) -> str:
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


def confirm(auto_approve: bool, question: str) -> None:
    """Ask, Terraform style: only ``yes`` in full goes ahead; anything else is "Apply
    cancelled." and exit 1 (as Terraform does), so a script never reads a decline as success."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(
            "refusing to apply without confirmation: no TTY; pass --auto-approve"
        )
    answer = click.prompt(
        f"{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value",
        default="",
        show_default=False,
    )
    if answer.strip() != "yes":
        echo_err("Apply cancelled.")
        sys.exit(1)


def finish(
    reports: list[Any],
    failures: list[Any],
    planned: list[str],
    mask: Any = None,
    *,
    skipped: Sequence[str] = (),
) -> None:
    """Print per-workspace results; raise ApplyError (exit 3 if anything was written or a
    target was skipped as unsafe, else 1)."""
    from ..errors import ApplyError

    for r in reports:
        click.echo(masked(mask, r.summary()))
    for f in failures:
        click.echo(masked(mask, f"{f.target}: error: {f.message}"))
    for slug in skipped:
        click.echo(f"{slug}: skipped (apply would refuse it; see above)")
    bad = {r.slug for r in reports if not r.complete} | {f.target for f in failures}
    bad |= set(skipped)
    total = len(set(planned) | {f.target for f in failures} | set(skipped))
    if total > 1:
        click.echo(f"{total - len(bad)} of {total} workspace(s) match their configuration.")
    if bad:
        written = any(r.written for r in reports)
        if skipped and not (bad - set(skipped)):
            message = f"skipped {len(skipped)} unsafe workspace(s): {', '.join(skipped)}"
        elif written:
            message = "apply stopped part-way; run `wscfg plan` to see what is left"
        else:
            message = "apply failed; nothing was written"
        raise ApplyError(message, partial=written or bool(skipped))


@contextlib.contextmanager
def after_writes(created: list[str], uncertain: Sequence[str] = ()) -> Iterator[None]:
    """Once workspaces were created (or may have been: a create that failed unheard), no later
    error may say "nothing was written": exit 3."""
    from ..errors import ApplyError, WscfgError

    def names(slugs: Sequence[str]) -> str:
        return ", ".join(slugs[:10]) + (", …" if len(slugs) > 10 else "")

    if not created and not uncertain:
        yield
        return
    try:
        yield
    except WscfgError as exc:
        if exc.exit_code == 3:
            raise
        said = []
        if created:
            said.append(f"{len(created)} workspace(s) were created before this ({names(created)})")
        if uncertain:
            said.append(f"creating {names(uncertain)} may have succeeded unheard")
        # "nothing was written" is no longer true: say what was
        first = "apply stopped part-way" if isinstance(exc, ApplyError) else exc.message
        raise ApplyError(
            f"{first}\n{'; '.join(said)}; run `wscfg plan` to see what is left",
            partial=True,
        ) from None


def question(plans: list[Any]) -> str:
    n = sum(len(p.changes) for p in plans if not p.empty)
    w = sum(1 for p in plans if not p.empty)
    return f"Apply {n} change(s) to {w} workspace(s)?"


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Any]:
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda _name: bar.update(1)
