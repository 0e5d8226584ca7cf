"""Fleet selection (pure functions); fleet-wide safety is tested in tests/engine/test_safety.py."""

from __future__ import annotations

import pytest

from wscfg.fleet import parse_shard, select


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
