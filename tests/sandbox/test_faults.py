"""Fault injection: deterministic from a seed; 500after and reset happen after the write."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from wscfg.errors import SetupError
from wscfg.sandbox.faults import FaultPlan, parse_faults
from wscfg.sandbox.testing import running_server

from .conftest import bearer


def test_parse_faults() -> None:
    plan = parse_faults("500=0.1, 429=0.05,reset=0.05,latency=50-300ms,seed=7")
    assert plan == FaultPlan((("500", 0.1), ("429", 0.05), ("reset", 0.05)), (0.05, 0.3), 7)
    assert str(plan) == "500=0.1,429=0.05,reset=0.05,latency=50-300ms,seed=7"
    for bad, message in [
        ("teapot=0.1", "unknown fault"),
        ("500=2", "between 0 and 1"),
        ("500=0.6,429=0.6", "more than 1"),
        ("latency=fast", "latency"),
        ("500", "NAME=VALUE"),
    ]:
        with pytest.raises(SetupError, match=message):
            parse_faults(bad)


def test_parse_the_huge_fault() -> None:
    plan = parse_faults("huge=1,huge-bytes=4096")
    assert plan.rates == (("huge", 1.0),) and plan.huge_bytes == 4096
    assert str(plan) == "huge=1,huge-bytes=4096,seed=0"
    assert parse_faults("huge=0.5").huge_bytes == 1 << 30
    for bad in ("huge-bytes=0", "huge-bytes=-5", "huge-bytes=1e9", "huge-bytes=big"):
        with pytest.raises(SetupError) as exc:
            parse_faults(bad)
        value = bad.split("=", 1)[1]
        assert str(exc.value) == f"huge-bytes {value!r}: write a whole number of bytes"


def test_a_huge_answer_is_json_that_does_not_end_in_time() -> None:
    with running_server(faults="huge=1,huge-bytes=200000") as server:
        ws = server.new_workspace()
        r = httpx.get(f"{ws.url}/settings", headers=bearer(ws.key))
    assert r.status_code == 200
    assert "content-length" not in r.headers
    assert r.headers["content-type"] == "application/json"
    assert len(r.content) == 200_000
    assert r.content.startswith(b"[{},{},") and r.content.endswith((b"{},", b"{}", b"{", b","))


def statuses(seed: int, db_url: str | None) -> list[object]:
    out: list[object] = []
    with running_server(db_url, faults=f"500=0.2,429=0.2,reset=0.2,seed={seed}") as server:
        ws = server.new_workspace()
        with httpx.Client(base_url=ws.url, headers=bearer(ws.key)) as c:
            for _ in range(25):
                try:
                    out.append(c.get("/call-rules").status_code)
                except httpx.TransportError as exc:
                    out.append(type(exc).__name__)
        assert httpx.get(server.url + "/openapi.json").status_code == 200  # never faulted
    return out


def test_faults_replay_from_the_seed(db_url: str | None) -> None:
    first, again, other = statuses(11, db_url), statuses(11, db_url), statuses(12, db_url)
    assert first == again != other
    assert {200, 429, 500} <= set(first)
    assert any(isinstance(s, str) for s in first)  # some connections were dropped


def test_writes_happen_before_500after_and_reset(tmp_path: Path, db_url: str | None) -> None:
    for fault in ("500after", "reset"):
        db = db_url or str(tmp_path / f"{fault}.db")
        with running_server(db, faults=f"{fault}=1") as server:
            ws = server.new_workspace()
            with httpx.Client(base_url=ws.url, headers=bearer(ws.key)) as c:
                try:
                    status: object = c.post("/call-tags", json={"name": "lead"}).status_code
                except httpx.TransportError:
                    status = "dropped"
            assert status == (500 if fault == "500after" else "dropped")
        # the write committed although the client never heard of it
        with running_server(db) as clean, httpx.Client(base_url=clean.url) as c:
            r = c.get(f"/v1/workspaces/{ws.slug}/call-tags", headers=bearer(ws.key))
            assert [t["name"] for t in r.json()["items"]] == ["lead"]
