"""What plan, apply and clone share: rendering, asking, applying, reporting.

Only the cli package prints; these helpers print and raise the errors that set exit codes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Coroutine, Iterator, Sequence
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
    callback=_at_least_one,
    help="Workspaces handled at once (1 or more).",
)


APPLY_LINES_PER_KIND = 20  # per workspace, kind and status; the rest are counted


async def apply_plans(server: str | None, plans: list[Any], secrets: Any, parallel: int) -> Any:
    """Apply, printing one line per change (at most 20 per workspace, kind and status, then a
    count), so the lines add up to the "N applied" that follows."""
    from ..connect import connect
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
        click.echo(line)

    async with connect(server, parallel=parallel) as conn:
        result = await apply_fleet(
            conn.client, plans, secrets, parallel=parallel, on_outcome=on_outcome
        )
    verbs = {"done": "applied", "failed": "failed", "skipped": "not attempted"}
    for (slug, kind, status), n in shown.items():
        if n > APPLY_LINES_PER_KIND:
            more = n - APPLY_LINES_PER_KIND
            noun = kind.replace("_", " ")
            click.echo(f"{marks[status]} {slug}: … and {more} more {noun} {verbs[status]}")
    return result


def desired_secrets(run: Any) -> Any:
    """Secret values of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return lambda plan: lookups[plan.slug]


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
) -> None:
    """Print the plans in ``fmt`` with what apply would refuse; markdown also goes to
    ``$GITHUB_STEP_SUMMARY`` when that is set (the job summary of a GitHub Actions step) and
    ``summary`` is true."""
    from ..engine import render

    found = refusals or []
    skip = bool(allow is not None and allow.skip_unsafe)
    if fmt == "json":
        click.echo(render.plan_json(plans, failures, server=server, allowances=allow))
    elif fmt == "markdown":
        text = render.plan_markdown(plans, failures, refusals=found, skip_unsafe=skip)
        click.echo(text)
        if summary:
            _step_summary(text)
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(
            render.fleet_text(
                plans, failures, colour=colour, refusals=found, skip_unsafe=skip, full=full
            )
        )


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
    """Ask, Terraform style: only ``yes`` in full goes ahead."""
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
        echo_err("Nothing applied.")
        sys.exit(0)


def finish(
    reports: list[Any], failures: list[Any], planned: list[str], *, skipped: Sequence[str] = ()
) -> None:
    """Print per-workspace results; raise ApplyError (exit 3 if anything was written or a
    target was skipped as unsafe, else 1)."""
    from ..errors import ApplyError

    for r in reports:
        click.echo(r.summary())
    for f in failures:
        click.echo(f"{f.target}: error: {f.message}")
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
