"""Collections and singletons over real HTTP: create, read, page, patch, delete, ETags."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from wscfg.model import secret_fingerprint
from wscfg.sandbox.testing import SandboxWorkspace

from .conftest import etag, problem


def ws_path(ws: SandboxWorkspace, suffix: str = "") -> str:
    return f"/v1/workspaces/{ws.slug}{suffix}"


# one valid item per collection kind: (path, body, identity in URL, expected stored item)
CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "roles",
        {"name": "front-desk", "permissions": ["contacts:read", "call_log:read", "contacts:read"]},
        "front-desk",
        {"name": "front-desk", "permissions": ["call_log:read", "contacts:read"]},
    ),
    (
        "call-tags",
        {"name": "new-patient", "color": "#1F8A70", "description": "First visit"},
        "new-patient",
        {"name": "new-patient", "color": "#1f8a70", "description": "First visit"},
    ),
    (
        "blocked-callers",
        {"number": "+1 555 010 0100", "note": "robocaller"},
        "%2B15550100100",
        {"number": "+15550100100", "note": "robocaller"},
    ),
    (
        "webhooks",
        {
            "name": "crm-sync",
            "url": "https://hooks.example.com/acme",
            "events": ["call.qualified", "call.completed", "call.completed"],
            "enabled": True,
        },
        "crm-sync",
        {
            "name": "crm-sync",
            "url": "https://hooks.example.com/acme",
            "events": ["call.completed", "call.qualified"],
            "enabled": True,
        },
    ),
]


@pytest.mark.parametrize(("path", "body", "ident", "stored"), CASES, ids=[c[0] for c in CASES])
def test_collection_crud(
    api: httpx.Client,
    workspace: SandboxWorkspace,
    path: str,
    body: dict[str, Any],
    ident: str,
    stored: dict[str, Any],
) -> None:
    base = ws_path(workspace, f"/{path}")
    created = api.post(base, json=body)
    assert created.status_code == 201, created.text
    tag = etag(created)
    assert created.json() == {**stored, "etag": tag}
    assert created.headers["location"] == f"{base}/{ident}"
    assert created.headers["wscfg-workspace"] == workspace.slug
    text = json.dumps(stored, sort_keys=True, separators=(",", ":"))
    assert tag == hashlib.sha256(text.encode()).hexdigest()[:16]

    got = api.get(f"{base}/{ident}")
    assert got.status_code == 200
    assert got.json() == {**stored, "etag": tag}
    assert etag(got) == tag

    listed = api.get(base)
    assert listed.status_code == 200
    assert listed.json() == {"items": [{**stored, "etag": tag}], "next_cursor": None}

    again = api.post(base, json=body)
    assert "already exists" in problem(again, 409)["detail"]

    deleted = api.delete(f"{base}/{ident}", headers={"If-Match": f'"{tag}"'})
    assert deleted.status_code == 204
    assert deleted.content == b""
    problem(api.get(f"{base}/{ident}"), 404)
    problem(api.delete(f"{base}/{ident}"), 404)
    assert api.get(base).json() == {"items": [], "next_cursor": None}


def test_patch_changes_only_the_fields_sent(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = ws_path(workspace, "/call-tags")
    api.post(base, json={"name": "spam", "color": "#f00", "description": "junk"})
    r = api.patch(f"{base}/spam", json={"color": "#00FF00"})
    assert r.status_code == 200
    assert r.json() == {"name": "spam", "color": "#00ff00", "description": "junk", "etag": etag(r)}
    r = api.patch(f"{base}/spam", json={"description": None})
    assert r.json() == {"name": "spam", "color": "#00ff00", "etag": etag(r)}
    # the identity cannot change
    doc = problem(api.patch(f"{base}/spam", json={"name": "ham"}), 422)
    assert doc["errors"][0]["loc"] == ["body", "name"]
    # sending it unchanged is fine; an unchanged PATCH keeps the ETag
    same = api.patch(f"{base}/spam", json={"name": "spam"})
    assert same.status_code == 200 and etag(same) == etag(r)
    # the merged item is validated with the shared model
    doc = problem(api.patch(f"{base}/spam", json={"color": "green"}), 422)
    assert doc["errors"] == [
        {"loc": ["body", "color"], "msg": "must be a hex colour like '#1f8a70' or '#f80'"}
    ]
    doc = problem(api.patch(f"{base}/spam", json={"colour": "#fff"}), 422)
    assert doc["errors"][0]["loc"] == ["body", "colour"]


def test_if_match(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = ws_path(workspace, "/call-tags")
    first = etag(api.post(base, json={"name": "vip"}))
    second = etag(
        api.patch(f"{base}/vip", json={"color": "#123456"}, headers={"If-Match": f'"{first}"'})
    )
    assert second != first
    stale = api.patch(f"{base}/vip", json={"color": "#654321"}, headers={"If-Match": f'"{first}"'})
    doc = problem(stale, 412)
    assert "changed since it was read" in doc["detail"]
    assert stale.headers["etag"] == f'"{second}"'
    assert api.get(f"{base}/vip").json()["color"] == "#123456"  # nothing written
    problem(api.delete(f"{base}/vip", headers={"If-Match": f'"{first}"'}), 412)
    problem(
        api.delete(f"{base}/vip", headers={"If-Match": f'W/"{second}"'}), 412
    )  # weak never matches
    ok = api.patch(
        f"{base}/vip", json={"color": "#000000"}, headers={"If-Match": f'"x", "{second}"'}
    )
    assert ok.status_code == 200
    assert api.delete(f"{base}/vip", headers={"If-Match": "*"}).status_code == 204


@pytest.mark.parametrize(
    ("path", "patch"),
    [
        ("", {"name": "Acme Dental"}),
        ("/call-rules", {"auto_unqualify": True}),
        ("/notifications", {"billing": {"email": False}}),
    ],
)
def test_singleton_if_match(
    api: httpx.Client, workspace: SandboxWorkspace, path: str, patch: dict[str, Any]
) -> None:
    url = ws_path(workspace, path)
    current = api.get(url)
    assert current.status_code == 200
    tag = etag(current)
    assert current.json()["etag"] == tag
    changed = api.patch(url, json=patch, headers={"If-Match": f'"{tag}"'})
    assert changed.status_code == 200, changed.text
    assert etag(changed) != tag
    body = changed.json()
    for key, value in patch.items():
        assert body[key] == value
    problem(api.patch(url, json=patch, headers={"If-Match": f'"{tag}"'}), 412)


def test_workspace_profile(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    url = ws_path(workspace)
    assert api.get(url).json() == {
        "slug": workspace.slug,
        "name": workspace.slug,
        "timezone": "UTC",
        "etag": etag(api.get(url)),
    }
    r = api.patch(
        url,
        json={
            "timezone": "america/chicago",
            "business_profile": {"company": "Acme", "services": ["cleanings"]},
        },
    )
    assert r.status_code == 200
    assert r.json()["timezone"] == "America/Chicago"
    assert r.json()["business_profile"] == {"company": "Acme", "services": ["cleanings"]}
    doc = problem(api.patch(url, json={"slug": "other-slug"}), 422)
    assert doc["errors"] == [
        {"loc": ["body", "slug"], "msg": "the slug of a workspace cannot change"}
    ]
    doc = problem(api.patch(url, json={"timezone": "Mars/Olympus"}), 422)
    assert doc["errors"][0]["loc"] == ["body", "timezone"]


def test_defaults_of_a_new_workspace(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    notifications = api.get(ws_path(workspace, "/notifications")).json()
    categories = ("system", "automations", "contacts", "workspace", "security", "billing")
    helpdesk = (
        "assigned_conversations",
        "assigned_tickets",
        "notes_in_assigned_conversations",
        "assigned_reminders",
        "assigned_inquiries",
    )
    assert {k: v for k, v in notifications.items() if k != "etag"} == {
        c: {"in_app": True, "email": True} for c in categories
    } | {c: {"email": True} for c in helpdesk}
    rules = api.get(ws_path(workspace, "/call-rules")).json()
    assert rules == {"auto_unqualify": False, "etag": rules["etag"]}
    security = api.get(ws_path(workspace, "/security")).json()
    assert security == {"require_2fa": False, "etag": security["etag"]}
    assert api.get(ws_path(workspace, "/integrations")).json() == {
        "items": [],
        "next_cursor": None,
    }
    members = api.get(ws_path(workspace, "/members")).json()["items"]
    assert members == [
        {
            "email": f"owner@{workspace.slug}.example",
            "role": "owner",
            "status": "active",
            "etag": members[0]["etag"],
        }
    ]
    assert api.get(ws_path(workspace, "/roles")).json() == {"items": [], "next_cursor": None}


def test_paging_walks_every_item_once(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    numbers = [f"+1555010{n:04d}" for n in range(23)]
    r = api.post(ws_path(workspace, "/blocked-callers:batch"), json={"add": numbers})
    assert r.json() == {"added": 23, "updated": 0, "unchanged": 0, "removed": 0}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = api.get(ws_path(workspace, "/blocked-callers"), params=params).json()
        pages += 1
        seen += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert seen == sorted(numbers)
    doc = problem(
        api.get(ws_path(workspace, "/blocked-callers"), params={"cursor": "garbage!"}), 422
    )
    assert doc["errors"][0]["loc"] == ["query", "cursor"]
    problem(api.get(ws_path(workspace, "/blocked-callers"), params={"limit": 0}), 422)
    problem(api.get(ws_path(workspace, "/blocked-callers"), params={"limit": 5001}), 422)


def test_blocked_caller_urls_accept_any_spelling(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    api.post(ws_path(workspace, "/blocked-callers"), json={"number": "+15550100199"})
    assert (
        api.get(ws_path(workspace, "/blocked-callers/+1 555 010 0199")).json()["number"]
        == "+15550100199"
    )
    problem(api.get(ws_path(workspace, "/blocked-callers/not-a-number")), 404)


def test_webhook_secret_is_write_only(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    secret = "whsec-very-secret-value-123"
    base = ws_path(workspace, "/webhooks")
    r = api.post(
        base, json={"name": "hook", "url": "https://hooks.example.com/h", "secret": secret}
    )
    assert r.status_code == 201
    assert r.json()["secret_fingerprint"] == secret_fingerprint(secret)
    assert "secret" not in r.json()
    # patching another field keeps the fingerprint; a new secret changes it; null clears it
    r = api.patch(f"{base}/hook", json={"enabled": False})
    assert r.json()["secret_fingerprint"] == secret_fingerprint(secret)
    r = api.patch(f"{base}/hook", json={"secret": secret + "2"})
    assert r.json()["secret_fingerprint"] == secret_fingerprint(secret + "2")
    r = api.patch(f"{base}/hook", json={"secret": None})
    assert "secret_fingerprint" not in r.json()
    doc = problem(
        api.post(
            base,
            json={"name": "h2", "url": "https://hooks.example.com/h", "secret_fingerprint": "x"},
        ),
        422,
    )
    assert doc["errors"] == [
        {"loc": ["body", "secret_fingerprint"], "msg": "read-only field; set by the platform"}
    ]
    for url in ("http://hooks.example.com/h", "https://127.0.0.1/h", "https://localhost/h"):
        problem(api.post(base, json={"name": "bad", "url": url}), 422)
    # the secret is nowhere: responses, snapshot, audit log
    everything = (
        api.get(ws_path(workspace, "/settings")).text + api.get(ws_path(workspace, "/audit")).text
    )
    assert secret not in everything
    assert secret_fingerprint(secret) in everything


def test_snapshot_holds_every_kind_with_etags(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    api.post(ws_path(workspace, "/roles"), json={"name": "front-desk"})
    api.post(ws_path(workspace, "/call-tags"), json={"name": "b-tag"})
    api.post(ws_path(workspace, "/call-tags"), json={"name": "a-tag"})
    api.post(
        ws_path(workspace, "/blocked-callers:batch"), json={"add": ["+15550100199", "+15550100100"]}
    )
    snap = api.get(ws_path(workspace, "/settings"))
    assert snap.status_code == 200
    assert snap.headers["wscfg-workspace"] == workspace.slug
    data = snap.json()
    assert list(data) == [
        "workspace",
        "roles",
        "call_tags",
        "members",
        "call_rules",
        "webhooks",
        "blocked_callers",
        "notifications",
        "security",
        "usage_alerts",
        "api_keys",
        "integrations",
        "api_key_use",
        "workspace_id",
    ]
    assert data["workspace_id"].startswith("ws_") and len(data["workspace_id"]) == 19
    # the key the workspace was made with is the platform's own: not in the kind
    assert data["api_keys"] == []
    assert data["api_key_use"] == {"caller": None, "unmanaged": 1, "limit": 10}
    assert [t["name"] for t in data["call_tags"]] == ["a-tag", "b-tag"]
    assert [b["number"] for b in data["blocked_callers"]] == ["+15550100100", "+15550100199"]
    assert data["webhooks"] == []
    # every entry's etag equals the one its own GET answers
    one = api.get(ws_path(workspace, "/call-tags/a-tag"))
    assert data["call_tags"][0]["etag"] == etag(one)
    assert data["workspace"]["etag"] == etag(api.get(ws_path(workspace)))
    assert data["call_rules"]["etag"] == etag(api.get(ws_path(workspace, "/call-rules")))
