"""Reports that fit (issue 22, item 5): a markdown plan or drift report of any fleet size is one
PR comment (at most 65,536 characters) and never cuts a row. Identical plans across workspaces
fold into one row and one block; what does not fit is counted and the report says where the
full one is; with GitHub's 1 MiB job-summary budget the whole report is kept. Rendered from
generated plans (1,400 workspaces) and checked with GitHub's markdown parser (cmark-gfm)."""

from __future__ import annotations

import re

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_many_long_refusals_still_fit_and_say_how_many_are_left_out():
    """The refusals stand at the top of the comment, outside the table: they are held to a
    quarter of it, and the rest counted (apply's refusals of a broken template can be many)."""
    from wscfg.engine.safety import Refusal

    users = ", ".join(f"member{n}@clinic.example" for n in range(120))
    refusals = [
        Refusal("in_use", f"role front-desk is held by {users}", (f"clinic-{k:04d}",))
        for k in range(60)
    ]
    md = render.plan_markdown(fleet_plans(100, 5), [], refusals=refusals)
    assert len(md) <= COMMENT
    well_formed(md)
    shown = sum(line.startswith("- `clinic-") for line in md.splitlines())
    assert 0 < shown < 60
    assert f"- … and {60 - shown} more" in md.splitlines()


def violation_report(drifted: int, violations: int) -> DriftReport:
    from wscfg.engine.violations import Violation

    jane = Origin("drift", "user", "jane@acme.example", "ui", "2026-11-27T14:03:09Z")
    slugs = [f"clinic-{k:04d}" for k in range(max(drifted, violations, 2))]
    items = [
        DriftItem(s, "call_tags", "spam", "call tag spam", "color", "changed", "#0f0", "#f00", jane)
        for s in slugs[:drifted]
    ]
    found = [
        Violation(s, "no-red", "error", "red is for alerts", f"call_tags[{k}].color", "red |`x`", 1)
        for k, s in enumerate(slugs[:violations])
    ]
    return DriftReport(items, 0, slugs, [], found)


def test_a_drift_report_cut_among_its_policy_violations_closes_what_it_opened():
    """Cut inside a policy's folded table, the report still closes the ``<details>`` it
    opened (else the note, and all that follows, is folded away), and counts the rows it
    left out: table rows only, never header, separator or markup lines."""
    report = violation_report(5, 3000)
    md = report_markdown(report, 30_000)
    assert len(md) <= 30_000
    html = well_formed(md)
    assert html.rstrip().endswith("writes every row.</em></p>")  # the note, outside any fold
    left_rows, left_blocks = note_counts(md)
    shown = sum(line.startswith("| `clinic-") for line in md.splitlines())
    assert shown + left_rows == 5 + 3000
    assert left_blocks == 0


HEADERS = {
    "| drift | workspaces |",
    "| workspace | item | field | live | config | who | via | when |",
    "| workspace | path | violation | live |",
    "| workspace | add | change | delete | status |",
}


def data_rows(md: str) -> int:
    return sum(
        line.startswith("|") and not line.startswith("|---") and line not in HEADERS
        for line in md.splitlines()
    )


@settings(max_examples=60, deadline=None)
@given(
    drifted=st.integers(0, 120),
    kinds=st.integers(1, 4),
    violations=st.integers(0, 120),
    failures=st.integers(0, 8),
    budget=st.integers(2_500, 30_000),
    hostile=st.lists(st.sampled_from(sorted(HOSTILE_STRINGS.values())), min_size=1, max_size=3),
)
def test_any_drift_report_fits_its_budget_in_whole_rows_and_counts_the_rest(
    drifted, kinds, violations, failures, budget, hostile
):
    """For any report and budget: never over it, every row whole and every fold closed,
    and the rows and blocks shown plus those the note counts are all of them."""
    from wscfg.engine.violations import Violation

    who = Origin("drift", "user", hostile[0][:80], "ui", "2026-11-27T14:03:09Z")
    slugs = [f"clinic-{k:04d}" for k in range(max(drifted, violations, 2))]
    items = [
        DriftItem(s, "call_tags", f"t{k % kinds}", f"call tag t{k % kinds}", "description",
                  "changed", hostile[k % len(hostile)] * 3, "plain", who)
        for k, s in enumerate(slugs[:drifted])
    ]  # fmt: skip
    found = [
        Violation(s, f"policy {k % 3} {hostile[0][:40]}", "error", "d", f"call_tags[{k}]",
                  hostile[-1], {"note": hostile[k % len(hostile)]})
        for k, s in enumerate(slugs[:violations])
    ]  # fmt: skip
    errors = [render.Failure(f"gone-{k}", hostile[k % len(hostile)] * 5) for k in range(failures)]
    report = DriftReport(items, 0, slugs, errors, found)
    md = report_markdown(report, budget)
    assert len(md) <= budget
    well_formed(md)
    total_rows = len(report.groups()) + drifted + violations
    shown_blocks = sum(line.startswith("**`gone-") for line in md.splitlines())
    left_rows, left_blocks = note_counts(md) if render.CUT_NOTE in md else (0, 0)
    assert data_rows(md) + left_rows == total_rows
    assert shown_blocks + left_blocks == failures
    whole = report_markdown(report, 1 << 62)
    assert render.CUT_NOTE not in whole
    assert data_rows(whole) == total_rows


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 300),
    odd=st.integers(0, 60),
    refused=st.integers(0, 80),
    budget=st.integers(3_000, 40_000),
    hostile=st.sampled_from(sorted(HOSTILE_STRINGS.values())),
)
def test_any_plan_fits_its_budget_in_whole_rows(n, odd, refused, budget, hostile):
    from wscfg.engine.safety import Refusal

    refusals = [
        Refusal("in_use", f"role {hostile} is held by " + hostile * 4, (f"clinic-{k:04d}",))
        for k in range(refused)
    ]
    md = render.plan_markdown(fleet_plans(n, min(odd, n)), [], budget=budget, refusals=refusals)
    assert len(md) <= budget
    well_formed(md)
