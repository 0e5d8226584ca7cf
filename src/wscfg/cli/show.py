"""`wscfg show FILE...`: render a saved plan without touching any server (like
`terraform show`), or the parts of a sharded plan or drift run as one fleet report."""

from __future__ import annotations

import click

from . import debug_of, echo_err, handle_errors
from .flow import plan_key_here, render_plans
from .options import partial_note

FORMATS = ("text", "json", "markdown", "html")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="As for `wscfg plan` and `wscfg drift`: text, json (the document; the parts merged), "
    "markdown (a PR comment or issue) or html (drift reports only).",
)
@click.option("--full", is_flag=True, help="List every change (text lists 20 per kind).")
@click.pass_context
def show(ctx: click.Context, files: tuple[str, ...], fmt: str, full: bool) -> None:
    """Show a plan saved by `wscfg plan -o PLANFILE`, with what apply would refuse under the
    allowances it was made with; or the parts of one sharded run as one report. Reads no
    server; of the environment, only the plan key (WSCFG_PLAN_KEY, else WSCFG_TOKEN), to say
    whether each plan file's seal verified. A file changed after it was written is refused, as
    apply refuses it.

    Each job of a CI matrix runs `wscfg plan|drift … --shard i/n --format json -o part-i.json`;
    `wscfg show part-*.json` then renders the whole fleet, as the unsharded run would (what
    apply would refuse is worked out over the whole fleet). Every shard 1…n must be given
    exactly once, all made from the same config, against the same server, with the same
    options; otherwise show names the part that does not fit and exits 1.

    \b
    Examples:
      wscfg show plan.json
      wscfg show plan.json --format markdown > comment.md
      wscfg show part-*.json --format markdown > fleet.md
      wscfg show drift-*.json --format html > drift.html

    \b
    Exit codes: 0 shown, 1 a file is missing, unreadable, not a wscfg plan or drift report, or
    changed after it was written, or the parts are not exactly the shards of one run.
    """
    with handle_errors(debug_of(ctx)):
        from ..engine.shards import DRIFT
        from ..workflow import show as saved

        parts = saved.read_parts(files, plan_key_here(), lambda notice: echo_err(notice.text))
        if any(p.command == DRIFT for p in parts):
            click.echo(saved.drift_text(parts, fmt))
            return
        if fmt == "html":
            from ..errors import PlanError

            raise PlanError(
                "--format html shows drift reports; show a plan as text, json or markdown"
            )
        doc, merged = saved.plan_document(parts)
        ps = saved.planset_of(doc)
        if ps.only:
            echo_err(partial_note(ps.only))
        if fmt == "json":
            click.echo(saved.plan_json(doc, ps, merged))
            return
        ps.failures = saved.failures_of(doc)
        render_plans(
            ps.plans,
            ps.failures,
            fmt,
            ps.server,
            allow=ps.allow,
            refusals=ps.refusals(),
            full=full,
            summary=False,
            only=ps.only,
            violations=ps.violations,
        )
