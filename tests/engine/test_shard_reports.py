"""Sharded runs merge into the unsharded run's report (issue 22, item 4), as a property: for
random fleets (identical plans across shards, so that folding crosses parts; failed targets;
drift in some workspaces) and any shard count 1…6, the parts each shard writes
(``--format json``: the document with its run record), given to ``show`` in any order, render
in text and markdown exactly as the unsharded run does, and as json the same document but for
the run record."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.engine import render
from wscfg.engine.changes import Origin
from wscfg.engine.drift import DriftItem, DriftReport, report_json
from wscfg.engine.plan import make_plan
from wscfg.engine.safety import Allowances
from wscfg.engine.shards import Part, in_shard, run_identity
from wscfg.workflow import show
from wscfg.workflow.report import render_planset
from wscfg.workflow.results import PlanSet

from .helpers import desired, live

SERVER = "https://api.example"
COLOURS = ["#111111", "#222222", "#333333"]
fleets = st.lists(
    st.tuples(st.integers(0, len(COLOURS)), st.booleans()),  # (colour, or 3: failed), drifted
    min_size=1,
    max_size=25,
)


def plan_of(slug: str, colour: int) -> Any:
    tags = [{"name": "spam", "color": COLOURS[colour]}]
    return make_plan(
        desired({"workspace": {"slug": slug}, "call_tags": tags}),
        live({"call_tags": [{"name": "spam", "color": "#000000"}]}, slug=slug),
    )


def shuffled(parts: list[Part], seed: int) -> list[Part]:
    out = parts[:]
    random.Random(seed).shuffle(out)
    return out


def order(slugs: list[str], mine: list[str]) -> dict[str, int]:
    return {s: slugs.index(s) for s in mine}


@settings(max_examples=40, deadline=None)
@given(fleet=fleets, n=st.integers(1, 6), seed=st.integers(0, 1000))
def test_plan_parts_render_as_the_unsharded_plan(fleet, n, seed):
    slugs = [f"clinic-{k:02d}" for k in range(len(fleet))]
    plans = {s: plan_of(s, c) for s, (c, _) in zip(slugs, fleet, strict=True) if c < len(COLOURS)}
    failed = {s: render.Failure(s, f"404 Not Found: {s}") for s in slugs if s not in plans}

    def planset(mine: list[str]) -> PlanSet:
        return PlanSet(
            [plans[s] for s in mine if s in plans],
            [failed[s] for s in mine if s in failed],
            SERVER,
            Allowances(),
        )

    parts = []
    for i in range(1, n + 1):
        mine = [s for s in slugs if in_shard(s, i, n)]
        run = run_identity("plan", (i, n), len(slugs), "hmac-sha256:x", [], order(slugs, mine))
        ps = planset(mine)
        ps.run = run
        doc = json.loads(render_planset(ps, "json"))
        parts.append(Part(f"part-{i}.json", "plan", doc))
    doc, _merged = show.plan_document(shuffled(parts, seed))
    merged = show.planset_of(doc)
    merged.failures = show.failures_of(doc)
    whole = planset(slugs)
    for fmt in ("text", "markdown"):
        assert render_planset(merged, fmt) == render_planset(whole, fmt), fmt
    got = json.loads(show.plan_json(doc, merged, True))
    want = json.loads(render_planset(whole, "json"))
    assert {k: v for k, v in got.items() if k != "run"} == want


@settings(max_examples=40, deadline=None)
@given(fleet=fleets, n=st.integers(1, 6), seed=st.integers(0, 1000))
def test_drift_parts_render_as_the_unsharded_report(fleet, n, seed):
    jane = Origin("drift", "user", "jane@acme.example", "ui", "2026-11-27T14:03:09Z")
    slugs = [f"clinic-{k:02d}" for k in range(len(fleet))]
    failed = {s for s, (c, _) in zip(slugs, fleet, strict=True) if c == len(COLOURS)}
    items = [
        DriftItem(s, "call_tags", "spam", "call tag spam", "color", "changed",
                  COLOURS[c % len(COLOURS)], "#000000", jane)
        for s, (c, drifted) in zip(slugs, fleet, strict=True)
        if drifted and s not in failed
    ]  # fmt: skip

    def report(mine: list[str]) -> DriftReport:
        return DriftReport(
            [i for i in items if i.workspace in mine],
            0,
            [s for s in mine if s not in failed],
            [render.Failure(s, "404 Not Found") for s in mine if s in failed],
        )

    parts = []
    for i in range(1, n + 1):
        mine = [s for s in slugs if in_shard(s, i, n)]
        run = run_identity("drift", (i, n), len(slugs), "hmac-sha256:x", [], order(slugs, mine))
        run["baseline"] = None
        doc = json.loads(report_json(report(mine), server=SERVER, run=run))
        parts.append(Part(f"drift-{i}.json", "drift", doc))
    from wscfg.engine import drift

    whole = report(slugs)
    given_parts = shuffled(parts, seed)
    assert show.drift_text(given_parts, "text") == drift.report_text(whole)
    assert show.drift_text(given_parts, "markdown") == drift.report_markdown(whole)
    got = json.loads(show.drift_text(given_parts, "json"))
    want = json.loads(report_json(whole, server=SERVER, run=None))
    assert {k: v for k, v in got.items() if k != "run"} == {
        k: v for k, v in want.items() if k != "run"
    }
