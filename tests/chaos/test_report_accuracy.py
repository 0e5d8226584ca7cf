"""An accurate report when a write's fate is unknown, and the fault controls the suite uses.

The chaos runs found that a write answered with a 5xx on its last attempt was reported as
plainly failed (and `wscfg apply` said "nothing was written") although the server had
committed it (500 after the write, or an earlier attempt lost to a reset). A 5xx answer to a
write does not say whether it happened; these tests pin the fix: such a failure carries
``maybe_applied`` and says "the change may or may not have been made", and apply exits 3
("stopped part-way"), never 1 ("nothing was written"), when a change may have landed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from wscfg.api.client import ApiClient
from wscfg.api.retry import RetryPolicy
from wscfg.cli import cli
from wscfg.errors import HTTPStatusError, SetupError
from wscfg.model import BY_NAME
from wscfg.sandbox.faults import FaultPlan, parse_faults
from wscfg.sandbox.testing import SandboxServer, running_server

TAGS = BY_NAME["call_tags"]


async def _quick(_seconds: float) -> None:
    return None


QUICK = RetryPolicy(max_attempts=3, backoff_base=0.001, sleep=_quick)


@pytest.fixture(scope="module")
def writes_fail(db_url: str | None) -> Iterator[SandboxServer]:
    """Every write commits, then is answered 500; reads are never faulted."""
    with running_server(db_url, faults="500after=1,methods=POST+PATCH+DELETE") as server:
        yield server


def test_fault_spec_controls() -> None:
    plan = parse_faults("500after=0.5,retry-after=0,methods=post+patch,seed=3")
    assert plan == FaultPlan((("500after", 0.5),), None, 3, 0, frozenset({"POST", "PATCH"}))
    assert str(plan) == "500after=0.5,retry-after=0,methods=PATCH+POST,seed=3"
    for bad, message in [("methods=FETCH", "methods"), ("retry-after=-1", "retry-after")]:
        with pytest.raises(SetupError, match=message):
            parse_faults(bad)


def test_faults_switch_off_reseed_and_count(db_url: str | None) -> None:
    with running_server(db_url, faults="500=0.5,retry-after=0,seed=1") as server:
        ws = server.new_workspace()
        faults = server.faults
        with httpx.Client(base_url=ws.url, headers=ws.headers) as c:

            def statuses() -> list[int]:
                return [c.get("/call-rules").status_code for _ in range(12)]

            first = statuses()
            assert set(first) == {200, 500}
            assert faults.counts() == {"500": first.count(500), "500after": 0, "429": 0,
                                       "reset": 0, "drip": 0, "huge": 0,
                                       "requests": 12}  # fmt: skip
            faults.configure(enabled=False)
            assert statuses() == [200] * 12  # off: nothing injected, nothing drawn
            faults.configure(seed=1)
            assert statuses() == first  # re-seeded: the same faults again
            faults.configure("429=1,retry-after=0")
            r = c.get("/call-rules")
            assert (r.status_code, r.headers["retry-after"]) == (429, "0")


def test_a_write_answered_500_after_it_committed_may_have_been_made(
    writes_fail: SandboxServer,
) -> None:
    ws = writes_fail.new_workspace()

    async def create() -> HTTPStatusError:
        async with ApiClient(writes_fail.url, ws.key, retry=QUICK) as client:
            with pytest.raises(HTTPStatusError) as info:
                await client.workspace(ws.slug).create(TAGS, {"name": "lead"})
            return info.value

    err = asyncio.run(create())
    assert err.status == 500 and err.maybe_applied is True
    assert err.message.endswith(
        "(gave up after 3 attempts; the change may or may not have been made) "
        f"(POST {writes_fail.url}/v1/workspaces/{ws.slug}/call-tags)"
    )
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:  # it did land, once
        assert [t["name"] for t in c.get("/call-tags").json()["items"]] == ["lead"]


def test_a_read_answered_500_is_not_a_maybe(writes_fail: SandboxServer, db_url: str | None) -> None:
    with running_server(db_url, faults="500=1") as server:
        ws = server.new_workspace()

        async def read() -> HTTPStatusError:
            async with ApiClient(server.url, ws.key, retry=QUICK) as client:
                with pytest.raises(HTTPStatusError) as info:
                    await client.workspace(ws.slug).snapshot()
                return info.value

        err = asyncio.run(read())
    assert err.status == 500 and err.maybe_applied is False
    assert "may or may not" not in err.message


def test_apply_says_part_way_when_a_failed_write_may_have_landed(
    writes_fail: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = writes_fail.new_workspace()
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\ncall_tags: [{{name: lead}}]\n")
    monkeypatch.setenv("WSCFG_SERVER", writes_fail.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.setattr("wscfg.api.client.RetryPolicy", lambda: QUICK)  # no real back-off
    result = CliRunner().invoke(cli, ["apply", "--auto-approve", str(cfg)])
    assert result.exit_code == 3, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("✗")]
    assert line.startswith(f"✗ {ws.slug}: + call tag lead: 500 Internal Server Error")
    assert "the change may or may not have been made" in line
    assert result.stderr.endswith(
        "Error: apply stopped part-way; run `wscfg plan` to see what is left\n"
    )
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        assert [t["name"] for t in c.get("/call-tags").json()["items"]] == ["lead"]
