"""One key never reaches another workspace's data (DESIGN §6.8), tried on EVERY route.

The routes come from the served OpenAPI document, so a new route without a case here fails
``test_every_route_is_covered``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, unique

from .conftest import bearer, problem

NUMBER = "+15550100777"


@dataclass
class Target:
    """A workspace full of data that other keys must not reach."""

    ws: SandboxWorkspace
    pending: str
    key_id: str
    secrets: list[str]  # strings that must never show up in a refused answer


def fill(ws: SandboxWorkspace, sandbox: SandboxServer) -> Target:
    sandbox.set_integration(ws.slug, "secret-integration")
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        assert (
            c.post(
                "/roles", json={"name": "secret-role", "description": "confidential-role"}
            ).status_code
            == 201
        )
        assert c.post("/call-tags", json={"name": "secret-tag"}).status_code == 201
        assert (
            c.post(
                "/members", json={"email": "hidden@victim.example", "role": "secret-role"}
            ).status_code
            == 201
        )
        hook = {
            "name": "secret-hook",
            "url": "https://hooks.example.com/victim",
            "secret": "victim-hook-secret",
        }
        assert c.post("/webhooks", json=hook).status_code == 201
        assert (
            c.post(
                "/blocked-callers", json={"number": NUMBER, "note": "confidential-note"}
            ).status_code
            == 201
        )
        alert = {"threshold": 80, "recipients": ["secret-role"]}
        assert c.post("/usage-alerts", json=alert).status_code == 201
        key_id = c.get("/api-keys").json()["items"][0]["id"]
        managed = {"name": "secret-apikey", "mode": "live", "scopes": ["calls:read"]}
        assert c.post("/api-keys", json=managed).status_code == 201
    return Target(
        ws,
        "hidden@victim.example",
        key_id,
        [
            "secret-role",
            "confidential",
            "hidden@victim",
            "secret-hook",
            "victim-hook-secret",
            "15550100777",
            "secret-integration",
            key_id,
            "secret-apikey",
        ],
    )


def routes(target: Target) -> list[tuple[str, str, str, Any]]:
    """(method, path template, concrete path, json body) for every operation."""
    s = target.ws.slug
    w = f"/v1/workspaces/{s}"
    out: list[tuple[str, str, str, Any]] = [
        ("GET", "/v1/workspaces/{ws}", w, None),
        ("PATCH", "/v1/workspaces/{ws}", w, {"name": "Hacked"}),
        ("GET", "/v1/workspaces/{ws}/settings", f"{w}/settings", None),
        ("GET", "/v1/workspaces/{ws}/call-rules", f"{w}/call-rules", None),
        ("PATCH", "/v1/workspaces/{ws}/call-rules", f"{w}/call-rules", {"auto_unqualify": True}),
        ("GET", "/v1/workspaces/{ws}/notifications", f"{w}/notifications", None),
        (
            "PATCH",
            "/v1/workspaces/{ws}/notifications",
            f"{w}/notifications",
            {"billing": {"email": False}},
        ),
        (
            "POST",
            "/v1/workspaces/{ws}/blocked-callers:batch",
            f"{w}/blocked-callers:batch",
            {"remove": [NUMBER]},
        ),
        ("GET", "/v1/workspaces/{ws}/security", f"{w}/security", None),
        ("PATCH", "/v1/workspaces/{ws}/security", f"{w}/security", {"require_2fa": True}),
        ("GET", "/v1/workspaces/{ws}/integrations", f"{w}/integrations", None),
        (
            "GET",
            "/v1/workspaces/{ws}/integrations/{key}",
            f"{w}/integrations/secret-integration",
            None,
        ),
        ("GET", "/v1/workspaces/{ws}/api-keys", f"{w}/api-keys", None),
        ("POST", "/v1/workspaces/{ws}/api-keys", f"{w}/api-keys", {"name": "stolen"}),
        ("DELETE", "/v1/workspaces/{ws}/api-keys/{key}", f"{w}/api-keys/{target.key_id}", None),
        ("GET", "/v1/workspaces/{ws}/api-keys/{name}", f"{w}/api-keys/secret-apikey", None),
        (
            "PATCH",
            "/v1/workspaces/{ws}/api-keys/{name}",
            f"{w}/api-keys/secret-apikey",
            {"rotation": 7},
        ),
        ("GET", "/v1/workspaces/{ws}/audit", f"{w}/audit", None),
        (
            "POST",
            "/v1/workspaces/{ws}/members/{email}/resend",
            f"{w}/members/{target.pending}/resend",
            None,
        ),
    ]
    items = {
        "roles": ("secret-role", {"name": "new-role"}),
        "call-tags": ("secret-tag", {"name": "new-tag"}),
        "members": ("hidden@victim.example", {"email": "intruder@x.example", "role": "admin"}),
        "webhooks": ("secret-hook", {"name": "new-hook", "url": "https://hooks.example.com/x"}),
        "blocked-callers": ("%2B15550100777", {"number": "+15550100888"}),
        "usage-alerts": ("80", {"threshold": 50}),
    }
    for path, (ident, new) in items.items():
        out += [
            ("GET", f"/v1/workspaces/{{ws}}/{path}", f"{w}/{path}", None),
            ("POST", f"/v1/workspaces/{{ws}}/{path}", f"{w}/{path}", new),
            ("GET", f"/v1/workspaces/{{ws}}/{path}/{{key}}", f"{w}/{path}/{ident}", None),
            ("PATCH", f"/v1/workspaces/{{ws}}/{path}/{{key}}", f"{w}/{path}/{ident}", {}),
            ("DELETE", f"/v1/workspaces/{{ws}}/{path}/{{key}}", f"{w}/{path}/{ident}", None),
        ]
    return out


@pytest.fixture(scope="module")
def world(sandbox: SandboxServer) -> dict[str, Any]:
    agency = sandbox.new_agency()
    sub = sandbox.new_workspace("sub", agency=agency.name)
    victim = sandbox.new_workspace("victim")
    other_sub = sandbox.new_workspace("othersub", agency=sandbox.new_agency().name)
    return {
        "attacker": sandbox.new_workspace("attacker"),
        "agency": agency,
        "sub": sub,
        "victim": fill(victim, sandbox),
        "other_sub": fill(other_sub, sandbox),
    }


def snapshot(http: httpx.Client, ws: SandboxWorkspace) -> tuple[Any, Any]:
    h = bearer(ws.key)
    snap = http.get(f"{ws.url}/settings", headers=h).json()
    keys = http.get(f"{ws.url}/api-keys", headers=h).json()
    return snap, keys


def test_every_route_is_covered(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any]
) -> None:
    doc = http.get(sandbox.url + "/openapi.json").json()
    served = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    covered = {(m, t) for m, t, _, _ in routes(world["victim"])}
    covered |= {("GET", "/v1/workspaces"), ("POST", "/v1/workspaces")}
    covered |= {("GET", "/v1/key")}  # describes the calling key only (tests/sandbox/test_key_info)
    assert served == covered


def refused_without_leak(r: httpx.Response, status: int, target: Target) -> None:
    doc = problem(r, status)
    for secret in target.secrets:
        assert secret not in r.text, (r.request.method, r.request.url, r.text)
    assert set(doc) == {"type", "title", "status", "detail", "instance"}


@pytest.mark.parametrize("who", ["attacker", "agency"])
@pytest.mark.parametrize("victim", ["victim", "other_sub"])
def test_foreign_keys_get_404_on_every_route(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any], who: str, victim: str
) -> None:
    target: Target = world[victim]
    key = world[who].key
    before = snapshot(http, target.ws)
    missing = unique("missing")
    for method, _, path, body in routes(target):
        r = http.request(method, sandbox.url + path, json=body, headers=bearer(key))
        refused_without_leak(r, 404, target)
        assert r.json()["detail"] == "no such workspace"
        # indistinguishable from a workspace that does not exist
        ghost = http.request(
            method,
            sandbox.url + path.replace(target.ws.slug, missing),
            json=body,
            headers=bearer(key),
        )
        assert (ghost.status_code, ghost.json()["detail"]) == (404, "no such workspace")
    assert snapshot(http, target.ws) == before


def test_read_only_key_is_refused_every_write(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any]
) -> None:
    target: Target = world["victim"]
    reader = sandbox.issue_key(workspace=target.ws.slug, scopes=["settings:read"])
    before = snapshot(http, target.ws)
    writes = [r for r in routes(target) if r[0] != "GET"]
    writes.append(("POST", "/v1/workspaces", "/v1/workspaces", {"slug": unique("new")}))
    for method, _, path, body in writes:
        r = http.request(method, sandbox.url + path, json=body, headers=bearer(reader))
        doc = problem(r, 403)
        assert doc["detail"] == "this API key lacks the settings:write scope"
    for method, _, path, _ in routes(target):
        if method == "GET":
            assert http.get(sandbox.url + path, headers=bearer(reader)).status_code == 200, path
    assert snapshot(http, target.ws) == before
    sandbox.revoke_key(reader)


def test_write_only_key_cannot_read(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any]
) -> None:
    target: Target = world["victim"]
    writer = sandbox.issue_key(workspace=target.ws.slug, scopes=["settings:write"])
    for method, _, path, _ in routes(target):
        if method == "GET":
            refused_without_leak(http.get(sandbox.url + path, headers=bearer(writer)), 403, target)
    refused_without_leak(
        http.get(sandbox.url + "/v1/workspaces", headers=bearer(writer)), 403, target
    )
    sandbox.revoke_key(writer)


def test_no_key_is_refused_everywhere(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any]
) -> None:
    target: Target = world["victim"]
    for method, _, path, body in [
        *routes(target),
        ("GET", "", "/v1/workspaces", None),
        ("POST", "", "/v1/workspaces", {"slug": "x"}),
    ]:
        refused_without_leak(http.request(method, sandbox.url + path, json=body), 401, target)


def test_agency_reaches_its_sub_accounts_only(
    sandbox: SandboxServer, http: httpx.Client, world: dict[str, Any]
) -> None:
    agency, sub = world["agency"], world["sub"]
    h = bearer(agency.key)
    listed = http.get(sandbox.url + "/v1/workspaces", headers=h).json()
    assert [w["slug"] for w in listed["items"]] == [sub.slug]
    assert http.get(sub.url + "/settings", headers=h).status_code == 200
    assert http.patch(sub.url, json={"name": "Managed"}, headers=h).status_code == 200
    # a workspace key lists itself only and cannot create workspaces
    attacker = world["attacker"]
    own = http.get(sandbox.url + "/v1/workspaces", headers=bearer(attacker.key)).json()
    assert [w["slug"] for w in own["items"]] == [attacker.slug]
    r = http.post(
        sandbox.url + "/v1/workspaces", json={"slug": unique("x")}, headers=bearer(attacker.key)
    )
    assert problem(r, 403)["detail"] == "only an agency key can create workspaces (sub-accounts)"
