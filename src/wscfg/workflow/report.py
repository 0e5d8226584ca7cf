"""Plans as text, json or markdown, exactly as the command line prints them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .keys import masked

if TYPE_CHECKING:
    from ..engine.drift import DriftReport
    from ..engine.envmask import EnvMask
    from ..engine.plan import Plan
    from ..engine.render import Failure
    from ..engine.safety import Allowances, Refusal
    from ..engine.seal import Sealer
    from ..engine.violations import Violation
    from .results import PlanSet

FORMATS = ("text", "json", "markdown")


def plans_json(
    plans: list[Plan],
    failures: list[Failure],
    server: str,
    *,
    allow: Allowances | None = None,
    sealer: Sealer | None = None,
    only: tuple[str, ...] = (),
    mask: EnvMask | None = None,
    run: dict[str, Any] | None = None,
    violations: Sequence[Violation] = (),
) -> str:
    """The saved-plan document (secrets sealed by ``sealer``; environment values masked
    before it was sealed, fields set from them on both sides)."""
    from ..engine import render

    plans = mask.plans(plans) if mask else plans

    return render.plan_json(
        plans,
        failures,
        server=server,
        allowances=allow,
        sealer=sealer,
        only=only,
        mask=mask.document if mask else None,
        run=run,
        violations=[v.to_dict() for v in violations],
    )


def plans_markdown(
    plans: list[Plan],
    failures: list[Failure],
    *,
    budget: int,
    where: str,
    refusals: Sequence[Refusal] = (),
    skip_unsafe: bool = False,
    mask: EnvMask | None = None,
    note: str | None = None,
    violations: Sequence[Violation] = (),
) -> str:
    """A PR comment of at most ``budget`` characters; ``where``: where it says the whole
    plan is when it is folded; ``note``: said at the top (of a partial plan)."""
    from ..engine import render

    plans = mask.plans(plans) if mask else plans
    text = render.plan_markdown(
        plans,
        failures,
        budget=budget,
        refusals=list(refusals),
        skip_unsafe=skip_unsafe,
        mask=mask.text if mask else None,
        note=note,
        full=where,
        after=render.violation_tables(violations, len(plans) + len(failures)),
    )
    return masked(mask, text)


def plans_text(
    plans: list[Plan],
    failures: list[Failure],
    *,
    colour: bool = False,
    refusals: Sequence[Refusal] = (),
    skip_unsafe: bool = False,
    full: bool = False,
    mask: EnvMask | None = None,
    violations: Sequence[Violation] = (),
) -> str:
    """The plan for terminals and CI logs (``full``: every change, else 20 per kind)."""
    from ..engine import render
    from ..engine.violations import report_text

    plans = mask.plans(plans) if mask else plans
    text = render.fleet_text(
        plans, failures, colour=colour, refusals=list(refusals), skip_unsafe=skip_unsafe, full=full
    )
    if violations:
        text += "\n" + "\n".join(report_text(violations, len(plans) + len(failures)))
    return masked(mask, text)


def partial_note(only: Sequence[str], option: str = "only") -> str:
    """What is said of a plan made with ``only`` (``option``: how a front end names it)."""
    selected = ", ".join(only)
    return f"Partial plan ({option} {selected}): other differences are neither shown nor applied."


def render_planset(
    ps: PlanSet,
    fmt: str = "text",
    *,
    full: bool = False,
    colour: bool = False,
    note: str | None = None,
    markdown_where: str | None = None,
    sealer: Sealer | None = None,
    step_summary: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> str:
    """``ps`` in ``fmt`` (text | json | markdown) as ``wscfg plan`` prints it, with what apply
    would refuse and the policy violations of the live workspaces (reported only: they add no
    change), environment values masked. Markdown is also appended whole to the file
    ``step_summary`` (a GitHub Actions job summary) when given (a file that cannot be written
    is a warning to ``on_notice``); ``note``: said at the top of markdown (by default, of a
    partial plan, its item selection)."""
    from ..engine import render

    found = ps.refusals()
    skip = ps.allow.skip_unsafe
    if fmt == "json":
        if sealer is None:
            sealer = planset_sealer(ps)
        return plans_json(
            ps.plans,
            ps.failures,
            ps.server,
            allow=ps.allow,
            sealer=sealer,
            only=ps.only,
            mask=ps.mask,
            run=ps.run,
            violations=ps.violations,
        )
    if fmt == "markdown":
        if note is None and ps.only:
            note = partial_note(ps.only)

        def markdown(budget: int, where: str) -> str:
            return plans_markdown(
                ps.plans,
                ps.failures,
                budget=budget,
                where=where,
                refusals=found,
                skip_unsafe=skip,
                mask=ps.mask,
                note=note,
                violations=ps.violations,
            )

        # the comment fits 65,536 characters and says where the whole plan is
        where = job_summary(markdown, markdown_where or render.FULL_PLAN, step_summary, on_notice)
        return markdown(render.MARKDOWN_BUDGET, where)
    if fmt == "text":
        return plans_text(
            ps.plans,
            ps.failures,
            colour=colour,
            refusals=found,
            skip_unsafe=skip,
            full=full,
            mask=ps.mask,
            violations=ps.violations,
        )
    raise ValueError(f"unknown format {fmt!r}; one of: text, json, markdown")


def refused(ps: PlanSet, out: str | None = None) -> None:
    """Raise the PlanError of plans apply would refuse (unless the targets it refuses are to
    be skipped); ``out``: the plan file left unsaved for it."""
    from ..errors import PlanError

    found = ps.refusals()
    if found and not ps.allow.skip_unsafe:
        n = len(found)
        text = f"apply would refuse this plan ({n} refusal{'s' if n != 1 else ''}, listed "
        text += "above)" + (f"; {out} was not saved" if out else "")
        raise PlanError(text)


def next_step(paths: Sequence[str], only: Sequence[str]) -> str:
    """What a text plan with changes says to do next: apply it as shown, or save it for
    review and apply exactly that (the commands, with the paths and items of this plan)."""
    import shlex

    args = shlex.join([*paths, *(a for o in only for a in ("--only", o))])
    return (
        f"To apply these changes: wscfg apply {args}\n"
        f"To apply exactly this plan after a review: wscfg plan {args} -o plan.json, "
        "then wscfg apply plan.json"
    )


def planset_sealer(ps: PlanSet) -> Sealer | None:
    """The sealer of a PlanSet made from config in this process (None for a saved one)."""
    from ..fleet import PlanRun
    from .keys import plan_sealer

    if ps.key is None or ps.saved:
        return None
    return plan_sealer(PlanRun(desired=ps.desired), ps.key)


def render_drift(report: DriftReport, fmt: str = "text", *, server: str = "") -> str:
    """A drift report as ``wscfg drift --format FMT`` prints it (text | json | markdown)."""
    from ..engine import drift, render

    if fmt == "json":
        return drift.report_json(report, server=server, run=None)
    if fmt == "markdown":
        return drift.report_markdown(report, render.MARKDOWN_BUDGET, full=drift.FULL_REPORT)
    if fmt == "text":
        return drift.report_text(report)
    raise ValueError(f"unknown format {fmt!r}; one of: text, json, markdown")


Renderer = Callable[[int, str], str]


def job_summary(
    markdown: Renderer,
    full: str,
    path: str | None,
    on_notice: Callable[[str], None] | None = None,
) -> str:
    """Append to the job summary file ``path`` (when given: ``$GITHUB_STEP_SUMMARY``) a
    markdown report, ``markdown(budget, where)``: the whole report when it fits what is left
    of the file's 1 MiB (GitHub drops a step's whole summary past it; what earlier commands
    of the step wrote counts), else folded as a comment is; not at all when less than
    :data:`MIN_SUMMARY_BYTES` is left. Returns where a PR comment should say the whole
    report is: the job summary when it took it whole, else ``full``. A file that cannot be
    written, or has no room, is a warning to ``on_notice``."""
    import os

    from ..engine import render

    if not path:
        return full
    try:
        held = os.path.getsize(path)
    except OSError:
        held = 0  # not there yet (or unreadable: said when it is written)
    job = fit_bytes(markdown, render.JOB_SUMMARY_BYTES - held, full)
    if job is None:
        if on_notice is not None:
            on_notice(
                "Warning: the report was not added to the job summary ($GITHUB_STEP_SUMMARY "
                f"holds {held} bytes of its {render.JOB_SUMMARY_BYTES})"
            )
        return full
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(job + "\n")
    except OSError as exc:
        if on_notice is not None:
            on_notice(
                f"Warning: could not write the job summary to $GITHUB_STEP_SUMMARY: {exc.strerror}"
            )
    return "in this run's job summary" if render.CUT_NOTE not in job else full


MIN_SUMMARY_BYTES = 1000  # less room than this in a job summary: the report is not added


def fit_bytes(markdown: Renderer, limit: int, where: str) -> str | None:
    """``markdown(budget, where)`` (a budget in characters) whose UTF-8 form and a new line
    fit ``limit`` bytes: tried at that many characters, then at budgets scaled to what the
    text weighed; None when ``limit`` is under :data:`MIN_SUMMARY_BYTES`."""
    budget = limit - 1
    while budget >= MIN_SUMMARY_BYTES:
        text = markdown(budget, where)
        size = len(text.encode("utf-8"))
        if size <= limit - 1:
            return text
        budget = min(budget - 1, budget * (limit - 1) // size)
    return None
