"""The async twins run on the caller's event loop: cancelling an awaited apply (or its
``asyncio.wait_for`` running out) stops its writes, and the session's deadline (``timeout=``)
stops them too, sync and async. Against a real sandbox over HTTP; the writes are read back
from the sandbox's store."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import wscfg
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace

TAGS = 200  # changes to apply
RATE = 20  # requests per second at most: the apply takes TAGS / RATE = 10 s or more
SETTLE = 3.0  # seconds for a request sent before the cancellation to land (a busy machine)
WATCH = 3.0  # seconds in which no further write may land


def tags_written(sandbox: SandboxServer, slug: str) -> int:
    return sum(1 for kind, _ in sandbox.item_rows(slug) if kind == "call_tags")


def many_tags(tmp_path, slug: str) -> list:
    tags = "".join(f"  - {{name: tag-{i:03d}}}\n" for i in range(TAGS))
    path = tmp_path / "ws.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: {slug}}}\ncall_tags:\n{tags}")
    return wscfg.load(path)


def connect_args(sandbox: SandboxServer, ws: SandboxWorkspace, tmp_path) -> dict:
    return {"server": sandbox.url, "token": ws.key, "rate_limit": RATE, "root": tmp_path}


async def no_write_after(sandbox: SandboxServer, slug: str) -> int:
    """The writes that landed by SETTLE seconds after the cancellation, checked to be all
    of them WATCH seconds later."""
    await asyncio.sleep(SETTLE)
    stopped_at = tags_written(sandbox, slug)
    await asyncio.sleep(WATCH)
    assert tags_written(sandbox, slug) == stopped_at, "apply went on writing after it was cancelled"
    assert stopped_at < TAGS
    return stopped_at


@pytest.mark.anyio
async def test_cancelling_an_async_apply_part_way_stops_its_writes(sandbox, tmp_path):
    target = sandbox.new_workspace("cancel")
    configs = many_tags(tmp_path, target.slug)
    async with wscfg.connect_async(**connect_args(sandbox, target, tmp_path)) as ws:
        plans = await ws.plan(configs)
        assert plans.changes == TAGS
        seen: list[str] = []
        part_way = asyncio.Event()

        def outcome(slug: str, o: Any) -> None:
            seen.append(o.status)
            if len(seen) == 3:
                part_way.set()

        task = asyncio.create_task(ws.apply(plans, on_outcome=outcome))
        await asyncio.wait_for(part_way.wait(), 120)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        outcomes_at_cancel = len(seen)
    stopped_at = await no_write_after(sandbox, target.slug)
    assert stopped_at >= 3
    assert len(seen) == outcomes_at_cancel  # and no outcome is reported after it either


@pytest.mark.anyio
async def test_an_async_apply_that_wait_for_gives_up_on_stops_its_writes(sandbox, tmp_path):
    target = sandbox.new_workspace("cancel")
    configs = many_tags(tmp_path, target.slug)
    async with wscfg.connect_async(**connect_args(sandbox, target, tmp_path)) as ws:
        plans = await ws.plan(configs)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.apply(plans), 2)
    await no_write_after(sandbox, target.slug)


@pytest.mark.anyio
async def test_the_async_session_deadline_stops_apply_part_way(sandbox, tmp_path):
    target = sandbox.new_workspace("cancel")
    configs = many_tags(tmp_path, target.slug)
    async with wscfg.connect_async(**connect_args(sandbox, target, tmp_path)) as ws:
        plans = await ws.plan(configs)
    async with wscfg.connect_async(**connect_args(sandbox, target, tmp_path), timeout=3) as ws:
        with pytest.raises(wscfg.DeadlineError) as raised:
            await ws.apply(plans)
    assert raised.value.partial and raised.value.exit_code == 3
    await no_write_after(sandbox, target.slug)


def test_the_sync_session_deadline_stops_apply_part_way(sandbox, tmp_path):
    target = sandbox.new_workspace("cancel")
    configs = many_tags(tmp_path, target.slug)
    plans = wscfg.connect(**connect_args(sandbox, target, tmp_path)).plan(configs)
    ws = wscfg.connect(**connect_args(sandbox, target, tmp_path), timeout=3)
    with pytest.raises(wscfg.DeadlineError) as raised:
        ws.apply(plans)
    assert raised.value.partial and raised.value.exit_code == 3
    time.sleep(SETTLE)
    stopped_at = tags_written(sandbox, target.slug)
    time.sleep(WATCH)
    assert tags_written(sandbox, target.slug) == stopped_at < TAGS
