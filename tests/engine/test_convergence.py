"""DESIGN §6.1 — convergence: for any valid desired state D and any live state L,
apply(plan(D, L)) then plan(D) is empty. Property-tested against the real sandbox over HTTP,
and again with the embedded sandbox's in-process read path (wscfg.sandbox.local) reading live
state while writes go over HTTP: at every read, its snapshot is the API's, byte for byte."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.api.client import ApiClient
from wscfg.embedded import EmbeddedClient
from wscfg.engine.apikeys import secret_keys
from wscfg.engine.apply import apply_plan, secrets_from_desired
from wscfg.engine.plan import make_plan
from wscfg.fleet import read_live
from wscfg.sandbox.testing import unique

from .helpers import desired
from .strategies import INTEGRATIONS, workspace_doc

EXAMPLES = int(os.environ.get("WSCFG_CONVERGENCE_EXAMPLES", "200"))


async def converge(client, doc: dict, check=None) -> tuple:
    slug = doc["workspace"]["slug"]
    d = desired(doc)
    if check is not None:
        await check(slug)
    plan = make_plan(d, await read_live(client, slug))
    assert plan.in_use == [], plan.in_use
    assert plan.failed_checks == [], plan.failed_checks
    assert plan._owner_reasons() == []
    issued: dict[str, str] = {}  # new API key secrets: one per key created or re-issued
    report = await apply_plan(
        plan, client.workspace(slug), secrets_from_desired(d), on_secret=issued.__setitem__
    )
    assert sorted(issued) == sorted(secret_keys(plan.changes))
    if check is not None:
        await check(slug)
    again = make_plan(d, await read_live(client, slug))
    return report, again


@pytest.mark.timeout(1800)  # sized to the work: 200 applies over HTTP on a busy 2-core box
@pytest.mark.parametrize("path", ["http", "in-process reads"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_apply_then_plan_is_empty(sandbox, path, data):
    if path != "http" and not sandbox.db_url.startswith("sqlite:///"):
        pytest.skip("the in-process path reads the embedded sandbox's SQLite file")
    slug = unique("conv")
    key = sandbox.create_workspace(slug)
    for name in INTEGRATIONS:  # connected in the UI: what `integrations.required` may name
        sandbox.set_integration(slug, name)
    live_doc = data.draw(workspace_doc(slug), label="live")
    want_doc = data.draw(workspace_doc(slug), label="desired")

    async def run():
        async with ApiClient(sandbox.url, key) as api:
            client, check = api, None
            if path != "http":
                db = Path(sandbox.db_url.removeprefix("sqlite:///"))
                client = EmbeddedClient(db, sandbox.db_url, key, remote=api)
                headers = {"Authorization": f"Bearer {key}"}
                http = httpx.AsyncClient(base_url=sandbox.url, headers=headers, timeout=30)

                async def check(ws: str) -> None:
                    served = await http.get(f"/v1/workspaces/{ws}/settings")
                    assert client.local.snapshot_text(ws) == served.text

            try:
                setup, _ = await converge(client, live_doc, check)  # L, made like anyone would
                assert setup.complete, [(o.change.address, o.detail) for o in setup.outcomes]
                result = await converge(client, want_doc, check)
            finally:
                if path != "http":
                    await http.aclose()
            if path != "http":
                assert client.local_reads == 4  # every read_live was answered in-process
            return result

    report, again = asyncio.run(run())
    assert report.complete, [(o.change.address, o.detail) for o in report.outcomes]
    assert again.empty, [c.to_dict() for c in again.changes]
