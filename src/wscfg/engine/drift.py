"""Drift only: the differences of attributed plans that someone other than wscfg made, with
who, via what and when, fingerprinted so a baseline can accept known drift.

A drift item is one field of one item (or a whole item someone added or deleted). Its
fingerprint hashes the workspace, the item, the field and the live value, so the same drift
stays known until someone changes it again. Pure: reports are built from plans, baselines are
parsed from and written to text; the CLI reads and writes files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import WscfgError
from ..escape import html, md_code, md_text, text
from ..model.kinds import FINGERPRINT_SUFFIX
from .changes import Change, Create, Delete, Origin, Update
from .plan import Plan
from .render import MARKDOWN_BUDGET, Failure, Table, fit_markdown, show_value, violation_tables
from .violations import Violation, new_violations
from .violations import report_text as violations_text

BASELINE_FORMAT = "wscfg-drift-baseline"
REPORT_FORMAT = "wscfg-drift"
VERSION = 1
WHAT = {"create": "deleted", "delete": "added", "update": "changed", "resend": "changed"}


class BaselineError(WscfgError):
    """A drift baseline file that cannot be used."""


@dataclass(frozen=True)
class DriftItem:
    workspace: str
    kind: str
    key: str
    label: str  # "call tag spam"
    field: str  # dotted path; "" for the whole item
    what: str  # changed | added | deleted (what the other party did)
    live: Any
    config: Any
    origin: Origin

    @property
    def fingerprint(self) -> str:
        text = json.dumps(
            [self.workspace, self.kind, self.key, self.field, self.what, self.live],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        o = self.origin
        actor = {"type": o.actor_type, "name": o.actor_name} if o.known else None
        return {
            "workspace": self.workspace,
            "kind": self.kind,
            "key": self.key,
            "field": self.field,
            "what": self.what,
            "actor": actor,
            "via": o.via,
            "at": o.at,
            "client": o.client,
            "live": self.live,
            "config": self.config,
            "fingerprint": self.fingerprint,
        }


def drift_items(plans: Iterable[Plan]) -> list[DriftItem]:
    """Every drifted field of ``plans`` (attributed by :mod:`.origin`), in plan order."""
    out: list[DriftItem] = []
    for plan in plans:
        for change in plan.changes:
            out.extend(_items(plan.slug, change))
    return out


def _items(slug: str, change: Change) -> list[DriftItem]:
    if isinstance(change, Update):
        found = []
        for f in change.fields:
            if f.origin is None or not f.origin.drift:
                continue
            secret = f.path.endswith(FINGERPRINT_SUFFIX)
            name = f.path.removesuffix(FINGERPRINT_SUFFIX)
            live = "(sensitive)" if secret else f.before
            config = "(sensitive)" if secret else f.after
            item = DriftItem(
                slug, change.kind, change.key, change.label, name, "changed", live, config, f.origin
            )
            found.append(item)
        return found
    if change.origin is None or not change.origin.drift:
        return []
    live = None if isinstance(change, Create) else _shown(change.before)
    config = None if isinstance(change, Delete) else _shown(change.after)
    what = WHAT.get(change.action, "changed")
    return [
        DriftItem(
            slug, change.kind, change.key, change.label, "", what, live, config, change.origin
        )
    ]


def _shown(item: dict[str, Any] | None) -> Any:
    """An item without its ETag and write-only fingerprints (never a secret)."""
    if item is None:
        return None
    return {k: v for k, v in item.items() if k != "etag" and not k.endswith(FINGERPRINT_SUFFIX)}


# --- baselines -----------------------------------------------------------------------------


def parse_baseline(text: str, name: str) -> set[str]:
    """The fingerprints of a baseline file's text (``name`` for messages)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise BaselineError(f"{name} is not a drift baseline (not JSON)") from None
    prints = data.get("fingerprints") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("format") != BASELINE_FORMAT
        or not isinstance(prints, list)
        or not all(isinstance(p, str) for p in prints)
    ):
        raise BaselineError(
            f'{name} is not a drift baseline (want {{"format": "{BASELINE_FORMAT}", '
            '"fingerprints": [...]}); write one with --update-baseline'
        )
    if data.get("version") != VERSION:
        raise BaselineError(f"{name}: baseline version {data.get('version')!r} is not {VERSION}")
    return set(prints)


def baseline_digest(known: set[str]) -> str | None:
    """A digest of a baseline's fingerprints (None without a baseline): parts of a sharded
    run must have used the same one."""
    if not known:
        return None
    text = "\n".join(sorted(known))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def baseline_text(items: Iterable[DriftItem | Violation]) -> str:
    prints = sorted({i.fingerprint for i in items})
    doc = {"format": BASELINE_FORMAT, "version": VERSION, "fingerprints": prints}
    return json.dumps(doc, indent=2) + "\n"


# --- the report ----------------------------------------------------------------------------


@dataclass
class DriftReport:
    """What ``wscfg drift`` shows: the new drift (not in the baseline) of the planned
    workspaces, how much known drift it leaves out, and the workspaces that failed; and the
    new policy violations of the live workspaces (:mod:`.violations`), baselined the same way."""

    new: list[DriftItem]
    known: int
    workspaces: list[str]
    failures: list[Failure]
    violations: list[Violation] = field(default_factory=list)
    known_violations: int = 0
    accepted: str = ""  # the baseline file --update-baseline just wrote with all of it

    @staticmethod
    def of(
        plans: Sequence[Plan],
        failures: Sequence[Failure],
        baseline: set[str],
        violations: Sequence[Violation] = (),
    ) -> DriftReport:
        items = drift_items(plans)
        new = [i for i in items if i.fingerprint not in baseline]
        found, known = new_violations(violations, baseline)
        return DriftReport(
            new, len(items) - len(new), [p.slug for p in plans], list(failures), found, known
        )

    @property
    def failing_violations(self) -> list[Violation]:
        """The new violations of error policies: they make drift exit 2 (warnings report)."""
        return [v for v in self.violations if v.severity == "error"]

    def groups(self) -> list[DriftGroup]:
        """The same drift (item, field, what) across workspaces is one group, biggest first."""
        by: dict[tuple[str, str, str, str], list[DriftItem]] = {}
        for i in self.new:
            by.setdefault((i.kind, i.key, i.field, i.what), []).append(i)
        groups = [DriftGroup(v) for v in by.values()]
        return sorted(groups, key=lambda g: (-len(g.items), g.items[0].label, g.items[0].field))


@dataclass
class DriftGroup:
    items: list[DriftItem]

    def workspaces(self) -> set[str]:
        return {i.workspace for i in self.items}

    def line(self, total: int) -> str:
        """``call tag spam: color changed in 40 of 500 workspaces, by 3 people; first
        2026-11-20, last 2026-11-27``."""
        first = self.items[0]
        whats = f"{first.field} {first.what}" if first.field else first.what
        spaces = len({i.workspace for i in self.items})
        writers = {(i.origin.actor_type, i.origin.who()) for i in self.items}
        times = sorted(i.origin.at[:10] for i in self.items if i.origin.at)
        text = f"{first.label}: {whats} in {spaces} of {total} workspaces, by "
        text += _writers(writers)
        if times:
            text += f"; first {times[0]}, last {times[-1]}"
        return text


def value_text(value: Any) -> str:
    return "(absent)" if value is None else show_value(value)


_value = value_text


def item_line(i: DriftItem) -> str:
    """``~ call tag spam  color: "#00ff00" (config: "#ff0000")  changed in the UI by …``."""
    symbol = {"changed": "~", "added": "+", "deleted": "-"}.get(i.what, "~")
    o = i.origin
    channel = "in the UI" if o.via == "ui" else "through the API" if o.via else ""
    who = f"{i.what} {channel} by {o.who()}, {o.when()}" if o.known else "not written by wscfg"
    who = " ".join(who.split())
    if i.field:
        return (
            f"{symbol} {i.label}  {i.field}: {_value(i.live)} (config: {_value(i.config)})  {who}"
        )
    return f"{symbol} {i.label}  {who}"


def report_text(report: DriftReport) -> str:
    lines: list[str] = []
    by_ws: dict[str, list[DriftItem]] = {}
    for i in report.new:
        by_ws.setdefault(i.workspace, []).append(i)
    for slug in report.workspaces:
        found = by_ws.get(slug, [])
        if found:
            lines.append(text(f"Workspace {slug}: {len(found)} new drift"))
            lines += [f"  {text(item_line(i))}" for i in found]
    for f in report.failures:
        lines.append(text(f"Workspace {f.target}: error: {f.message}"))
    total = len(report.workspaces) + len(report.failures)
    groups = report.groups()
    if total > 1 and any(len(g.items) > 1 for g in groups):
        lines.append("Across the fleet:")
        lines += [f"  {text(g.line(total))}" for g in groups]
    lines += violations_text(report.violations, total)
    lines.append(summary(report))
    return "\n".join(lines)


def summary(report: DriftReport) -> str:
    n, spaces = len(report.new), len({i.workspace for i in report.new})
    total = len(report.workspaces) + len(report.failures)
    text = "No new drift" if not n else f"{n} new drift in {spaces} of {total} workspace(s)"
    if report.accepted:
        text += f": {report.known} accepted into the baseline {report.accepted} just now"
    elif report.known:
        text += f"; {report.known} known (in the baseline), not shown"
    if report.violations:
        n = len(report.violations)
        text += f"; {n} new policy violation{'s' if n != 1 else ''}"
    if report.known_violations:
        kept = "accepted too" if report.accepted else "not shown"
        text += f"; {report.known_violations} known policy violation(s), {kept}"
    return text + "."


def report_json(
    report: DriftReport, *, server: str | None = None, run: dict[str, Any] | None = None
) -> str:
    """The JSON report; ``run``: the record of a part of a sharded run (see
    :mod:`wscfg.engine.shards`), which ``wscfg show`` merges."""
    doc: dict[str, Any] = {"format": REPORT_FORMAT, "version": VERSION}
    if server is not None:
        doc["server"] = server
    if run is not None:
        doc["run"] = run
    doc |= {
        "workspaces": report.workspaces,
        "drift": [i.to_dict() for i in report.new],
        "known": report.known,
        "errors": [{"target": f.target, "message": f.message} for f in report.failures],
        # with their policy's words, as a saved plan has them: `wscfg show` prints them back
        "violations": [{**v.to_dict(), "description": v.description} for v in report.violations],
        "known_violations": report.known_violations,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


FULL_REPORT = "`wscfg drift … --format markdown -o FILE` (or `--format json`) writes every row"
SLUGS_IN_A_ROW = 20  # workspaces named in a fleet row, before "and N more"


def report_markdown(
    report: DriftReport, budget: int = MARKDOWN_BUDGET, *, full: str = FULL_REPORT
) -> str:
    """An issue body, PR comment or job summary: the summary, the fleet's grouped rows (the
    same drift across workspaces is one row), then one row per drifted field. Whole rows
    only, never over ``budget``: what does not fit is counted, and the report says where the
    full one is (``full``)."""
    total = len(report.workspaces) + len(report.failures)
    head = "\n".join(["### wscfg drift", "", f"**{md_text(summary(report))}**", ""]) + "\n"
    parts: list[Table | str] = []
    groups = report.groups()
    if total > 1 and groups:
        rows = []
        for g in groups:
            names = sorted(g.workspaces())
            spaces = ", ".join(f"<code>{html(w)}</code>" for w in names[:SLUGS_IN_A_ROW])
            if len(names) > SLUGS_IN_A_ROW:
                spaces += f" and {len(names) - SLUGS_IN_A_ROW} more"
            folded = f"<details><summary>{len(g.items)}</summary>{spaces}</details>"
            rows.append(f"| {md_text(g.line(total))} | {folded} |\n")
        parts.append(Table("| drift | workspaces |\n|---|---|\n", rows, "\n"))
    if report.new:
        header = "| workspace | item | field | live | config | who | via | when |\n"
        parts.append(
            Table(
                header + "|---|---|---|---|---|---|---|---|\n",
                [_md_row(i) + "\n" for i in report.new],
            )
        )
    parts += violation_tables(report.violations, total)
    parts += [f"\n**{md_code(f.target)}: error** — {md_text(f.message)}\n" for f in report.failures]
    return fit_markdown(head, parts, budget, f"the full report: {full}")


def _md_row(i: DriftItem) -> str:
    o = i.origin
    cells = [
        md_code(i.workspace, cell=True),
        md_text(i.label),
        md_code(i.field, cell=True) if i.field else md_text(i.what),
        md_code(_value(i.live), cell=True),
        md_code(_value(i.config), cell=True),
        md_text(o.who()) if o.known else "not written by wscfg",
        md_text(o.via or ""),
        md_text(o.when()) if o.at else "",
    ]
    return "| " + " | ".join(cells) + " |"


def _writers(writers: set[tuple[str | None, str]]) -> str:
    """``1 person``, ``2 people and 1 API key``, ``the platform``: who made a row's drift,
    people (UI users) apart from keys and the platform."""
    count = {kind: sum(1 for k, _ in writers if k == kind) for kind in ("user", "api_key")}
    parts = []
    if count["user"]:
        parts.append(f"{count['user']} {'person' if count['user'] == 1 else 'people'}")
    if count["api_key"]:
        parts.append(f"{count['api_key']} API key{'' if count['api_key'] == 1 else 's'}")
    if any(k == "system" for k, _ in writers):
        parts.append("the platform")
    if any(k not in ("user", "api_key", "system") for k, _ in writers):
        parts.append("someone unknown")
    return " and ".join(parts)
