"""`wscfg show PLANFILE`: render a saved plan without touching any server (like
`terraform show`)."""

from __future__ import annotations

import json

import click

from . import debug_of, echo_err, handle_errors
from .flow import render_plans


@click.command()
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "markdown")),
    default="text",
    show_default=True,
    help="As for `wscfg plan`: text, json (the plan document) or markdown (a PR comment).",
)
@click.option("--full", is_flag=True, help="List every change (text lists 20 per kind).")
@click.pass_context
def show(ctx: click.Context, planfile: str, fmt: str, full: bool) -> None:
    """Show a plan saved by `wscfg plan -o PLANFILE`, with what apply would refuse under the
    allowances it was made with. Reads no server; of the environment, only the plan key
    (WSCFG_PLAN_KEY, else WSCFG_TOKEN), to say whether the plan file's seal verified.
    A file changed after it was written is refused, as apply refuses it.

    \b
    Examples:
      wscfg show plan.json
      wscfg show plan.json --format markdown > comment.md

    \b
    Exit codes: 0 shown, 1 the file is missing, unreadable, not a wscfg plan, or changed
    after it was written.
    """
    with handle_errors(debug_of(ctx)):
        from ..engine.safety import refusals
        from .flow import plan_key_here
        from .options import partial_note
        from .saved import read_saved_plan

        saved = read_saved_plan(planfile, plan_key_here(), require_seal=False)
        echo_err(saved.seal.message()[:1].upper() + saved.seal.message()[1:] + ".")
        plans = saved.plans()
        if saved.only:
            echo_err(partial_note(saved.only))
        if fmt == "json":  # the document itself, as saved
            click.echo(json.dumps(saved.document, indent=2, ensure_ascii=False))
            return
        allow = saved.allowances
        found = refusals(plans, allow)
        render_plans(
            plans,
            [],
            fmt,
            saved.server,
            allow=allow,
            refusals=found,
            full=full,
            summary=False,
            only=saved.only,
        )
