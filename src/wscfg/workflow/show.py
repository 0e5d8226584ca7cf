"""Saved plans and drift reports read back without a server (``wscfg show``): one file as it
is, or the parts of one sharded run, checked and merged into the report of the whole fleet.

:func:`read_parts` reads the files (a plan through the saved-plan reader: format, version,
header and seal; what the seal check found comes back through ``on_notice``);
:func:`plan_document` and :func:`planset_of` give the plan to render, :func:`drift_text` a
drift report in a format. Nothing here prints or exits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .results import Notice

if TYPE_CHECKING:
    from ..engine.render import Failure
    from ..engine.shards import Part
    from .results import PlanSet


def read_parts(
    files: Sequence[str], key: bytes | None, on_notice: Callable[[Notice], None] | None = None
) -> list[Part]:
    """Each file as a :class:`~wscfg.engine.shards.Part`; ``key``: the plan key the seals of
    plan files are checked with (None: not checked, which the notice says)."""
    _each_once(files)
    return [_part(path, len(files) > 1, key, on_notice) for path in files]


def _each_once(files: Sequence[str]) -> None:
    """PartError when two of ``files`` are the same file (two spellings, a link)."""
    import os

    from ..engine.shards import PartError

    seen: dict[tuple[int, int], str] = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            continue  # said when it is read
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            raise PartError(f"{seen[ident]} and {path} are the same file: give each part once")
        seen[ident] = path


def _part(
    path: str, several: bool, key: bytes | None, on_notice: Callable[[Notice], None] | None
) -> Part:
    from ..engine.shards import Part, command_of
    from ..errors import PlanFileError
    from .planfile import read_json, read_saved_plan

    data = read_json(path)
    from ..engine.drift import BASELINE_FORMAT

    if isinstance(data, dict) and data.get("format") == BASELINE_FORMAT:
        from ..engine.shards import PartError

        raise PartError(
            f"{path} is a drift baseline (of known drift), not a report: give show "
            "the parts only (name them apart, e.g. drift-shard-*.json)"
        )
    if isinstance(data, dict) and data.get("format") == "wscfg-drift":
        from ..engine.drift import VERSION

        if data.get("version") != VERSION:
            raise PlanFileError(
                f"{path}: drift report version {data.get('version')!r} is not supported "
                f"(this wscfg reads version {VERSION})"
            )
        if data.get("run") is not None:  # a part of a sharded run: sealed whole
            _drift_seal(path, data, key, on_notice)
        return Part(path, command_of(path, data), data)
    try:
        saved = read_saved_plan(path, key, require_seal=False)
    except PlanFileError as exc:
        if several and path not in exc.message:
            raise PlanFileError(f"{path}: {exc.message}") from None
        raise
    said = saved.seal.message()
    named = several or "run" in saved.document  # a part of a sharded run
    if on_notice is not None:
        text = f"{path}: {said}." if named else said[:1].upper() + said[1:] + "."
        on_notice(Notice("seal", text, detail=saved.seal.status))
    return Part(path, "plan", saved.document)


def _drift_seal(
    path: str, data: dict[str, Any], key: bytes | None, on_notice: Callable[[Notice], None] | None
) -> None:
    """Check the seal of a drift part (PlanFileError naming it when it is missing or does
    not match; what the check found otherwise goes to ``on_notice``)."""
    from ..engine.seal import inspect_seal
    from ..errors import PlanFileError

    seal = inspect_seal(data, key)
    if seal.status in ("missing", "changed"):
        raise PlanFileError(
            f"{path}: the drift part was changed after it was written"
            + (" (it has no seal)" if seal.status == "missing" else "")
            + "; make it again"
        )
    said = {
        "verified": f"the drift part's seal verified (plan key id {seal.sealed_with})",
        "no_key": "the drift part's seal could not be checked: no plan key here (set "
        "WSCFG_PLAN_KEY, or WSCFG_TOKEN, as in the job that made it)",
        "other_key": f"the drift part was sealed with another plan key (key id "
        f"{seal.sealed_with}; this job's is {seal.here})",
    }[seal.status]
    if on_notice is not None:
        on_notice(Notice("seal", f"{path}: {said}.", detail=seal.status))


def plan_document(parts: Sequence[Part]) -> tuple[dict[str, Any], bool]:
    """(The plan document of ``parts``, whether it merges parts): one saved plan as saved, or
    the plan parts of one sharded run (checked first) as one plan."""
    from ..engine.shards import check_parts, merge_plan_documents

    checked = check_parts(parts)  # one file too: every field show reads is checked
    if len(parts) == 1 and parts[0].run is None:
        return parts[0].data, False
    return merge_plan_documents(checked), True


def planset_of(doc: dict[str, Any]) -> PlanSet:
    """The plans of a plan document with the allowances, the item selection and the live
    policy violations it records (its failed targets: :func:`failures_of`)."""
    from ..engine.plan import allowances_of, only_of, plans_from_document
    from .planfile import saved_violations
    from .results import PlanSet

    plans, server = plans_from_document(doc)
    return PlanSet(plans, [], server, allowances_of(doc), only_of(doc), saved_violations(doc))


def failures_of(doc: dict[str, Any]) -> list[Failure]:
    """The targets a plan document records as not planned."""
    from ..engine.render import Failure
    from ..errors import PlanFileError

    try:
        return [Failure(str(e["target"]), str(e["message"])) for e in doc.get("errors", [])]
    except (KeyError, TypeError):
        raise PlanFileError("a part's errors list is damaged") from None


def plan_json(doc: dict[str, Any], ps: PlanSet, merged: bool) -> str:
    """The document as json; merged parts carry what apply would refuse worked out over the
    whole fleet again (a fleet-wide refusal depends on every target)."""
    if merged:
        doc["refusals"] = [r.to_dict() for r in ps.refusals()]
    return json.dumps(doc, indent=2, ensure_ascii=False)


def drift_text(
    parts: Sequence[Part],
    fmt: str,
    step_summary: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> str:
    """Drift reports in ``fmt`` (text, json, markdown, html): one as it is, or the parts of
    one sharded run (checked first) as one. Markdown is one PR comment or issue body, and the
    file ``step_summary`` ($GITHUB_STEP_SUMMARY) gets the whole report when it fits (a file
    that cannot be written is a warning to ``on_notice``)."""
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
        # live policy violations, each workspace's in the order its report listed them
        sorted((v for r in reports for v in r.violations), key=lambda v: order[v.workspace]),
        sum(r.known_violations for r in reports),
    )
    server = parts[0].data.get("server")
    if fmt == "json":
        run = parts[0].run
        return report_mod.report_json(
            report,
            server=server if isinstance(server, str) else None,
            run={**run, "shard": 1, "shards": 1, "order": order} if run is not None else None,
        )
    if fmt == "markdown":
        from ..engine.render import MARKDOWN_BUDGET
        from .report import job_summary

        def markdown(budget: int, where: str) -> str:
            return report_mod.report_markdown(report, budget, full=where)

        where = job_summary(markdown, report_mod.FULL_REPORT, step_summary, on_notice)
        return markdown(MARKDOWN_BUDGET, where)
    if fmt == "html":
        from ..engine.drift_html import report_html

        return report_html(report, server=server if isinstance(server, str) else "")
    return report_mod.report_text(report)
