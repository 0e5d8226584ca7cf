"""The drift report as one self-contained HTML page: no external assets, no scripts.

A matrix of workspaces × kinds coloured by state (in sync, drifted, error), the fleet's grouped
rows, and every drifted field with who, via what and when. Every value is escaped; the CLI
masks environment values in the finished page as in every other format. Pure.
"""

from __future__ import annotations

from ..escape import html as escape
from ..model.kinds import KINDS
from .drift import DriftItem, DriftReport, summary, value_text
from .violations import report_html as violations_html

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
td.s{width:18px;height:18px;padding:0;text-align:center;vertical-align:middle;font-size:11px}
.sync{background:#dafbe1}.drift{background:#ffb3b3}.error{background:#8b949e;color:#fff}
.legend span{display:inline-block;padding:2px 8px;margin-right:8px;border:1px solid #d0d7de}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
details summary{cursor:pointer}
.meta{color:#59636e}
td.when,td.ws{white-space:nowrap}
td.value{max-width:28em;overflow-wrap:anywhere}
"""


def report_html(report: DriftReport, *, server: str = "", generated: str = "") -> str:
    """The page; ``server`` (the API read) and ``generated`` (RFC 3339 UTC, when the report
    was made) head it, so a saved page says what it describes."""
    kinds = [k.name for k in KINDS]
    drifted: dict[tuple[str, str], list[DriftItem]] = {}
    for i in report.new:
        drifted.setdefault((i.workspace, i.kind), []).append(i)
    failed = {f.target: f.message for f in report.failures}
    total = len(report.workspaces) + len(report.failures)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>wscfg drift</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>wscfg drift</h1>",
        _meta(server, generated, total),
        f"<p><strong>{escape(summary(report))}</strong></p>",
        '<p class="legend"><span class="sync">in sync</span><span class="drift">drifted</span>'
        '<span class="error">error</span></p>',
        "<h2>Workspaces × kinds</h2>",
        "<table><thead><tr><th>workspace</th>"
        + "".join(f"<th><code>{escape(k)}</code></th>" for k in kinds)
        + "</tr></thead><tbody>",
    ]
    for slug in sorted([*report.workspaces, *failed]):
        cells = []
        for k in kinds:
            if slug in failed:
                cells.append(f'<td class="s error" title="{escape(failed[slug])}">!</td>')
                continue
            found = drifted.get((slug, k), [])
            if found:
                tip = "; ".join(_tip(i) for i in found)
                cells.append(f'<td class="s drift" title="{escape(tip)}">{len(found)}</td>')
            else:
                cells.append('<td class="s sync"></td>')
        out.append(f"<tr><th><code>{escape(slug)}</code></th>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    groups = report.groups()
    if groups:
        out += ["<h2>Across the fleet</h2>", "<table><tbody>"]
        for g in groups:
            spaces = ", ".join(sorted({escape(i.workspace) for i in g.items}))
            out.append(
                f"<tr><td>{escape(g.line(total))}</td><td><details><summary>"
                f"{len(g.items)} workspace(s)</summary>{spaces}</details></td></tr>"
            )
        out.append("</tbody></table>")
    if report.new:
        out += [
            "<h2>Drifted fields</h2>",
            "<table><thead><tr><th>workspace</th><th>item</th><th>field</th><th>live</th>"
            "<th>config</th><th>who</th><th>via</th><th>when</th></tr></thead><tbody>",
        ]
        for i in report.new:
            o = i.origin
            cells = [
                f"<code>{escape(i.workspace)}</code>",
                escape(i.label),
                f"<code>{escape(i.field)}</code>" if i.field else escape(i.what),
                f"<code>{escape(_value(i.live))}</code>",
                f"<code>{escape(_value(i.config))}</code>",
                escape(o.who() if o.known else "not written by wscfg"),
                escape(o.via or ""),
                _time(o.at, o.when()) if o.at else "",
            ]
            classes = ["ws", "", "", "value", "value", "", "", "when"]
            out.append(
                "<tr>"
                + "".join(
                    f'<td class="{k}">{c}</td>' if k else f"<td>{c}</td>"
                    for k, c in zip(classes, cells, strict=True)
                )
                + "</tr>"
            )
        out.append("</tbody></table>")
    out += violations_html(report.violations, len(report.workspaces) + len(report.failures))
    if report.failures:
        out += ["<h2>Errors</h2>", "<ul>"]
        out += [
            f"<li><code>{escape(f.target)}</code>: {escape(f.message)}</li>"
            for f in report.failures
        ]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def _meta(server: str, generated: str, total: int) -> str:
    """``Generated 2026-12-05 10:20 UTC from https://api.example (12 workspaces).``"""
    parts = ["Generated"]
    if generated:
        parts.append(_time(generated, _utc(generated)))
    if server:
        parts.append(f"from <code>{escape(server)}</code>")
    parts.append(f"({total} workspace{'s' if total != 1 else ''}).")
    return f'<p class="meta">{" ".join(parts)}</p>'


def _utc(at: str) -> str:
    return f"{at[:10]} {at[11:16]} UTC" if len(at) >= 16 and at[10] == "T" else at


def _time(at: str, shown: str) -> str:
    return f'<time datetime="{escape(at)}">{escape(shown)}</time>'


def _tip(i: DriftItem) -> str:
    o = i.origin
    who = f"{o.who()} via {o.via}, {o.when()}" if o.known else "not written by wscfg"
    what = f"{i.label} {i.field}" if i.field else f"{i.label} {i.what}"
    return f"{what}: {who}"


def _value(value: object) -> str:
    return value_text(value)
