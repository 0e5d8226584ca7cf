"""Fleet selection and fleet-wide safety (pure functions)."""

from __future__ import annotations

import pytest

from engine.helpers import desired, live
from wscfg.engine.plan import make_plan
from wscfg.fleet import fleet_unsafe, parse_shard, select


def test_shards_partition_the_slugs_deterministically():
    slugs = [f"clinic-{i:03d}" for i in range(200)]
    shards = [select(slugs, [], (i, 4)) for i in (1, 2, 3, 4)]
    assert sorted(s for shard in shards for s in shard) == slugs
    assert all(shard for shard in shards)
    assert shards[0] == select(slugs, [], (1, 4))


def test_target_globs_and_bad_shards():
    assert select(["smile-north", "smile-south", "acme"], ["smile-*"], None) == [
        "smile-north",
        "smile-south",
    ]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def plans(deleting: int, total: int):
    out = []
    for i in range(total):
        slug = f"ws-{i}"
        keep = [] if i < deleting else [{"name": "x"}]
        d = desired({"workspace": {"slug": slug}, "call_tags": keep})
        out.append(make_plan(d, live({"call_tags": [{"name": "x"}]}, slug=slug)))
    return out


def test_too_many_workspaces_deleting_is_refused():
    assert fleet_unsafe(plans(1, 4), 0.25) == []
    assert fleet_unsafe(plans(2, 4), 0.25) == [
        "2 of 4 workspaces would delete items (more than 25%: ws-0, ws-1); "
        "pass --allow-mass-changes if intended"
    ]
    assert fleet_unsafe(plans(3, 3), 0.25) == []  # fewer than 4 targets: per-workspace checks only
