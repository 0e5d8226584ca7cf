"""Plans applied to the real sandbox over HTTP, through the real client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from wscfg.api.client import ApiClient
from wscfg.engine.apply import apply_plan, secrets_from_desired
from wscfg.engine.plan import make_plan
from wscfg.fleet import read_live

from .helpers import desired

FULL = {
    "workspace": {
        "name": "Acme Dental",
        "timezone": "America/Chicago",
        "business_profile": {"company": "Acme", "services": ["cleanings"]},
    },
    "roles": [{"name": "front-desk", "permissions": ["call_log:read", "contacts:write"]}],
    "call_tags": [{"name": "new-patient", "color": "#1f8a70"}, {"name": "spam"}],
    "members": [
        {"email": "OWNER@{slug}.example", "role": "owner"},
        {
            "email": "desk@acme.example",
            "role": "front-desk",
            "notifications": {"billing": {"email": False}},
        },
    ],
    "call_rules": {
        "auto_unqualify": True,
        "rule": {"all": [{"duration": {"at_least": 60}}, {"not_tag": "spam"}]},
    },
    "blocked_callers": ["+1 555 010 0100", {"number": "+15550100199", "note": "robocaller"}],
    "webhooks": [
        {
            "name": "crm",
            "url": "https://hooks.example.com/acme",
            "events": ["call.completed"],
            "secret": "s3cr3t-value",
            "filters": {"tags": ["new-patient"]},
        }
    ],
    "notifications": {"system": {"email": False}},
}


def doc_for(slug: str, doc: dict[str, Any] = FULL) -> dict[str, Any]:
    out = {k: v for k, v in doc.items()}
    out["workspace"] = {"slug": slug, **doc.get("workspace", {})}
    if "members" in doc:
        out["members"] = [
            {**m, "email": m["email"].replace("{slug}", slug)} for m in doc["members"]
        ]
    return out


async def plan_apply(sandbox, ws, doc):
    async with ApiClient(sandbox.url, ws.key) as client:
        d = desired(doc)
        plan = make_plan(d, await read_live(client, ws.slug))
        plan.raise_if_unsafe()
        report = await apply_plan(plan, client.workspace(ws.slug), secrets_from_desired(d))
        again = make_plan(d, await read_live(client, ws.slug))
        return plan, report, again, client.stats


def test_every_kind_applies_and_converges(sandbox, workspace):
    plan, report, again, _ = asyncio.run(plan_apply(sandbox, workspace, doc_for(workspace.slug)))
    assert report.complete, [(o.change.address, o.detail) for o in report.outcomes]
    assert plan.counts() == {"create": 7, "update": 3, "resend": 0, "delete": 0}
    assert again.empty, [c.to_dict() for c in again.changes]


def test_plan_reads_a_workspace_in_a_constant_number_of_requests(sandbox, new_workspace):
    counts = []
    for n in (5, 500):
        ws = new_workspace()
        doc = doc_for(
            ws.slug,
            {
                "blocked_callers": [f"+1555010{i:04d}" for i in range(n)],
                "call_tags": [{"name": f"t{i}"} for i in range(n)],
            },
        )
        asyncio.run(plan_apply(sandbox, ws, doc))

        async def read_only(ws=ws):
            async with ApiClient(sandbox.url, ws.key) as client:
                await read_live(client, ws.slug)
                return client.stats.total_requests

        counts.append(asyncio.run(read_only()))
    assert counts == [1, 1]


def test_apply_of_10000_blocked_callers_takes_few_requests(sandbox, workspace):
    doc = doc_for(workspace.slug, {"blocked_callers": [f"+1555{i:07d}" for i in range(10_000)]})
    _, report, again, stats = asyncio.run(plan_apply(sandbox, workspace, doc))
    assert report.complete and again.empty
    # plan read + batch writes + the re-read: far below one request per number
    assert stats.total_requests <= 10


def test_a_concurrent_edit_fails_one_write_and_the_next_plan_finishes(sandbox, workspace):
    slug = workspace.slug
    asyncio.run(
        plan_apply(
            sandbox,
            workspace,
            doc_for(slug, {"call_tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
        )
    )
    target = doc_for(slug, {"call_tags": [{"name": n, "color": "#000000"} for n in "abc"]})

    async def run():
        async with ApiClient(sandbox.url, workspace.key) as client:
            d = desired(target)
            plan = make_plan(d, await read_live(client, slug))

            def meddle(outcome):
                if outcome.change.key == "a":  # someone edits c in the UI meanwhile
                    httpx.patch(
                        f"{workspace.url}/call-tags/c",
                        json={"description": "UI edit"},
                        headers=workspace.headers,
                    ).raise_for_status()

            report = await apply_plan(
                plan, client.workspace(slug), secrets_from_desired(d), on_outcome=meddle
            )
            after = await read_live(client, slug)
            return report, make_plan(d, after), after

    report, again, after = asyncio.run(run())
    status = {o.change.key: (o.status, o.detail) for o in report.outcomes}
    assert status["a"] == ("done", "") and status["b"] == ("done", "")
    assert status["c"][0] == "failed" and "412" in status["c"][1]
    assert after.get("call_tags", "c")["description"] == "UI edit"  # not overwritten
    assert [(c.action, c.key) for c in again.changes] == [("update", "c")]
