"""Reports that fit (issue 22, item 5): a markdown plan or drift report of any fleet size is one
PR comment (at most 65,536 characters) and never cuts a row. Identical plans across workspaces
fold into one row and one block; what does not fit is counted and the report says where the
full one is; with GitHub's 1 MiB job-summary budget the whole report is kept. Rendered from
generated plans (1,400 workspaces) and checked with GitHub's markdown parser (cmark-gfm)."""

from __future__ import annotations

import re

import cmarkgfm
from cmarkgfm.cmark import Options

from corpus.hostile_strings import HOSTILE_STRINGS
from wscfg.engine import render
from wscfg.engine.changes import Origin
from wscfg.engine.drift import DriftItem, DriftReport, report_markdown
from wscfg.engine.plan import make_plan

from .helpers import desired, live

COMMENT = 65_536
FLEET = 1_400
TAGS = [{"name": f"tag-{i}", "color": "#00ff00"} for i in range(6)]


def fleet_plans(n: int = FLEET, odd: int = 40):
    """``n`` workspaces from one template: all but ``odd`` plan the same six colour changes;
    the odd ones also change a description that a hostile server holds (long, hostile)."""
    values = list(HOSTILE_STRINGS.values())
    plans = []
    for k in range(n):
        slug = f"clinic-{k:04d}"
        live_tags = [{"name": t["name"], "color": "#ff0000"} for t in TAGS]
        tags = [dict(t) for t in TAGS]
        if k < odd:  # a hostile server's value, and the config's plain one
            live_tags[0]["description"] = (f"{k} " + values[k % len(values)] * 3)[:480]
            tags[0]["description"] = "plain"
        d = desired({"workspace": {"slug": slug}, "call_tags": tags})
        plans.append(make_plan(d, live({"call_tags": live_tags}, slug=slug)))
    return plans


def well_formed(md: str) -> str:
    """GitHub's rendering of ``md``, after checking that no table row was cut and every
    ``<details>`` and fence closes."""
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|") and line.count("|") >= 3, line
    html = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    assert html.count("<details>") == html.count("</details>") == md.count("<details>")
    assert html.count("<pre") == md.count("```diff")
    return html


def note_counts(md: str) -> tuple[int, int]:
    found = re.search(r"(\d+) table row\(s\) and (\d+) detail block\(s\)", md)
    assert found, md[-500:]
    return int(found.group(1)), int(found.group(2))


def test_a_1400_workspace_plan_is_one_comment_with_every_row_whole():
    plans = fleet_plans()
    md = render.plan_markdown(plans, [])
    assert len(md) <= COMMENT
    html = well_formed(md)
    assert f"across {FLEET} workspace(s); {FLEET} with changes" in md
    # the 1,360 identical plans are one row naming the first three, and one block
    assert (
        "| `clinic-0040`, `clinic-0041`, `clinic-0042` and 1357 more | 0 | 6 | 0 | "
        "changes (the same in 1360 workspaces) |"
    ) in md
    assert "<summary>1360 workspaces, the same plan: Plan: 0 to add, 6 to change" in md
    rows = [line for line in md.splitlines() if line.startswith("| `clinic-")]
    assert len(rows) == 41  # 40 odd ones and the folded row: everything fits
    assert "<script>" not in html and "<img" not in html


def test_what_does_not_fit_is_counted_and_the_note_says_where_the_rest_is():
    plans = fleet_plans(odd=400)  # 400 distinct plans with long values: cannot all fit
    md = render.plan_markdown(plans, [])
    assert len(md) <= COMMENT
    well_formed(md)
    left_rows, left_blocks = note_counts(md)
    shown_rows = sum(line.startswith("| `clinic-") for line in md.splitlines())
    assert shown_rows + left_rows == 401
    shown_blocks = md.count("<details>")
    assert shown_blocks + left_blocks == 401
    assert md.rstrip().endswith(
        "the full plan: `wscfg show PLAN.json --full` on the saved plan "
        "(`wscfg plan -o PLAN.json`)._"
    )
    # the job summary's budget keeps the whole plan
    job = render.plan_markdown(plans, [], budget=render.JOB_SUMMARY_BYTES - 4096)
    assert render.CUT_NOTE not in job
    assert sum(line.startswith("| `clinic-") for line in job.splitlines()) == 401
    assert len(job.encode()) <= render.JOB_SUMMARY_BYTES


def test_failures_with_hostile_long_messages_still_fit():
    failures = [
        render.Failure(f"clinic-x{k}", v * 20)
        for k, v in enumerate(list(HOSTILE_STRINGS.values()) * 60)
    ]
    md = render.plan_markdown(fleet_plans(200, 20), failures)
    assert len(md) <= COMMENT
    html = well_formed(md)
    assert "<script>" not in html


def test_a_1400_workspace_drift_report_is_one_comment():
    jane = Origin("drift", "user", "jane@acme.example", "ui", "2026-11-27T14:03:09Z")
    slugs = [f"clinic-{k:04d}" for k in range(FLEET)]
    items = [
        DriftItem(
            s,
            "call_tags",
            f"tag-{t}",
            f"call tag tag-{t}",
            "color",
            "changed",
            "#00ff00",
            "#ff0000",
            jane,
        )
        for s in slugs
        for t in range(3)
    ]
    report = DriftReport(items, 0, slugs, [])
    md = report_markdown(report)
    assert len(md) <= COMMENT
    well_formed(md)
    assert "<code>clinic-0019</code> and 1380 more</details>" in md
    left_rows, left_blocks = note_counts(md)
    assert (left_rows, left_blocks) != (0, 0)
    shown = sum(line.startswith("| `clinic-") for line in md.splitlines())
    assert shown + left_rows == 3 * FLEET  # the three fleet rows are shown
    assert "the full report: `wscfg drift … --format markdown -o FILE`" in md
    whole = report_markdown(report, 1 << 62)
    assert render.CUT_NOTE not in whole
    assert sum(line.startswith("| `clinic-") for line in whole.splitlines()) == 3 * FLEET
