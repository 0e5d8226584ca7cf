"""A damaged or hand-edited part of a sharded run is refused naming the file, whatever field
is damaged and however: a wrong type, a null, a missing key. Never an internal error. Drives
what ``wscfg show`` does with the parts (check, merge, render) without the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.engine.changes import DRIFT, Origin
from wscfg.engine.drift import DriftItem, DriftReport, report_json
from wscfg.engine.plan import PLAN_VERSION
from wscfg.engine.shards import MAX_SHARDS, Part, PartError, check_parts, in_shard, run_identity
from wscfg.errors import WscfgError
from wscfg.workflow import show

FLEET = [f"clinic-{i:02d}" for i in range(9)]
SHARDS = 2
WEIRD = [None, 7, -1, True, 1.5, "x", "", [], [7], [None], {}, {"a": 1}]


def _mine(i: int) -> list[str]:
    return [s for s in FLEET if in_shard(s, i, SHARDS)]


def _run(command: str, i: int) -> dict[str, Any]:
    order = {s: FLEET.index(s) for s in _mine(i)}
    return run_identity(command, (i, SHARDS), len(FLEET), "hmac-sha256:x", ["clinic-*"], order)


def drift_parts() -> list[Part]:
    """Drift report parts as `wscfg drift --shard i/n --format json` writes them: drift in
    the first workspace of each part, the last one unreadable."""
    parts = []
    for i in range(1, SHARDS + 1):
        mine = _mine(i)
        origin = Origin(DRIFT, "user", "ops@x.example", "ui", "2026-11-27T14:03:09Z", "Mozilla")
        item = DriftItem(mine[0], "call_tags", "spam", "call tag spam", "color", "changed",
                         "#ff0000", "#00ff00", origin)  # fmt: skip
        report = DriftReport([item], 1, mine[:-1], [show_failure(mine[-1])])
        doc = json.loads(report_json(report, server="https://api.example", run=_run("drift", i)))
        parts.append(Part(f"drift-{i}.json", "drift", doc))
    return parts


def show_failure(slug: str) -> Any:
    from wscfg.engine.render import Failure

    return Failure(slug, "404 not found")


def plan_parts() -> list[Part]:
    parts = []
    for i in range(1, SHARDS + 1):
        mine = _mine(i)
        doc = {
            "format": "wscfg-plan",
            "version": PLAN_VERSION,
            "server": "https://api.example",
            "allowances": {"mass_changes": False},
            "run": _run("plan", i),
            "refusals": [],
            "targets": [{"workspace": s, "changes": []} for s in mine[:-1]],
            "errors": [{"target": mine[-1], "message": "404 not found"}],
        }
        parts.append(Part(f"plan-{i}.json", "plan", doc))
    return parts


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (below its "format" and "version", which say what the
    file is and are checked as it is read)."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        if not at and key in ("format", "version"):
            continue
        found.append((*at, key))
        if isinstance(child, (dict, list)):
            found += paths(child, (*at, key))
    return found


def show_all(parts: list[Part]) -> None:
    """What `wscfg show` does with the parts, in every format."""
    if parts[0].command == "drift":
        for fmt in ("text", "json", "markdown", "html"):
            show.drift_text(parts, fmt)
        return
    doc, merged = show.plan_document(parts)
    ps = show.planset_of(doc)
    show.plan_json(doc, ps, merged)
    show.failures_of(doc)


def whole_drift() -> list[Part]:
    """One report made without --shard (``show`` renders it as it is)."""
    part = drift_parts()[0]
    del part.data["run"]
    return [part]


def whole_plan() -> list[Part]:
    part = plan_parts()[0]
    del part.data["run"]
    return [part]


@pytest.mark.parametrize("make", [drift_parts, plan_parts, whole_drift, whole_plan])
def test_the_undamaged_parts_show(make):
    show_all(make())  # the baseline the mutations below start from


@settings(max_examples=400, deadline=None)
@given(data=st.data(), make=st.sampled_from([drift_parts, plan_parts, whole_drift, whole_plan]))
def test_any_damaged_field_of_a_part_is_a_clean_error_naming_it(data, make):
    parts = make()
    which = data.draw(st.integers(0, len(parts) - 1))
    doc = parts[which].data
    path = data.draw(st.sampled_from(paths(doc)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    how = data.draw(st.sampled_from(["delete", "replace"]))
    if how == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(st.sampled_from(WEIRD))
    try:
        show_all(parts)
    except PartError as exc:
        assert parts[which].name in exc.message, exc.message
    except WscfgError as exc:  # e.g. the allowances, read as the saved-plan reader does
        assert "damaged" in exc.message, exc.message


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("workspaces",), 7, '"workspaces" is not a list of workspace names'),
        (("workspaces",), None, '"workspaces" is not a list of workspace names'),
        (("workspaces", 0), 7, '"workspaces" is not a list of workspace names'),
        (("drift",), {}, '"drift" is not a list'),
        (("drift", 0, "live"), "edited", '"drift" entry 1 is not drift this report found'),
        (("drift", 0, "kind"), None, '"drift" entry 1 is not drift this report found'),
        (("drift", 0, "workspace"), "elsewhere", '"drift" entry 1 is not drift this report found'),
        (("drift", 0, "actor"), [], '"drift" entry 1 is not drift this report found'),
        (("errors",), "x", '"errors" is not a list'),
        (("errors", 0), None, '"errors" entry 1 is not a target and a message'),
        (("errors", 0, "message"), 7, '"errors" entry 1 is not a target and a message'),
        (("known",), -1, '"known" is not a count'),
        (("known",), "1", '"known" is not a count'),
    ],
)
def test_each_damaged_drift_field_is_named(path, value, message):
    parts = drift_parts()
    parent = parts[0].data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(PartError) as got:
        show_all(parts)
    assert got.value.message == f"drift-1.json: the drift report is damaged ({message})"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("targets",), 7, '"targets" is not a list'),
        (("targets", 0), None, '"targets" entry 1 names no workspace'),
        (("targets", 0, "workspace"), 7, '"targets" entry 1 names no workspace'),
        (("targets", 0, "changes"), None, '"targets" entry 1 (clinic-0X) is not a plan'),
        (("errors", 0, "target"), None, '"errors" entry 1 is not a target and a message'),
        (("violations",), {}, '"violations" is not a list'),
        (("violations",), [7], '"violations" entry 1 is not a policy violation'),
        (("targets", 0, "reports"), [], '"targets" entry 1 (clinic-0X) is not a plan'),
    ],
)
@pytest.mark.parametrize("make", [plan_parts, whole_plan])
def test_each_damaged_plan_field_is_named(path, value, message, make):
    parts = make()
    parent = parts[0].data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(PartError) as got:
        show_all(parts)
    expected = message.replace("clinic-0X", _mine(1)[0])
    assert got.value.message == f"plan-1.json: the plan is damaged ({expected})"


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("shards", "2", f"is not 1…{MAX_SHARDS}"),
        ("shards", MAX_SHARDS + 1, f"is not 1…{MAX_SHARDS}"),
        ("shard", 3, "is not 1…shards"),
        ("targets", None, "is not a count"),
        ("config", 7, "is not a digest"),
        ("select", [7], "is not a list of globs"),
        ("order", {"clinic-00": "1"}, "is not an object of positions"),
        ("command", "drift", "is not 'plan'"),
    ],
)
def test_each_damaged_run_field_is_named(field, value, what):
    parts = plan_parts()
    parts[1].data["run"][field] = value
    with pytest.raises(PartError) as got:
        check_parts(parts)
    assert got.value.message == f'plan-2.json: its "run" record is damaged ("{field}" {what})'
