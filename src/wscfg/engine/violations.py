"""Policies over live workspaces: what plan and drift report besides changes (docs/policies.md).

The live document a policy sees is the one ``wscfg export`` writes for the workspace
(:func:`wscfg.engine.export.export_live`): every kind wscfg reads, items the config does not
manage included, no read-only field (status, secret fingerprints). A violation is reported,
never planned: policies add no change and never make anything write.

A violation's ``live`` value is what the document holds at the path (``null`` for a missing
key); a mapping or list is shown without any field whose name says it holds a secret (and
described, not shown, past :data:`MAX_LIVE` characters), and every
output passes through the run's environment mask (a value that came from ``${env:X}`` is shown
as that reference). Messages are the policy's words, never the value.

Pure: renderers return text; the CLI prints it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.diagnostics import format_path, has
from ..escape import html, md_code, md_html, md_text, text
from ..model.kinds import COLLECTIONS
from .export import export_live
from .state import LiveState

_SECRETISH = ("secret", "fingerprint", "token", "password")
IDENTITY = {k.name: k.identity for k in COLLECTIONS if k.identity}
MAX_LIVE = 2000  # characters of a violation's live mapping or list (as JSON), else described


@dataclass(frozen=True)
class Violation:
    workspace: str
    policy: str
    severity: str  # error | warning
    description: str
    path: str  # members[2].email; "" for the document
    message: str  # what is wrong, in the policy's words
    live: Any
    key: str = ""  # identity of the live item the path goes through (members[2] -> its email)

    @property
    def fingerprint(self) -> str:
        """Same workspace, policy, place and live value: the same violation (for baselines).
        The place of a violation about a list item is the item's identity, not its index: a
        list that grows or shrinks around a known violation leaves it known. One about no
        item (``security.require_2fa``) keeps the fingerprint baselines always had."""
        if not self.key:
            return self.index_fingerprint
        place = re.sub(r"^([a-z_]+)\[\d+\]", lambda m: m.group(1), self.path, count=1)
        return _digest(["violation", self.workspace, self.policy, self.key, place, self.live])

    @property
    def index_fingerprint(self) -> str:
        """The fingerprint by place as written (``members[2].email``): what baselines held
        before items were known by identity, so a baseline written then still covers the
        violation while its item stays at that index."""
        return _digest(["violation", self.workspace, self.policy, self.path, self.live])

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "policy": self.policy,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "live": self.live,
            "key": self.key,
        }

    @staticmethod
    def from_dict(data: Any) -> Violation:
        """A violation as a saved plan or report holds it (:meth:`to_dict`); ValueError when
        it is damaged."""
        if not isinstance(data, dict):
            raise ValueError("a violation is not an object")
        names = ("workspace", "policy", "severity", "path", "message")
        values = [data.get(n) for n in names]
        if not all(isinstance(v, str) for v in values) or data["severity"] not in (
            "error",
            "warning",
        ):
            raise ValueError("a violation is damaged")
        workspace, policy, severity, path, message = (str(v) for v in values)
        description = data.get("description")
        key = data.get("key")
        return Violation(
            workspace,
            policy,
            severity,
            description if isinstance(description, str) else "",
            path,
            message,
            data.get("live"),
            key if isinstance(key, str) else "",
        )

    def line(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} (live: {live_text(self.live)})"


def _digest(doc: list[Any]) -> str:
    raw = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def check_live(slug: str, policies: Sequence[Any], live: LiveState) -> list[Violation]:
    """Every violation of ``policies`` (:class:`wscfg.config.policies.CompiledPolicy`) by the
    live document of ``live``."""
    if not policies:
        return []

    document = export_live(live).document
    out: list[Violation] = []
    for policy in policies:
        for named, _at, what in policy.violations(document):
            out.append(
                Violation(
                    slug,
                    policy.name,
                    policy.severity,
                    policy.description,
                    format_path(named),
                    what,
                    _bounded(_scrubbed(_value_at(document, named))),
                    _identity(document, named),
                )
            )
    return out


def _identity(document: Any, path: Sequence[str | int]) -> str:
    """The identity of the collection item ``path`` goes through (``members[2]...``: that
    member's email), "" when it goes through none."""
    if len(path) < 2 or not isinstance(path[1], int) or not isinstance(document, dict):
        return ""
    items = document.get(str(path[0]))
    field = IDENTITY.get(str(path[0]))
    if field is None or not isinstance(items, list) or not 0 <= path[1] < len(items):
        return ""
    item = items[path[1]]
    value = item.get(field) if isinstance(item, dict) else item
    return value if isinstance(value, str) else ""


def _value_at(document: Any, path: Sequence[str | int]) -> Any:
    node = document
    for elem in path:
        if has(node, elem):
            node = node[elem]
        else:
            return None
    return node


def _scrubbed(value: Any) -> Any:
    """``value`` without fields whose names say they hold a secret (at any depth)."""
    if isinstance(value, dict):
        return {
            k: _scrubbed(v)
            for k, v in value.items()
            if not any(s in str(k).lower() for s in _SECRETISH)
        }
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _bounded(value: Any) -> Any:
    """``value``, or for a mapping or list longer than :data:`MAX_LIVE` characters as JSON
    (a rule over a whole kind or the whole document: 100,000 blocked callers in every report
    of every workspace) what it is: "(a list of 100000 items)"."""
    if not isinstance(value, (dict, list)):
        return value
    if len(json.dumps(value, ensure_ascii=False, default=str)) <= MAX_LIVE:
        return value
    if isinstance(value, dict):
        return f"(a mapping of {len(value)} keys)"
    return f"(a list of {len(value)} items)"


def live_text(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def new_violations(found: Iterable[Violation], baseline: set[str]) -> tuple[list[Violation], int]:
    """(the violations not in ``baseline``, how many were known)."""
    found = list(found)
    new = [
        v for v in found if v.fingerprint not in baseline and v.index_fingerprint not in baseline
    ]
    return new, len(found) - len(new)


def by_policy(violations: Iterable[Violation]) -> list[tuple[str, list[Violation]]]:
    """Violations grouped by policy (errors first, then by name), in found order inside."""
    groups: dict[str, list[Violation]] = {}
    for v in violations:
        groups.setdefault(v.policy, []).append(v)
    return sorted(groups.items(), key=lambda kv: (kv[1][0].severity != "error", kv[0]))


def summary(violations: Sequence[Violation], total: int) -> str:
    errors = sum(1 for v in violations if v.severity == "error")
    spaces = len({v.workspace for v in violations})
    n = len(violations)
    return (
        f"{n} policy violation{'s' if n != 1 else ''} ({errors} error"
        f"{'s' if errors != 1 else ''}) in {spaces} of {total} workspace(s)"
    )


def _group_head(policy: str, items: list[Violation], total: int) -> str:
    first = items[0]
    spaces = len({v.workspace for v in items})
    return (
        f"policy {policy} ({first.severity}): {first.description} — {spaces} of {total} "
        "workspace(s)"
    )


def report_text(violations: Sequence[Violation], total: int) -> list[str]:
    """Lines for plan and drift text: grouped by policy, one line per violation."""
    if not violations:
        return []
    lines = [text(f"Policy violations on the live workspaces: {summary(violations, total)}")]
    for policy, items in by_policy(violations):
        lines.append("  " + text(_group_head(policy, items, total)))
        lines += [f"    {text(v.workspace)}: {text(v.line())}" for v in items]
    return lines


def report_markdown(
    violations: Sequence[Violation], total: int, budget: int | None = None
) -> list[str]:
    """A markdown section: one folded table per policy, across the fleet; rows past
    ``budget`` characters are counted, not shown (a PR comment has a size limit)."""
    if not violations:
        return []
    out = markdown_title(violations, total)
    if budget is not None:
        return _cut(out, _sections(violations, total), budget)
    return out + _sections(violations, total)


def _cut(head: list[str], rows: list[str], budget: int) -> list[str]:
    size = sum(len(x) + 1 for x in head)
    out = list(head)
    for n, row in enumerate(rows):
        if size + len(row) + 200 > budget:
            if sum(x.startswith("<details>") for x in out) > out.count("</details>"):
                out += ["", "</details>"]
            out += ["", f"_{len(rows) - n} more lines not shown; see the JSON report._"]
            break
        out.append(row)
        size += len(row) + 1
    return out


def _sections(violations: Sequence[Violation], total: int) -> list[str]:
    return [
        line
        for head, rows, tail in markdown_tables(violations, total)
        for line in (*head, *rows, *tail)
    ]


def markdown_tables(
    violations: Sequence[Violation], total: int
) -> list[tuple[list[str], list[str], list[str]]]:
    """The folded table of each policy as (the lines before its rows, the rows, the lines
    after), for a report that fits its rows to a size."""
    out = []
    for policy, items in by_policy(violations):
        head = [f"<details><summary>{md_html(_group_head(policy, items, total))}</summary>"]
        head += ["", "| workspace | path | violation | live |", "|---|---|---|---|"]
        rows = []
        for v in items:
            cells = [
                md_code(v.workspace, cell=True),
                md_code(v.path or "(document)", cell=True),
                md_text(v.message),
                md_code(live_text(v.live), cell=True),
            ]
            rows.append("| " + " | ".join(cells) + " |")
        out.append((head, rows, ["", "</details>", ""]))
    return out


def markdown_title(violations: Sequence[Violation], total: int) -> list[str]:
    """The lines above the tables of :func:`markdown_tables`."""
    return ["#### Policy violations (live)", "", f"**{md_text(summary(violations, total))}**", ""]


def report_html(violations: Sequence[Violation], total: int) -> list[str]:
    """An HTML section for the drift page: a table per policy, across the fleet."""
    if not violations:
        return []
    out = ["<h2>Policy violations</h2>", f"<p>{html(summary(violations, total))}</p>"]
    for policy, items in by_policy(violations):
        out.append(f"<h3>{html(_group_head(policy, items, total))}</h3>")
        out.append("<table><thead><tr><th>workspace</th><th>path</th><th>violation</th>")
        out.append("<th>live</th></tr></thead><tbody>")
        for v in items:
            cells = [
                f"<code>{html(v.workspace)}</code>",
                f"<code>{html(v.path)}</code>",
                html(v.message),
                f"<code>{html(live_text(v.live))}</code>",
            ]
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</tbody></table>")
    return out
