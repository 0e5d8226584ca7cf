"""Keys that act as a member have, on each request, at most what the member's role allows at
that moment; no key gives more than it holds (issue 21 item 5; sandbox/access.py).

The route-by-route test is driven by the app's route table: a route without a rule fails
``test_every_route_has_exactly_one_rule``, and every rule is tried over HTTP for each built-in
role, a custom role and members who are not active.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from wscfg.sandbox import access, admin
from wscfg.sandbox.app import create_app
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, unique

from .conftest import bearer, problem
from .test_isolation import Target, fill, routes

DOCS = Path(__file__).parents[2] / "docs" / "api.md"
CUSTOM = {"name": "tagger", "permissions": ["call_tags:manage", "settings:read"]}


def test_every_route_has_exactly_one_rule(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'a.db'}")
    served = set(access.api_routes(app.routes))
    assert len(served) > 40
    assert served == set(access.ROUTES)  # no route without a rule, no rule without a route


def test_the_matrix_in_the_docs_is_the_table() -> None:
    assert access.matrix_markdown() in DOCS.read_text(encoding="utf-8")


def member_key(
    sandbox: SandboxServer, ws: SandboxWorkspace, role: str, *, accept: bool = True
) -> tuple[str, str]:
    """(email, key) of a new member of ``ws`` with ``role`` and a key acting as them."""
    email = f"{unique(role)}@acme.example"
    r = httpx.post(f"{ws.url}/members", json={"email": email, "role": role}, headers=ws.headers)
    assert r.status_code == 201, r.text
    if accept:
        sandbox.accept_invitation(ws.slug, email)
    issued = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, as_user=email))
    return email, issued.secret


def all_routes(target: Target) -> list[tuple[str, str, str, Any]]:
    return [
        *routes(target),
        ("GET", "/v1/key", "/v1/key", None),
        ("GET", "/v1/workspaces", "/v1/workspaces", None),
        ("POST", "/v1/workspaces", "/v1/workspaces", {"slug": unique("new")}),
    ]


def allowed(role_permissions: frozenset[str], method: str, template: str) -> bool:
    rule = access.rule_for(method, template)
    assert rule is not None, (method, template)
    return rule.permission is None or rule.permission in role_permissions


@pytest.mark.parametrize("role", ["owner", "admin", "member", "client", "tagger"])
def test_each_route_allows_exactly_what_the_role_allows(
    sandbox: SandboxServer, http: httpx.Client, role: str
) -> None:
    """Every route, as a member of each role: refused ones are 403 with the permission named
    and write nothing; allowed ones are never 403 (the agency-only POST /v1/workspaces aside)."""
    ws = sandbox.new_workspace("roles")
    target = fill(ws, sandbox)
    assert http.post(f"{ws.url}/roles", json=CUSTOM, headers=ws.headers).status_code == 201
    email, key = member_key(sandbox, ws, role)
    perms = access.BUILTIN_PERMISSIONS.get(role, frozenset(CUSTOM["permissions"]))
    cases = all_routes(target)
    refused = [c for c in cases if not allowed(perms, c[0], c[1])]
    expected_refused = {
        "owner": 0,
        "admin": 0,  # billing:manage guards no route of this API
        "member": len([c for c in cases if c[0] != "GET" or "api-keys" in c[1]]),
        "client": len(cases) - 1,  # GET /v1/key only
    }
    if role in expected_refused:
        assert len(refused) == expected_refused[role]
    before = sandbox.item_rows(ws.slug)
    for method, template, path, body in refused:
        r = http.request(method, sandbox.url + path, json=body, headers=bearer(key))
        rule = access.rule_for(method, template)
        assert rule is not None
        assert problem(r, 403)["detail"] == (
            f"this API key acts as {email}, whose role '{role}' does not allow {rule.permission}"
        ), (method, template)
    assert sandbox.item_rows(ws.slug) == before  # nothing refused wrote anything
    for case in cases:
        if case in refused:
            continue
        method, template, path, body = case
        r = http.request(method, sandbox.url + path, json=body, headers=bearer(key))
        if (method, template) == ("POST", "/v1/workspaces"):
            assert (
                problem(r, 403)["detail"]
                == "only an agency key can create workspaces (sub-accounts)"
            )
            continue
        assert r.status_code != 403, (method, template, r.text)
        assert r.status_code < 500, (method, template, r.text)


def _key_of(http: httpx.Client, ws: SandboxWorkspace, key: str, **body: Any) -> httpx.Response:
    return http.post(f"{ws.url}/api-keys", json=body, headers=bearer(key))


def test_the_issue_reproductions_as_a_pending_client(
    sandbox: SandboxServer, http: httpx.Client
) -> None:
    """low@ was invited as a client (still pending) and got an --as-user key: each of what it
    did in the issue is 403 and writes nothing, as it is again once low has accepted."""
    ws = sandbox.new_workspace("low")
    low, key = member_key(sandbox, ws, "client", accept=False)
    h = bearer(key)
    attempts = [
        ("PATCH", f"{ws.url}/members/{low}", {"role": "owner"}),
        (
            "POST",
            f"{ws.url}/api-keys",
            {"name": "x", "scopes": ["settings:write", "billing:write"]},
        ),
        ("PATCH", f"{ws.url}/security", {"require_2fa": True}),
        ("POST", f"{ws.url}/members", {"email": "evil@attacker.example", "role": "owner"}),
        ("GET", f"{ws.url}/settings", None),
    ]
    before = sandbox.item_rows(ws.slug)
    for method, url, body in attempts:
        doc = problem(http.request(method, url, json=body, headers=h), 403)
        assert doc["detail"] == (
            f"this API key acts as {low}, who is not an active member (pending)"
        )
    sandbox.accept_invitation(ws.slug, low)
    before = sandbox.item_rows(ws.slug)
    needs = ["members:manage", "api_keys:manage", "settings:write", "members:manage"]
    for (method, url, body), permission in zip(attempts, [*needs, "settings:read"], strict=True):
        doc = problem(http.request(method, url, json=body, headers=h), 403)
        assert doc["detail"] == (
            f"this API key acts as {low}, whose role 'client' does not allow {permission}"
        )
    assert sandbox.item_rows(ws.slug) == before


def test_role_changes_and_removal_apply_on_the_next_request(
    sandbox: SandboxServer, http: httpx.Client
) -> None:
    ws = sandbox.new_workspace("demote")
    who, key = member_key(sandbox, ws, "admin")
    tag = {"name": "t1"}
    assert http.post(f"{ws.url}/call-tags", json=tag, headers=bearer(key)).status_code == 201
    demote = http.patch(f"{ws.url}/members/{who}", json={"role": "member"}, headers=ws.headers)
    assert demote.status_code == 200
    r = http.post(f"{ws.url}/call-tags", json={"name": "t2"}, headers=bearer(key))
    assert problem(r, 403)["detail"] == (
        f"this API key acts as {who}, whose role 'member' does not allow call_tags:manage"
    )
    assert http.get(f"{ws.url}/settings", headers=bearer(key)).status_code == 200
    # a custom role: its permissions are read on each request too
    role = {"name": "taggers", "permissions": ["call_tags:manage", "settings:read"]}
    assert http.post(f"{ws.url}/roles", json=role, headers=ws.headers).status_code == 201
    assert http.patch(
        f"{ws.url}/members/{who}", json={"role": "taggers"}, headers=ws.headers
    ).is_success
    assert http.post(f"{ws.url}/call-tags", json={"name": "t3"}, headers=bearer(key)).is_success
    assert http.patch(
        f"{ws.url}/roles/taggers", json={"permissions": ["settings:read"]}, headers=ws.headers
    ).is_success
    r = http.post(f"{ws.url}/call-tags", json={"name": "t4"}, headers=bearer(key))
    assert problem(r, 403)["detail"].endswith("'taggers' does not allow call_tags:manage")
    # removed: every request is refused, reads included
    assert http.delete(f"{ws.url}/members/{who}", headers=ws.headers).status_code == 204
    for method, url in [("GET", f"{ws.url}/settings"), ("GET", "/v1/key")]:
        url = url if url.startswith("http") else sandbox.url + url
        doc = problem(http.request(method, url, headers=bearer(key)), 403)
        assert doc["detail"] == f"this API key acts as {who}, who is not an active member (removed)"


def test_a_member_cannot_give_or_take_more_than_their_role_holds(
    sandbox: SandboxServer, http: httpx.Client
) -> None:
    """An admin (everything but billing:manage and ownership) cannot make itself or anyone an
    owner, touch an owner, nor make or assign a role holding billing:manage."""
    ws = sandbox.new_workspace("admin")
    who, key = member_key(sandbox, ws, "admin")
    owner = admin.default_owner(ws.slug)
    h = bearer(key)
    own = (
        "whose role does not hold billing:manage, ownership (of the role 'owner'): it cannot "
        "give, change"
    )
    bill = "whose role does not hold billing:manage (of the role 'payer'): it cannot give, change"
    before = sandbox.item_rows(ws.slug)
    cases = [
        ("PATCH", f"members/{who}", {"role": "owner"}, own),
        ("POST", "members", {"email": "evil@attacker.example", "role": "owner"}, own),
        ("PATCH", f"members/{owner}", {"role": "member"}, own),
        ("DELETE", f"members/{owner}", None, own),
        ("POST", "roles", {"name": "payer", "permissions": ["billing:manage"]}, bill),
    ]
    for method, path, body, text in cases:
        r = http.request(method, f"{ws.url}/{path}", json=body, headers=h)
        assert problem(r, 403)["detail"] == (
            f"this API key acts as {who}, {text} or take away more than it holds"
        ), (method, path)
    assert sandbox.item_rows(ws.slug) == before
    payer = {"name": "payer", "permissions": ["billing:manage"]}
    assert http.post(f"{ws.url}/roles", json=payer, headers=ws.headers).status_code == 201
    for method, path, body in [
        ("PATCH", f"members/{who}", {"role": "payer"}),
        ("POST", "members", {"email": "p@acme.example", "role": "payer"}),
        ("PATCH", "roles/payer", {"description": "pays"}),
        ("DELETE", "roles/payer", None),
    ]:
        r = http.request(method, f"{ws.url}/{path}", json=body, headers=h)
        assert (
            problem(r, 403)["detail"]
            == f"this API key acts as {who}, {bill} or take away more than it holds"
        )
    # within its own permissions it may: a role without billing, a member of it
    mine = {"name": "helpers", "permissions": ["call_tags:manage"]}
    assert http.post(f"{ws.url}/roles", json=mine, headers=h).status_code == 201
    new = {"email": "helper@acme.example", "role": "helpers"}
    assert http.post(f"{ws.url}/members", json=new, headers=h).status_code == 201


GIVE = "this API key cannot give scopes it does not hold itself: "


def test_no_key_gives_a_scope_it_does_not_hold(sandbox: SandboxServer, http: httpx.Client) -> None:
    """The issue: any settings:write key could mint billing:write. Creating, re-scoping and
    re-issuing are bounded by the giver's own scopes; a member's key by its role's too."""
    ws = sandbox.new_workspace("mint")
    settings_only = sandbox.issue_key(workspace=ws.slug, scopes=["settings:read", "settings:write"])
    managed = {"name": "payments", "mode": "live", "scopes": ["billing:write", "settings:read"]}
    r = _key_of(http, ws, settings_only, **managed)
    assert problem(r, 403)["detail"] == GIVE + "billing:write"
    r = _key_of(http, ws, settings_only, name="plain", scopes=["settings:write", "billing:write"])
    assert problem(r, 403)["detail"] == GIVE + "billing:write"
    # the workspace's own key holds every scope: it may
    assert _key_of(http, ws, ws.key, **managed).status_code == 201
    url = f"{ws.url}/api-keys/payments"
    r = http.patch(url, json={"rotation": 1}, headers=bearer(settings_only))
    assert problem(r, 403)["detail"] == GIVE + "billing:write"
    r = http.patch(url, json={"scopes": ["contacts:write"]}, headers=bearer(settings_only))
    assert problem(r, 403)["detail"] == GIVE + "contacts:write"
    # what it holds it may give, and a description is no grant
    assert http.patch(url, json={"description": "x"}, headers=bearer(settings_only)).is_success
    assert _key_of(http, ws, settings_only, name="ok", scopes=["settings:read"]).status_code == 201
    # a member's key: its scopes and its role's (admin: no billing)
    who, key = member_key(sandbox, ws, "admin")
    r = _key_of(http, ws, key, name="b", scopes=["billing:read", "billing:write"])
    assert problem(r, 403)["detail"] == GIVE + "billing:write"
    made = _key_of(http, ws, key, name="mine", scopes=["settings:read", "calls:read"])
    assert made.status_code == 201
    # the key it made acts as it: removed with the member
    child = made.json()["secret"]
    assert http.get(f"{ws.url}/settings", headers=bearer(child)).status_code == 200
    assert http.delete(f"{ws.url}/members/{who}", headers=ws.headers).status_code == 204
    doc = problem(http.get(f"{ws.url}/settings", headers=bearer(child)), 403)
    assert doc["detail"] == f"this API key acts as {who}, who is not an active member (removed)"
