"""What plan, apply and clone share: rendering, asking, applying, reporting.

Only the cli package prints; these helpers print and raise the errors that set exit codes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from . import echo_err

SERVER_HELP = (
    "Workspace Settings API base URL (default: $WSCFG_SERVER, else the embedded sandbox in "
    "./.wscfg/). The key is read from $WSCFG_TOKEN."
)
EMBEDDED_HELP = (
    "Use the local embedded sandbox in ./.wscfg/ even though WSCFG_TOKEN is set or CI=true "
    "(both refuse it otherwise)."
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
        if value < 0:
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


def run_async(coro: Any, *, writing: bool = False) -> Any:
    """Run one step of a command inside what is left of its ``--timeout``."""
    import asyncio

    from ..errors import ApplyError, WscfgError

    ctx = click.get_current_context(silent=True)
    seconds, deadline = ctx.meta.get(_DEADLINE, (0, None)) if ctx is not None else (0, None)
    if deadline is None:
        return asyncio.run(coro)

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, max(deadline - time.monotonic(), 0.001))

    try:
        return asyncio.run(bounded())
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
    server: str | None, plans: list[Any], secrets: Any, parallel: int, mask: Any = None
) -> Any:
    from ..connect import connect
    from ..fleet import apply_fleet

    def on_outcome(slug: str, o: Any) -> None:
        mark = {"done": "✓", "failed": "✗", "skipped": "·"}[o.status]
        line = f"{mark} {slug}: {o.change.symbol} {o.change.label}"
        if o.detail:
            line += f": {o.detail}"
        if o.status != "done" or o.change.kind != "blocked_callers":
            click.echo(masked(mask, line))

    async with connect(server, parallel=parallel) as conn:
        if any(not p.empty for p in plans):
            await check_can_write(conn.client)
        return await apply_fleet(
            conn.client, plans, secrets, parallel=parallel, on_outcome=on_outcome
        )


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


def plan_key() -> bytes:
    """The key that seals secrets in plan files: ``WSCFG_PLAN_KEY``, else the API key (of the
    server, or of the embedded sandbox). See :mod:`wscfg.engine.seal`."""
    from ..api.settings import TOKEN_ENV

    for name in (PLAN_KEY_ENV, TOKEN_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value.encode()
    from ..api.settings import server_from_env
    from ..connect import FORCE_EMBEDDED, check_embedded_allowed, embedded_key

    ctx = click.get_current_context(silent=True)
    server = ctx.params.get("server") if ctx is not None else None
    forced = server == FORCE_EMBEDDED
    if not forced:
        server_from_env(server)  # a server without WSCFG_TOKEN: the same error connect gives
    check_embedded_allowed(os.environ, forced=forced)  # never create a sandbox it would refuse
    return embedded_key(Path.cwd()).encode()


def plan_sealer(run: Any) -> Any:
    """Seal the secrets of plans made from config in this process."""
    from ..engine.apply import secrets_from_desired
    from ..engine.seal import Sealer

    lookups = {slug: secrets_from_desired(state) for slug, state in run.desired.items()}
    return Sealer(plan_key(), lambda slug: lookups[slug])


def unsafe_reasons(plan: Any, allow: bool) -> list[str]:
    return [f"{plan.slug}: {r}" for r in plan.unsafe_reasons(allow_mass_changes=allow)]


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
        if state.origin is not None:
            values.update(state.origin.env_values)
    return env_mask(values)


def masked(mask: Any, text: str) -> str:
    return mask.text(text) if mask else text


def render_plans(
    plans: list[Any],
    failures: list[Any],
    fmt: str,
    server: str,
    sealer: Any = None,
    mask: Any = None,
) -> None:
    from ..engine import render

    if fmt == "json":
        text = render.plan_json(plans, failures, server=server, sealer=sealer)
    elif fmt == "markdown":
        text = render.plan_markdown(plans, failures, mask=mask.text if mask else None)
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = render.fleet_text(plans, failures, colour=colour)
    click.echo(masked(mask, text))


def confirm(auto_approve: bool, question: str) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(
            "refusing to apply without confirmation: no TTY; pass --auto-approve"
        )
    if not click.confirm(question, default=False):
        echo_err("Nothing applied.")
        sys.exit(0)


def finish(reports: list[Any], failures: list[Any], planned: list[str], mask: Any = None) -> None:
    """Print per-workspace results; raise ApplyError (exit 3 if anything was written, else 1)."""
    from ..errors import ApplyError

    for r in reports:
        click.echo(masked(mask, r.summary()))
    for f in failures:
        click.echo(masked(mask, f"{f.target}: error: {f.message}"))
    bad = {r.slug for r in reports if not r.complete} | {f.target for f in failures}
    total = len(set(planned) | {f.target for f in failures})
    if total > 1:
        click.echo(f"{total - len(bad)} of {total} workspace(s) match their configuration.")
    if bad:
        written = any(r.written for r in reports)
        raise ApplyError(
            "apply stopped part-way; run `wscfg plan` to see what is left"
            if written
            else "apply failed; nothing was written",
            partial=written,
        )


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
