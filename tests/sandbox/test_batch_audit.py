"""Blocked-caller batches, the audit log, and agencies creating sub-accounts."""

from __future__ import annotations

import httpx

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, unique

from .conftest import bearer, problem


def test_batch_adds_updates_and_removes(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    url = f"/v1/workspaces/{workspace.slug}/blocked-callers:batch"
    first = api.post(
        url, json={"add": ["+15550100100", {"number": "+1 555 010 0101", "note": "spam"}]}
    )
    assert first.json() == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0}
    second = api.post(
        url,
        json={
            "add": [
                {"number": "+15550100101", "note": "robocaller"},
                "+15550100100",
                "+15550100102",
            ],
            "remove": ["+15550100199"],
        },
    )
    assert second.json() == {"added": 1, "updated": 1, "unchanged": 1, "removed": 0}
    third = api.post(url, json={"remove": ["+1 555 010 0100", "+15550100102", "+15550100102"]})
    assert third.json() == {"added": 0, "updated": 0, "unchanged": 0, "removed": 2}
    items = api.get(f"/v1/workspaces/{workspace.slug}/blocked-callers").json()["items"]
    assert [(i["number"], i.get("note")) for i in items] == [("+15550100101", "robocaller")]


def test_batch_refusals(
    sandbox: SandboxServer, api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    url = f"/v1/workspaces/{workspace.slug}/blocked-callers:batch"
    doc = problem(api.post(url, json={"add": ["+15550100100", "+1 555 010 0100"]}), 422)
    assert doc["errors"] == [
        {"loc": ["body", "add", 1, "number"], "msg": "+15550100100 is listed twice"}
    ]
    doc = problem(api.post(url, json={"add": ["+15550100100"], "remove": ["+15550100100"]}), 422)
    assert doc["errors"][0]["loc"] == ["body", "remove", 0]
    doc = problem(api.post(url, json={"add": ["not a number"]}), 422)
    assert doc["errors"][0]["loc"][:3] == ["body", "add", 0]
    too_many = [f"+1555{n:07d}" for n in range(sandbox.settings.max_batch + 1)]
    doc = problem(api.post(url, json={"remove": too_many}), 422)
    # refused by the body's bounds, before the numbers are parsed (sandbox/limits.py)
    assert doc["errors"] == [{"loc": ["body", "remove"], "msg": "at most 10000 entries; got 10001"}]
    assert api.get(f"/v1/workspaces/{workspace.slug}/blocked-callers").json()["items"] == []


def test_batch_of_ten_thousand(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    numbers = [f"+1555{n:07d}" for n in range(10_000)]
    url = f"/v1/workspaces/{workspace.slug}/blocked-callers:batch"
    r = api.post(url, json={"add": numbers}, timeout=60)
    assert r.json() == {"added": 10_000, "updated": 0, "unchanged": 0, "removed": 0}
    snap = api.get(f"/v1/workspaces/{workspace.slug}/settings").json()
    assert [b["number"] for b in snap["blocked_callers"]] == numbers
    r = api.post(url, json={"remove": numbers[:5000]}, timeout=60)
    assert r.json()["removed"] == 5000


def test_audit_log_records_every_write(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = f"/v1/workspaces/{workspace.slug}"
    created = api.post(
        f"{base}/call-tags", json={"name": "lead"}, headers={"X-Request-Id": "req-create"}
    )
    api.patch(
        f"{base}/call-tags/lead", json={"color": "#abcdef"}, headers={"X-Request-Id": "req-patch"}
    )
    api.delete(f"{base}/call-tags/lead", headers={"X-Request-Id": "req-delete"})
    api.patch(f"{base}/notifications", json={"billing": {"email": False}})
    problem(api.delete(f"{base}/call-tags/lead"), 404)  # refused writes are not audited
    key_id = api.get(f"{base}/api-keys").json()["items"][0]["id"]
    entries = api.get(f"{base}/audit").json()["items"]
    assert [(e["action"], e["kind"], e["key"]) for e in entries] == [
        ("update", "notifications", ""),
        ("delete", "call_tags", "lead"),
        ("update", "call_tags", "lead"),
        ("create", "call_tags", "lead"),
        ("create", "workspace", ""),
    ]
    delete, update, create = entries[1], entries[2], entries[3]
    # the server's own unique id, and the caller's id in a field of its own
    assert create["request_id"] == created.headers["x-request-id"] != "req-create"
    assert len(create["request_id"]) == 32
    assert create["client_request_id"] == "req-create" == created.headers["x-client-request-id"]
    assert (create["before"], create["after"]) == (None, {"name": "lead"})
    assert (update["before"], update["after"]) == (
        {"name": "lead"},
        {"name": "lead", "color": "#abcdef"},
    )
    assert (delete["client_request_id"], delete["after"]) == ("req-delete", None)
    assert len({e["request_id"] for e in entries}) == len(entries)
    assert entries[0]["client_request_id"] is None
    assert {e["actor"]["key_id"] for e in entries[:4]} == {key_id}
    assert {(e["actor"]["type"], e["via"]) for e in entries[:4]} == {("api_key", "api")}
    assert entries[4]["actor"] == {"type": "system", "name": "admin"}
    # newest first, paged by cursor
    page1 = api.get(f"{base}/audit", params={"limit": 2}).json()
    page2 = api.get(f"{base}/audit", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    page3 = api.get(f"{base}/audit", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
    assert [e["id"] for e in page1["items"] + page2["items"] + page3["items"]] == [
        e["id"] for e in entries
    ]
    assert page3["next_cursor"] is None


def test_agency_creates_sub_accounts(sandbox: SandboxServer, http: httpx.Client) -> None:
    agency = sandbox.new_agency()
    h = bearer(agency.key)
    slug = unique("north")
    body = {"slug": slug, "name": "Acme North", "timezone": "America/Chicago"}
    r = http.post(
        sandbox.url + "/v1/workspaces", json=body, headers={**h, "Idempotency-Key": "mk-north"}
    )
    assert r.status_code == 201
    assert r.json() == {**body, "etag": r.headers["etag"].strip('"')}
    assert r.headers["location"] == f"/v1/workspaces/{slug}"
    assert r.headers["wscfg-workspace"] == slug
    replay = http.post(
        sandbox.url + "/v1/workspaces", json=body, headers={**h, "Idempotency-Key": "mk-north"}
    )
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert (
        "taken"
        in problem(http.post(sandbox.url + "/v1/workspaces", json=body, headers=h), 409)["detail"]
    )
    members = http.get(f"{sandbox.url}/v1/workspaces/{slug}/members", headers=h).json()["items"]
    assert [(m["email"], m["status"]) for m in members] == [(f"owner@{slug}.example", "active")]
    audit = http.get(f"{sandbox.url}/v1/workspaces/{slug}/audit", headers=h).json()["items"]
    assert [(e["action"], e["kind"]) for e in audit] == [("create", "workspace")]
    problem(http.post(sandbox.url + "/v1/workspaces", json={"slug": "Not A Slug"}, headers=h), 422)
    # paging the agency's list
    for _ in range(2):
        http.post(sandbox.url + "/v1/workspaces", json={"slug": unique("more")}, headers=h)
    first = http.get(sandbox.url + "/v1/workspaces", params={"limit": 2}, headers=h).json()
    rest = http.get(
        sandbox.url + "/v1/workspaces", params={"cursor": first["next_cursor"]}, headers=h
    ).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
