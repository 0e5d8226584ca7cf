"""A drift run as ``wscfg drift`` makes it: read the baseline of known drift, plan the targets
of a selection, keep the items ``only`` selects, report the drift and the live policy
violations, and (``update_baseline``) accept everything found now into the baseline file.
:func:`render` gives the report in a format, environment values masked; markdown, which a
caller folds to fit where it goes, is :func:`markdown`.

Nothing here prints or exits: what ``wscfg drift`` says on the way comes back as
:class:`~.results.Notice` values through ``on_notice``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .keys import masked
from .results import Notice

if TYPE_CHECKING:
    from ..engine.drift import DriftReport
    from ..engine.envmask import EnvMask
    from .selection import Selection
    from .settings import Settings

FORMATS = ("text", "markdown", "json", "html")


@dataclass
class DriftRun:
    """What a drift run found: the report, the server it read, the mask of the environment
    values its configs used, and the ``"run"`` record of a part of a sharded run (json)."""

    report: DriftReport
    server: str
    mask: EnvMask | None = None
    run: dict[str, Any] | None = None
    key: bytes | None = field(default=None, repr=False)  # a part's json is sealed with it


def drift(
    settings: Settings,
    selection: Selection,
    *,
    only: Sequence[str] = (),
    baseline: str | None = None,
    update_baseline: bool = False,
    on_notice: Callable[[Notice], None] | None = None,
) -> DriftRun:
    """Drift in the workspaces ``selection`` picks; known drift (the fingerprints in the
    ``baseline`` file) is left out, or, with ``update_baseline``, everything found now is
    written to it as known (unless a workspace could not be read)."""
    from ..engine import drift as report_mod
    from ..files import write_file
    from .keys import masked_drift
    from .run import Events, part_identity, plan_targets
    from .selection import check_only, narrow, parse_only

    say = on_notice or (lambda _notice: None)
    parse_only(only)
    known = read_baseline(baseline) if baseline and not update_baseline else set()
    run, server, _ = plan_targets(settings, selection, events=Events(notice=on_notice))
    if only:
        check_only(only, run.desired, run.live)
        narrow(run.plans, only)
        note = f"Partial drift report (--only {', '.join(only)}): other drift is not shown."
        say(Notice("partial", note))
    report, mask = masked_drift(run, settings.key, known)
    if update_baseline and baseline and not run.failures:
        accepted: list[Any] = [*report.new, *report.violations]
        write_file(baseline, report_mod.baseline_text(accepted))
        also = f" and {len(report.violations)} of policy violations" if report.violations else ""
        said = f"Wrote {len(report.new)} fingerprint(s) of known drift{also} to {baseline}."
        say(Notice("baseline", said))
        report, mask = masked_drift(run, settings.key, {i.fingerprint for i in accepted})
        report.accepted = baseline
    identity = part_identity(run, "drift")
    if identity is not None:
        identity["baseline"] = report_mod.baseline_digest(known)
    return DriftRun(report, server, mask, identity, settings.key() if identity else None)


def read_baseline(path: str) -> set[str]:
    """The fingerprints of known drift in the baseline file ``path``."""
    from ..engine.drift import BaselineError, parse_baseline
    from ..errors import Worded

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            Worded(
                f"no baseline file {path}; write one with {{baseline}} {path} {{update_baseline}}",
                {"baseline": "baseline", "update_baseline": "update_baseline"},
            )
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise BaselineError(f"cannot read the baseline {path}: {why}") from None
    return parse_baseline(text, path)


def render(found: DriftRun, fmt: str) -> str:
    """The report as text, json (with the run record of a part) or html (one page, stamped
    with the time it was made), environment values masked."""
    from ..engine import drift as report_mod

    if fmt == "json":
        text = report_mod.report_json(found.report, server=found.server, run=found.run)
    elif fmt == "html":
        from datetime import UTC, datetime

        from ..engine.drift_html import report_html

        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = report_html(found.report, server=found.server, generated=now)
    else:
        text = report_mod.report_text(found.report)
    text = masked(found.mask, text)
    if fmt == "json" and found.run is not None and found.key is not None:
        import json

        from ..engine.seal import seal_document

        # a part of a sharded run is sealed whole, as a saved plan is: `show` refuses an edit
        text = json.dumps(seal_document(json.loads(text), found.key), indent=2, ensure_ascii=False)
    return text


def markdown(found: DriftRun, budget: int, where: str) -> str:
    """The report as markdown of at most ``budget`` characters; what is left out is said to
    be ``where``."""
    from ..engine import drift as report_mod

    return masked(found.mask, report_mod.report_markdown(found.report, budget, full=where))


def comment(
    found: DriftRun,
    whole: bool,
    step_summary: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> str:
    """The report as markdown: ``whole`` (a file), or one PR comment (65,536 characters)
    saying where the rest is. The file ``step_summary`` ($GITHUB_STEP_SUMMARY) gets the whole
    report when it fits (1 MiB), else the same folding."""
    from ..engine.drift import FULL_REPORT
    from ..engine.render import MARKDOWN_BUDGET
    from .report import job_summary

    where = job_summary(
        lambda budget, where: markdown(found, budget, where), FULL_REPORT, step_summary, on_notice
    )
    if whole:
        return markdown(found, 1 << 62, FULL_REPORT)
    return markdown(found, MARKDOWN_BUDGET, where)
