"""Memory against a hostile server (issue 21 item 11): the bound of docs/reliability.md
("Memory"), measured with tracemalloc while the sandbox's own `huge` fault streams answers that
never end (`[{},{},…`, chunked, no Content-Length)."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

import pytest

from wscfg.api.client import ApiClient
from wscfg.api.exchange import READ_ALLOWANCE, MiB
from wscfg.api.retry import RetryPolicy
from wscfg.api.wire import MAX_JSON_VALUES
from wscfg.errors import ProtocolError
from wscfg.sandbox.testing import running_server

PARALLEL = 8


def _peak_of(coro_factory: Any) -> tuple[list[Any], int]:
    """Run the coroutine; return its results and the peak of traced memory meanwhile."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        results = asyncio.run(coro_factory())
        return results, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _snapshots(url: str, key: str, slug: str, cap: int) -> list[Any]:
    async with ApiClient(
        url,
        key,
        max_concurrency=PARALLEL,
        max_snapshot_bytes=cap,
        retry=RetryPolicy(max_attempts=1),
    ) as api:
        ws = api.workspace(slug)
        return await asyncio.gather(
            *(ws.snapshot() for _ in range(PARALLEL)), return_exceptions=True
        )


@pytest.mark.timeout(300)
def test_parallel_huge_answers_stay_inside_the_run_bound() -> None:
    """Eight reads at once of answers 4x the cap: each stops at the cap, and the bytes held
    together stay under PARALLEL x 1 MiB + 2 x cap (without the large-read slot, each read
    holds up to the cap at the same time: 8 x 8 MiB)."""
    cap = 8 * MiB
    with running_server(faults="huge=1,huge-bytes=33554432") as server:
        ws = server.new_workspace()
        results, peak = _peak_of(lambda: _snapshots(server.url, ws.key, ws.slug, cap))
    assert [type(r) for r in results] == [ProtocolError] * PARALLEL
    where = f"(GET {server.url}/v1/workspaces/{ws.slug}/settings)"
    assert {str(r) for r in results} == {
        f"the answer is too large (more than {cap} bytes); reading stopped {where}"
    }
    bound = PARALLEL * READ_ALLOWANCE + 2 * cap
    assert peak < bound + 4 * MiB, f"peak {peak / MiB:.1f} MiB, bound {bound / MiB:.0f} MiB"


@pytest.mark.timeout(300)
def test_an_answer_under_the_cap_that_would_explode_when_parsed_is_not_parsed() -> None:
    """16 MiB of `{},` is under the cap but 5.6 million dicts (~400 MB) once parsed: refused
    by the value count before json.loads; memory stays near twice the body."""
    size = 16 * MiB
    with running_server(faults=f"huge=1,huge-bytes={size}") as server:
        ws = server.new_workspace()
        results, peak = _peak_of(lambda: _snapshots(server.url, ws.key, ws.slug, 32 * MiB))
    assert [type(r) for r in results] == [ProtocolError] * PARALLEL
    where = f"(GET {server.url}/v1/workspaces/{ws.slug}/settings)"
    assert {str(r) for r in results} == {
        f"the answer holds more than {MAX_JSON_VALUES:,} JSON values; it was not parsed (a "
        f"bound on the memory a hostile server can make wscfg use) {where}"
    }
    # all eight bodies are complete at once here (each is returned, then refused): 8 x 16 MiB
    # at most, and far from the parse
    assert peak < PARALLEL * size + 2 * size + 4 * MiB, f"peak {peak / MiB:.1f} MiB"
