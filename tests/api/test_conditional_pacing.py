"""Conditional reads and the run's request budget, against a rate-limited sandbox over real
HTTP: a warm run (every read answered ``304``) meets no ``429`` and is not paced, even when it
starts at an empty bucket (a cold run just before spent it); a run whose cached copies are all
stale (every conditional read answered in full) is paced like a cold one and meets no ``429``
either. The sandbox's access log counts the answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wscfg.api.client import ApiClient
from wscfg.sandbox.testing import SandboxServer, running_server, unique


def _statuses(lines: list[str], since: int, count: int) -> list[str]:
    """The statuses of the GETs logged after line ``since``, once ``count`` lines are there (a
    line is written just after its answer is sent: waited for, up to 30 s)."""
    deadline = time.monotonic() + 30
    while len(lines) < since + count and time.monotonic() < deadline:
        time.sleep(0.01)
    return [line.split()[2] for line in lines[since:] if line.startswith("GET ")]


@pytest.fixture
def slow(db_url: str | None) -> Iterator[tuple[SandboxServer, list[str]]]:
    """A sandbox whose bucket of 2 refills one token every 5 s."""
    lines: list[str] = []
    with running_server(db_url, rate_limit=0.2, rate_burst=2, access_log=lines.append) as server:
        yield server, lines


def test_a_warm_run_at_an_empty_bucket_is_answered_304_and_not_paced(
    slow: tuple[SandboxServer, list[str]], tmp_path: Path
) -> None:
    server, lines = slow
    agency = server.new_agency()
    slugs = [unique("warm") for _ in range(2)]
    for slug in slugs:
        server.create_workspace(slug, agency=agency.name)

    async def cold() -> None:  # spends the bucket: 2 full reads of 2 tokens
        async with ApiClient(server.url, agency.key, cache_dir=tmp_path) as client:
            for slug in slugs:
                await client.workspace(slug).snapshot()

    async def warm() -> tuple[float, list[dict[str, object]]]:
        async with ApiClient(server.url, agency.key, cache_dir=tmp_path) as client:
            for _ in range(5):
                for slug in slugs:
                    await client.workspace(slug).snapshot()
            waited = client.pacer.waited
            together = await asyncio.gather(*(client.workspace(s).snapshot() for s in slugs * 5))
            assert client.cache is not None and client.cache.hits == 20
            return waited, together

    asyncio.run(cold())
    assert _statuses(lines, 0, 2) == ["200", "200"]
    mark = 2
    waited, together = asyncio.run(warm())
    assert _statuses(lines, mark, 20) == ["304"] * 20  # no 429 at the empty bucket
    assert waited < 1.0  # not paced: a token takes 5 s to refill
    assert {s["workspace"]["slug"] for s in together} == set(slugs)  # type: ignore[index]


def test_stale_conditional_reads_are_paced_and_meet_no_429(
    db_url: str | None, tmp_path: Path
) -> None:
    """Every cached copy stale: eight conditional reads at once are all answered in full; the
    client counts those still unanswered as spent, so the server's debt stays within what it
    lends and none is refused."""
    lines: list[str] = []
    with running_server(db_url, rate_limit=4, rate_burst=2, access_log=lines.append) as server:
        agency = server.new_agency()
        slugs = [unique("stale") for _ in range(8)]
        keys = {s: server.create_workspace(s, agency=agency.name) for s in slugs}

        async def read_all() -> None:
            async with ApiClient(server.url, agency.key, cache_dir=tmp_path) as client:
                await asyncio.gather(*(client.workspace(s).snapshot() for s in slugs))

        asyncio.run(read_all())  # fills the cache
        assert _statuses(lines, 0, 8) == ["200"] * 8
        for slug in slugs:  # someone else renames each workspace (its own key, own bucket)
            got = httpx.patch(
                f"{server.url}/v1/workspaces/{slug}",
                json={"name": f"renamed {slug}"},
                headers={"Authorization": f"Bearer {keys[slug]}"},
                timeout=30,
            )
            assert got.status_code == 200
        _statuses(lines, 0, 16)  # the 8 reads and the 8 renames are logged
        mark = len(lines)
        asyncio.run(read_all())
        got = _statuses(lines, mark, 8)
    assert got.count("200") == 8 and "429" not in got, got
