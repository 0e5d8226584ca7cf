"""`wscfg show FILE...`: render a saved plan without touching any server (like
`terraform show`), or the parts of a sharded plan or drift run as one fleet report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from . import debug_of, echo_err, handle_errors
from .flow import render_plans
from .saved import saved_violations

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
        from ..engine.shards import DRIFT, check_parts

        parts = [_part(path, len(files) > 1) for path in files]
        if any(p.command == DRIFT for p in parts):
            _show_drift(parts, fmt)
            return
        if fmt == "html":
            from ..errors import PlanError

            raise PlanError(
                "--format html shows drift reports; show a plan as text, json or markdown"
            )
        if len(parts) == 1 and parts[0].run is None:
            _show_plan(parts[0], fmt, full)
            return
        _show_plans(check_parts(parts), fmt, full)


def _part(path: str, several: bool) -> Any:
    """The file as a :class:`~wscfg.engine.shards.Part`; a plan goes through the saved-plan
    reader (format, version, header and seal checks), named by its path when several."""
    from ..engine.shards import Part, command_of
    from ..errors import PlanFileError
    from .flow import plan_key_here
    from .saved import read_saved_plan

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanFileError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise PlanFileError(f"{path} is not valid JSON") from None
    if isinstance(data, dict) and data.get("format") == "wscfg-drift":
        from ..engine.drift import VERSION

        if data.get("version") != VERSION:
            raise PlanFileError(
                f"{path}: drift report version {data.get('version')!r} is not supported "
                f"(this wscfg reads version {VERSION})"
            )
        return Part(path, command_of(path, data), data)
    try:
        saved = read_saved_plan(path, plan_key_here(), require_seal=False)
    except PlanFileError as exc:
        if several and path not in exc.message:
            raise PlanFileError(f"{path}: {exc.message}") from None
        raise
    said = saved.seal.message()
    named = several or "run" in saved.document  # a part of a sharded run
    echo_err(f"{path}: {said}." if named else said[:1].upper() + said[1:] + ".")
    return Part(path, "plan", saved.document)


def _show_plan(part: Any, fmt: str, full: bool) -> None:
    """One saved plan, as saved (its seal was checked by :func:`_part`)."""
    _show_document(part.data, fmt, full, merged=False)


def _show_plans(parts: list[Any], fmt: str, full: bool) -> None:
    """The plan parts of one sharded run as one plan; what apply would refuse is worked out
    over the whole fleet again (a fleet-wide refusal depends on every target)."""
    from ..engine.shards import merge_plan_documents

    _show_document(merge_plan_documents(parts), fmt, full, merged=True)


def _show_document(doc: dict[str, Any], fmt: str, full: bool, *, merged: bool) -> None:
    """A plan document with what apply would refuse under its allowances, its failed targets
    and its live policy violations; json: the document itself (merged parts: with the
    refusals worked out over the whole fleet)."""
    from ..engine.plan import allowances_of, only_of, plans_from_document
    from ..engine.render import Failure
    from ..engine.safety import refusals
    from ..errors import PlanFileError
    from .options import partial_note

    plans, server = plans_from_document(doc)
    allow, only = allowances_of(doc), only_of(doc)
    found = refusals(plans, allow)
    if only:
        echo_err(partial_note(only))
    if fmt == "json":
        if merged:
            doc["refusals"] = [r.to_dict() for r in found]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    try:
        failures = [Failure(str(e["target"]), str(e["message"])) for e in doc.get("errors", [])]
    except (KeyError, TypeError):
        raise PlanFileError("a part's errors list is damaged") from None
    render_plans(
        plans,
        failures,
        fmt,
        server,
        allow=allow,
        refusals=found,
        full=full,
        summary=False,
        only=only,
        violations=saved_violations(doc),
    )


def _show_drift(parts: list[Any], fmt: str) -> None:
    """Drift reports: one as it is, or the parts of one sharded run (checked first) as one."""
    from ..engine import drift as report_mod
    from ..engine.shards import check_parts, drift_report_of, order_of

    parts = check_parts(parts)
    reports = [drift_report_of(p.data, p.name) for p in parts]
    order = order_of(parts)
    if len(parts) == 1 and not order:  # one report made without --shard: as it is
        order = {w: n for n, w in enumerate(reports[0].workspaces)}
        order |= {f.target: len(order) + n for n, f in enumerate(reports[0].failures)}
    report = report_mod.DriftReport(
        sorted((i for r in reports for i in r.new), key=lambda i: order[i.workspace]),
        sum(r.known for r in reports),
        sorted((w for r in reports for w in r.workspaces), key=order.__getitem__),
        sorted((f for r in reports for f in r.failures), key=lambda f: order[f.target]),
    )
    if fmt == "json":
        server = parts[0].data.get("server")
        run = parts[0].run
        text = report_mod.report_json(
            report,
            server=server if isinstance(server, str) else None,
            run={**run, "shard": 1, "shards": 1, "order": order} if run is not None else None,
        )
    elif fmt == "markdown":
        text = report_mod.report_markdown(report)
    elif fmt == "html":
        from ..engine.drift_html import report_html

        server = parts[0].data.get("server")
        text = report_html(report, server=server if isinstance(server, str) else "")
    else:
        text = report_mod.report_text(report)
    click.echo(text)
