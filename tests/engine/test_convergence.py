"""DESIGN §6.1 — convergence: for any valid desired state D and any live state L,
apply(plan(D, L)) then plan(D) is empty. Property-tested against the real sandbox over HTTP."""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.api.client import ApiClient
from wscfg.engine.apply import apply_plan, secrets_from_desired
from wscfg.engine.plan import make_plan
from wscfg.fleet import read_live
from wscfg.sandbox.testing import unique

from .helpers import desired
from .strategies import workspace_doc

EXAMPLES = int(os.environ.get("WSCFG_CONVERGENCE_EXAMPLES", "200"))


async def converge(client: ApiClient, doc: dict) -> tuple:
    slug = doc["workspace"]["slug"]
    d = desired(doc)
    plan = make_plan(d, await read_live(client, slug))
    assert plan.conflicts == [], plan.conflicts
    assert plan._owner_reasons() == []
    report = await apply_plan(plan, client.workspace(slug), secrets_from_desired(d))
    again = make_plan(d, await read_live(client, slug))
    return report, again


@pytest.mark.timeout(1800)  # sized to the work: 200 applies over HTTP on a busy 2-core box
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_apply_then_plan_is_empty(sandbox, data):
    slug = unique("conv")
    key = sandbox.create_workspace(slug)
    live_doc = data.draw(workspace_doc(slug), label="live")
    want_doc = data.draw(workspace_doc(slug), label="desired")

    async def run():
        async with ApiClient(sandbox.url, key) as client:
            setup, _ = await converge(client, live_doc)  # L, made like anyone else would
            assert setup.complete, [(o.change.address, o.detail) for o in setup.outcomes]
            return await converge(client, want_doc)

    report, again = asyncio.run(run())
    assert report.complete, [(o.change.address, o.detail) for o in report.outcomes]
    assert again.empty, [c.to_dict() for c in again.changes]
