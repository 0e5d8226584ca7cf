"""Plans as text (terminal, CI logs), JSON (machines) and Markdown (PR comments).

All three share one rule: secret values never appear (write-only fields render as
``(sensitive, from ${env:NAME})``), and a large kind is summarized instead of listed in full.
All three show the same refusals (what apply would refuse), computed once by the caller.
Every string from the server or a config goes through :mod:`wscfg.escape` for its format:
in text it never starts a line nor carries a control character; in markdown it opens no
markup and never closes the diff fence.
Markdown is always under GitHub's 65,535-character comment limit and says what it cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..escape import html, md_code, md_fence, md_text, text
from ..model.kinds import BY_NAME, FINGERPRINT_SUFFIX
from .changes import Change, Create, Delete, FieldChange, Origin, Resend, Update
from .plan import Plan, plans_to_document
from .safety import Allowances, Refusal
from .seal import Sealer, is_secret_marker

MAX_PER_GROUP = 20  # items listed per (kind, action) before "… and N more"
GITHUB_COMMENT_LIMIT = 65_535
MARKDOWN_BUDGET = 60_000  # leave room for the truncation notice and CI wrappers
JOB_SUMMARY_BYTES = 1 << 20  # GitHub's limit for one step's $GITHUB_STEP_SUMMARY (1 MiB)
CUT_NOTE = "_Not shown, to stay under the size limit:"
MAX_REFUSALS_SHOWN = 50  # in markdown, before "… and N more"


@dataclass(frozen=True)
class Failure:
    """A target that could not be planned or written (its error, already free of secrets).
    ``maybe_applied``: a write failed without an answer saying so; it may have landed."""

    target: str
    message: str
    maybe_applied: bool = False


_COLOURS = {"+": "32", "~": "33", "-": "31", "!": "31", "dim": "2", "bold": "1"}


def _paint(text: str, style: str, colour: bool) -> str:
    if not colour or style not in _COLOURS:
        return text
    return f"\x1b[{_COLOURS[style]}m{text}\x1b[0m"


def show_value(value: Any) -> str:
    if is_secret_marker(value):
        env = value.get("env")
        return f"(sensitive, from ${{env:{env}}})" if env else "(sensitive)"
    if value is None:
        return "(unset)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def change_lines(change: Change) -> list[str]:
    """The detail lines under a change's headline (fields set, changed or removed)."""
    if isinstance(change, Update):
        return [_field_line(change, f) for f in change.fields]
    if isinstance(change, Resend | Delete):
        return []
    kind = BY_NAME[change.kind]
    return [f"{k}: {show_value(v)}" for k, v in (change.after or {}).items() if k != kind.identity]


def _field_line(change: Change, field: FieldChange) -> str:
    # A field written in another file than its item (a template's value) names its source.
    origin = ""
    if field.source and _file(field.source) != _file(change.source or ""):
        origin = f"   (from {field.source})"
    if field.path.endswith(FINGERPRINT_SUFFIX):  # write-only: say that it changes, not to what
        name = field.path[: -len(FINGERPRINT_SUFFIX)]
        marker = (change.after or {}).get(name)
        where = show_value(marker) if isinstance(marker, dict) else "(sensitive)"
        verb = "set" if field.before is None else "changed"
        return f"{name}: {verb} {where}{origin}{_note(field.origin)}"
    line = f"{field.path}: {show_value(field.before)} → {show_value(field.after)}{origin}"
    if change.kind == "api_keys" and field.path == "rotation":
        line += "   (re-issues the key: a new secret, the old key revoked)"
    return line + _note(field.origin)


def _note(origin: Origin | None) -> str:
    """``  (reverts a UI change by jane@acme.example, 2026-11-27 14:03 UTC)`` for drift,
    ``  (replaces the platform's default)`` for a value nobody wrote."""
    shown = origin is not None and (origin.drift or origin.default)
    return f"  ({origin.note()})" if shown and origin is not None else ""


def origin_summary(plan: Plan) -> str:
    """``Origins: 1 from the config, 3 drift.`` when any change is drift or replaces a platform
    default; else empty (a change without a note comes from the config)."""
    found = [c.origin for c in plan.changes if c.origin is not None]
    drift = sum(1 for o in found if o.drift)
    default = sum(1 for o in found if o.default)
    if not drift and not default:
        return ""
    parts = [f"{len(found) - drift - default} from the config"]
    if default:
        parts.append(f"{default} replacing the platform's default")
    if drift:
        parts.append(f"{drift} drift")
    return f"Origins: {', '.join(parts)}."


def _file(source: str) -> str:
    return source.rsplit(":", 1)[0]


MEMBER_DELETES = {
    "active": "remove active member",
    "pending": "cancel pending invitation",
    "expired": "cancel expired invitation",
}


def headline(change: Change) -> str:
    out = f"{change.symbol} {change.label}"
    if isinstance(change, Resend):
        out += " (resend expired invitation)"
    elif change.kind == "members":
        status = (change.before or {}).get("status") or "active"
        if isinstance(change, Delete):
            out += f" ({MEMBER_DELETES.get(status, 'remove')})"
        elif isinstance(change, Create):
            out += " (invite)"
        elif status != "active":
            out += f" ({status} invitation)"
    return out


def _groups(changes: list[Change]) -> Iterable[tuple[str, str, list[Change]]]:
    group: list[Change] = []
    for ch in changes:
        if group and (group[0].kind, group[0].action) != (ch.kind, ch.action):
            yield group[0].kind, group[0].action, group
            group = []
        group.append(ch)
    if group:
        yield group[0].kind, group[0].action, group


def plan_text(
    plan: Plan, *, colour: bool = False, limit: int = MAX_PER_GROUP, indent: str = "  "
) -> str:
    """One workspace's plan; ``indent=""`` puts +/~/- in column 0 for ```diff blocks."""
    lines = [_paint(text(f"Workspace {plan.slug}"), "bold", colour) + text(_from(plan.file))]
    for kind, action, group in _groups(plan.changes):
        for ch in group[:limit]:
            head = indent + _paint(text(headline(ch)), ch.symbol, colour)
            if ch.source and not isinstance(ch, Delete):
                head += _paint(text(f"   (from {ch.source})"), "dim", colour)
            if not isinstance(ch, Update):
                head += text(_note(ch.origin))
            lines.append(head)
            lines.extend(f"      {text(line)}" for line in change_lines(ch))
        if len(group) > limit:
            noun = kind.replace("_", " ")
            lines.append(f"  … and {len(group) - limit} more {noun} to {action}")
    for note in plan.notes():
        lines.append(_paint(text(f"  Note: {note}"), "dim", colour))
    if plan.empty:
        lines.append("  No changes. The live workspace matches the configuration.")
    else:
        lines.append("  " + plan.summary())
        if origin_summary(plan):
            lines.append("  " + origin_summary(plan))
    return "\n".join(lines)


def _from(file: str) -> str:
    return f" ({file})" if file else ""


def fleet_text(
    plans: list[Plan],
    failures: list[Failure],
    *,
    colour: bool = False,
    refusals: Sequence[Refusal] = (),
    skip_unsafe: bool = False,
    full: bool = False,
) -> str:
    limit = FULL if full else MAX_PER_GROUP
    parts = [plan_text(p, colour=colour, limit=limit) for p in plans]
    for f in failures:
        parts.append(_paint(text(f"Workspace {f.target}: error: {f.message}"), "!", colour))
    if len(plans) + len(failures) > 1:
        parts.append(summary_table(plans, failures))
    if refusals:
        lines = [_paint(text(refusals_title(refusals, skip_unsafe)), "!", colour)]
        lines += [f"  ✗ {text(r.line())}" for r in refusals]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


FULL = 1 << 62  # "no limit" for plan_text


def refusals_title(refusals: Sequence[Refusal], skip_unsafe: bool) -> str:
    if skip_unsafe:
        skipped = sorted({t for r in refusals for t in r.targets})
        return f"Apply will skip {len(skipped)} workspace(s) (--skip-unsafe): " + ", ".join(skipped)
    n = len(refusals)
    return f"Apply will refuse this plan ({n} refusal{'s' if n != 1 else ''}):"


def summary_table(plans: list[Plan], failures: list[Failure]) -> str:
    rows = [("target", "add", "change", "delete", "status")]
    for p in plans:
        c = p.counts()
        status = "no changes" if p.empty else "changes"
        changed = str(c["update"] + c["resend"])
        rows.append((text(p.slug), str(c["create"]), changed, str(c["delete"]), status))
    for f in failures:
        rows.append((text(f.target), "-", "-", "-", "error"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    totals = _totals(plans)
    out.append(
        f"{len(plans) + len(failures)} targets: {totals['changed']} with changes, "
        f"{len(failures)} failed; {totals['create']} to add, {totals['update']} to change, "
        f"{totals['delete']} to delete."
    )
    return "\n".join(out)


def _totals(plans: list[Plan]) -> dict[str, int]:
    t = {"create": 0, "update": 0, "delete": 0, "changed": 0}
    for p in plans:
        c = p.counts()
        t["create"] += c["create"]
        t["update"] += c["update"] + c["resend"]
        t["delete"] += c["delete"]
        t["changed"] += 0 if p.empty else 1
    return t


def plan_json(
    plans: list[Plan],
    failures: list[Failure],
    *,
    server: str,
    allowances: Allowances | None = None,
    sealer: Sealer | None = None,
    only: Sequence[str] = (),
    mask: Callable[[Any], Any] | None = None,
    run: dict[str, Any] | None = None,
    violations: Sequence[dict[str, Any]] = (),
) -> str:
    """The saved-plan document (sealed with ``sealer``'s key), ``mask`` applied before the
    seal: what ``-o`` writes, with the targets that failed and the live policy violations;
    ``run``: the record of a part of a sharded run."""
    doc = plans_to_document(
        plans,
        server=server,
        allowances=allowances,
        sealer=sealer,
        only=only,
        errors=[{"target": f.target, "message": f.message} for f in failures],
        mask=mask,
        run=run,
        violations=violations,
    )
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False)


FULL_PLAN = "`wscfg show PLAN.json --full` on the saved plan (`wscfg plan -o PLAN.json`)"
SLUGS_IN_A_ROW = 3  # workspaces named in a folded row of the summary table
SLUGS_IN_A_BLOCK = 200  # and in its details, before "and N more"


@dataclass
class _Group:
    """Workspaces whose plans read the same (same changes, same sources): one row, one block."""

    plans: list[Plan]
    body: str  # the plan text below its "Workspace" line


def _fold(plans: list[Plan], m: Callable[[str], str]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for p in plans:
        body = _own_file(p, m(plan_text(p, indent="")).split("\n", 1)[-1])
        key = body if not p.empty else "\x00empty"
        groups.setdefault(key, _Group([], body)).plans.append(p)
    return list(groups.values())


def _own_file(plan: Plan, body: str) -> str:
    """``body`` with its workspace's own file named as such, so that plans of workspaces
    declared in files of their own can read the same."""
    if not plan.file:
        return body
    return body.replace(f"(from {text(plan.file)}:", "(from the workspace's file, line ")


def _slugs(plans: Sequence[Plan], shown: int, m: Callable[[str], str], *, cell: bool) -> str:
    names = ", ".join(md_code(m(p.slug), cell=cell) for p in plans[:shown])
    more = len(plans) - shown
    return f"{names} and {more} more" if more > 0 else names


def plan_markdown(
    plans: list[Plan],
    failures: list[Failure],
    *,
    budget: int = MARKDOWN_BUDGET,
    refusals: Sequence[Refusal] = (),
    skip_unsafe: bool = False,
    mask: Callable[[str], str] | None = None,
    note: str | None = None,
    full: str = FULL_PLAN,
    after: Sequence[Table] = (),
) -> str:
    """A PR comment: ``note`` (a partial plan says so), refusals, the totals, a summary table
    and each plan's details folded, then the tables ``after`` (the live policy violations).
    Workspaces whose plans read the same are one row and one block. Whole rows and blocks
    only, never over ``budget``: what does not fit is counted and the comment says where the
    full plan is (``full``). ``mask`` (environment values → references) applies before
    anything is measured."""
    m = mask or (lambda x: x)
    t = _totals(plans)
    head = ["### wscfg plan", "", *([f"> {md_text(m(note))}", ""] if note else [])]
    head += _md_refusals(refusals, skip_unsafe, budget // 4)
    head += [
        f"**{t['create']} to add, {t['update']} to change, {t['delete']} to delete** across "
        f"{len(plans) + len(failures)} workspace(s); {t['changed']} with changes, "
        f"{len(failures)} failed.",
        "",
    ]
    groups = _fold(plans, m)
    rows: list[str] = []
    for g in groups:
        c = g.plans[0].counts()
        status = "no changes" if g.plans[0].empty else "changes"
        if len(g.plans) > 1:
            status += f" (the same in {len(g.plans)} workspaces)"
        changed = c["update"] + c["resend"]
        slugs = _slugs(g.plans, SLUGS_IN_A_ROW, m, cell=True)
        rows.append(f"| {slugs} | {c['create']} | {changed} | {c['delete']} | {status} |\n")
    for f in failures:
        rows.append(f"| {md_code(m(f.target), cell=True)} | – | – | – | **error** |\n")
    blocks = [
        m(f"\n**{md_code(m(f.target))}: error** — {md_text(m(f.message))}\n") for f in failures
    ]
    for g in groups:
        if g.plans[0].empty:
            continue
        if len(g.plans) == 1:
            p = g.plans[0]
            block = _folded(p, m(plan_text(p, indent="")), m)
            short = _folded(p, m(plan_text(p, limit=3, indent="")), m)
        else:
            block = _folded_group(g, g.body, m)
            first = m(plan_text(g.plans[0], limit=3, indent=""))
            short = _folded_group(g, _own_file(g.plans[0], first.split("\n", 1)[-1]), m)
        blocks.append(block if len(block) <= budget // 4 else short)
    header = "| workspace | add | change | delete | status |\n|---|---:|---:|---:|---|\n"
    parts: list[Table | str] = [Table(header, rows), *blocks, *after]
    return fit_markdown(m("\n".join(head) + "\n"), parts, budget, f"the full plan: {full}")


@dataclass(frozen=True)
class Table:
    """Markdown rows to fit a size, with what stands around them: ``head`` (a header row and
    its separator, an opening ``<details>``), the ``rows`` (one line each, new line
    included) and ``tail`` (what closes ``head``). Shown with the rows that fit, or not at
    all: never cut inside."""

    head: str
    rows: Sequence[str]
    tail: str = ""


def fit_markdown(head: str, parts: Sequence[Table | str], budget: int, where: str) -> str:
    """``head``, then ``parts`` in order in at most ``budget`` characters: tables (the whole
    rows that fit; once one is left out, so is every later row, so that what is shown keeps
    its order; a table none of whose rows is shown is left out whole) and blocks (each
    whole, or left out), with the note that counts the rows and blocks left out and says
    ``where`` the rest is."""
    whole = head + "".join(p if isinstance(p, str) else p.head + "".join(p.rows) + p.tail
                           for p in parts)  # fmt: skip
    if len(whole) <= budget:
        return whole
    reserve = 400 + len(where)  # the note
    text = head
    left_rows = left_blocks = 0
    for part in parts:
        if isinstance(part, str):
            if len(text) + len(part) + reserve > budget:
                left_blocks += 1
            else:
                text += part
            continue
        size = len(text) + len(part.head) + len(part.tail) + reserve
        shown: list[str] = []
        for row in part.rows:
            if left_rows or size + len(row) > budget:
                left_rows += 1
                continue
            shown.append(row)
            size += len(row)
        if shown:
            text += part.head + "".join(shown) + part.tail
    if left_rows or left_blocks:
        text += (
            f"\n{CUT_NOTE} {left_rows} table row(s) and {left_blocks} detail block(s); {where}._\n"
        )
    return text


def violation_tables(violations: Sequence[Any], total: int) -> list[Table]:
    """The live policy violations (:class:`~wscfg.engine.violations.Violation`) of ``total``
    workspaces as tables to fit: one per policy, the section's title above the first."""
    from .violations import markdown_tables, markdown_title

    def lines(items: Iterable[str]) -> str:
        return "".join(f"{line}\n" for line in items)

    if not violations:
        return []
    out = []
    lead = "\n" + lines(markdown_title(violations, total))
    for head, rows, tail in markdown_tables(violations, total):
        out.append(Table(lead + lines(head), [f"{row}\n" for row in rows], lines(tail)))
        lead = ""
    return out


def _md_refusals(refusals: Sequence[Refusal], skip_unsafe: bool, room: int) -> list[str]:
    """Every refusal, at most :data:`MAX_REFUSALS_SHOWN` of them in ``room`` characters;
    the rest counted."""
    if not refusals:
        return []
    out = [f"**⛔ {refusals_title(refusals, skip_unsafe)}**", ""]
    for n, r in enumerate(refusals):
        where = "fleet" if r.code == "fleet_delete_share" else ", ".join(r.targets)
        line = f"- {md_code(where)}: {md_text(r.message)} ({md_code(r.code)})"
        room -= len(line) + 1
        if n == MAX_REFUSALS_SHOWN or room < 0:
            out.append(f"- … and {len(refusals) - n} more")
            break
        out.append(line)
    return [*out, ""]


def _folded_group(group: _Group, body: str, mask: Callable[[str], str]) -> str:
    """Workspaces with the same plan: named (the first ones), the plan once."""
    first = group.plans[0]
    n = len(group.plans)
    names = ", ".join(f"<code>{html(mask(p.slug))}</code>" for p in group.plans[:SLUGS_IN_A_BLOCK])
    more = f" and {n - SLUGS_IN_A_BLOCK} more" if n > SLUGS_IN_A_BLOCK else ""
    summary = f"<summary>{n} workspaces, the same plan: {html(first.summary())}</summary>"
    return f"\n<details>{summary}\n\n{names}{more}\n\n{md_fence(body, 'diff')}\n</details>\n"


def _folded(plan: Plan, body: str, mask: Callable[[str], str]) -> str:
    """One target's plan, folded: ``body`` (text lines, values escaped) in a diff block whose
    fence no line of it can close."""
    summary = f"<summary><code>{html(mask(plan.slug))}</code>: {html(plan.summary())}</summary>"
    return f"\n<details>{summary}\n\n{md_fence(body, 'diff')}\n</details>\n"
