"""Merging the parts of a sharded run (pure): for any fleet and any shard count, the parts of
the split merge back into the whole, in its order; a part missing, given twice, or from another
run is an error naming it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.engine.shards import (
    Part,
    PartError,
    check_parts,
    in_shard,
    merge_plan_documents,
    run_identity,
)

slugs = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
    min_size=0,
    max_size=40,
    unique=True,
)


def split(fleet: list[str], failed: set[str], n: int, config: str = "hmac-sha256:x") -> list[Part]:
    """The part files a sharded plan of ``fleet`` makes (``failed`` could not be read)."""
    parts = []
    for i in range(1, n + 1):
        mine = [s for s in fleet if in_shard(s, i, n)]
        order = {s: fleet.index(s) for s in mine}
        doc = {
            "format": "wscfg-plan",
            "version": 1,
            "server": "https://api.example",
            "allowances": {"mass_changes": False},
            "run": run_identity("plan", (i, n), len(fleet), config, [], order),
            "refusals": [],
            "targets": [{"workspace": s, "changes": []} for s in mine if s not in failed],
            "errors": [{"target": s, "message": "404"} for s in mine if s in failed],
        }
        parts.append(Part(f"part-{i}.json", "plan", doc))
    return parts


@settings(max_examples=60, deadline=None)
@given(fleet=slugs, n=st.integers(1, 7), seed=st.integers(0, 2**16), data=st.data())
def test_the_parts_of_any_split_merge_into_the_whole(fleet, n, seed, data):
    failed = set(data.draw(st.lists(st.sampled_from(fleet), unique=True))) if fleet else set()
    parts = split(fleet, failed, n)
    shuffled = parts[:]
    random.Random(seed).shuffle(shuffled)
    merged = merge_plan_documents(check_parts(shuffled))
    assert [t["workspace"] for t in merged["targets"]] == [s for s in fleet if s not in failed]
    assert [e["target"] for e in merged["errors"]] == [s for s in fleet if s in failed]
    assert (merged["run"]["shard"], merged["run"]["shards"]) == (1, 1)
    # the merged document is itself a whole run: it merges with nothing missing
    assert (
        merge_plan_documents(check_parts([Part("all.json", "plan", merged)]))["targets"]
        == (merged["targets"])
    )


@settings(max_examples=60, deadline=None)
@given(fleet=slugs, n=st.integers(2, 7), data=st.data())
def test_a_missing_or_repeated_part_is_named(fleet, n, data):
    parts = split(fleet, set(), n)
    gone = data.draw(st.integers(0, n - 1))
    rest = parts[:gone] + parts[gone + 1 :]
    with pytest.raises(PartError) as missing:
        check_parts(rest)
    assert missing.value.message.startswith(f"missing shard {gone + 1}/{n}: no part file given")
    again = Part("copy.json", "plan", parts[gone].data)
    with pytest.raises(PartError) as twice:
        check_parts([*parts, again])
    assert twice.value.message == (
        f"copy.json and part-{gone + 1}.json are both shard {gone + 1}/{n}: give each part once"
    )


@settings(max_examples=40, deadline=None)
@given(fleet=slugs, n=st.integers(2, 5), data=st.data())
def test_a_part_of_another_config_or_shard_count_is_named(fleet, n, data):
    parts = split(fleet, set(), n)
    which = data.draw(st.integers(1, n - 1))
    other = split(fleet, set(), n, config="hmac-sha256:y")[which]
    mixed = [*parts[:which], Part("other.json", "plan", other.data), *parts[which + 1 :]]
    with pytest.raises(PartError) as config:
        check_parts(mixed)
    assert config.value.message == (
        "other.json is not from the same run as part-1.json: the config (or the ${env:…} values "
        "it uses) differs"
    )
    recount = split(fleet, set(), n + 1)[which]
    mixed = [*parts[:which], Part("more.json", "plan", recount.data), *parts[which + 1 :]]
    with pytest.raises(PartError) as count:
        check_parts(mixed)
    assert count.value.message == (
        f"more.json is shard {which + 1}/{n + 1} but part-1.json is shard 1/{n}: the shard "
        "counts disagree"
    )
