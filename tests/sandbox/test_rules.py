"""Platform rules the server enforces: roles, owners, invitations, tag references."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

from .conftest import bearer, etag, problem


def p(ws: SandboxWorkspace, suffix: str = "") -> str:
    return f"/v1/workspaces/{ws.slug}{suffix}"


def test_builtin_roles_are_read_only(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    doc = problem(api.post(p(workspace, "/roles"), json={"name": "admin"}), 422)
    assert doc["errors"] == [
        {"loc": ["body", "name"], "msg": "'admin' is a built-in role and cannot be redefined"}
    ]
    for name in ("owner", "admin", "member", "client"):
        assert (
            "built-in"
            in problem(api.patch(p(workspace, f"/roles/{name}"), json={"description": "x"}), 409)[
                "detail"
            ]
        )
        assert "built-in" in problem(api.delete(p(workspace, f"/roles/{name}")), 409)["detail"]
        problem(api.get(p(workspace, f"/roles/{name}")), 404)


def test_member_role_must_exist_and_role_in_use_cannot_go(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    doc = problem(
        api.post(p(workspace, "/members"), json={"email": "a@x.example", "role": "front-desk"}), 422
    )
    assert doc["errors"][0]["loc"] == ["body", "role"]
    assert "no role 'front-desk'" in doc["errors"][0]["msg"]
    assert api.post(p(workspace, "/roles"), json={"name": "front-desk"}).status_code == 201
    assert (
        api.post(
            p(workspace, "/members"), json={"email": "A@X.example", "role": "front-desk"}
        ).status_code
        == 201
    )
    doc = problem(api.delete(p(workspace, "/roles/front-desk")), 409)
    assert doc["detail"] == "role 'front-desk' is held by a@x.example; change their role first"
    problem(api.patch(p(workspace, "/members/a@x.example"), json={"role": "ghost"}), 422)
    assert (
        api.patch(p(workspace, "/members/A@x.example"), json={"role": "member"}).status_code == 200
    )
    assert api.delete(p(workspace, "/roles/front-desk")).status_code == 204


def test_last_active_owner_stays(
    sandbox: SandboxServer, api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    owner = f"owner@{workspace.slug}.example"
    assert (
        "last active owner" in problem(api.delete(p(workspace, f"/members/{owner}")), 409)["detail"]
    )
    assert (
        "demoted"
        in problem(api.patch(p(workspace, f"/members/{owner}"), json={"role": "admin"}), 409)[
            "detail"
        ]
    )
    # a pending owner does not count
    assert (
        api.post(
            p(workspace, "/members"), json={"email": "next@x.example", "role": "owner"}
        ).status_code
        == 201
    )
    problem(api.delete(p(workspace, f"/members/{owner}")), 409)
    # once the invitation is accepted, the first owner may go
    sandbox.accept_invitation(workspace.slug, "next@x.example")
    member = api.get(p(workspace, "/members/next@x.example")).json()
    assert member == {
        "email": "next@x.example",
        "role": "owner",
        "status": "active",
        "etag": member["etag"],
    }
    assert api.patch(p(workspace, f"/members/{owner}"), json={"role": "admin"}).status_code == 200
    problem(api.patch(p(workspace, "/members/next@x.example"), json={"role": "member"}), 409)
    assert api.delete(p(workspace, f"/members/{owner}")).status_code == 204
    assert [m["email"] for m in api.get(p(workspace, "/members")).json()["items"]] == [
        "next@x.example"
    ]


def test_call_rules_and_webhooks_name_existing_tags(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    rule = {"all": [{"duration": {"at_least": 60}}, {"not_tag": "spam"}, {"tag": "lead"}]}
    doc = problem(api.patch(p(workspace, "/call-rules"), json={"rule": rule}), 422)
    assert doc["errors"] == [
        {"loc": ["body", "rule"], "msg": "no call tag 'lead', 'spam'; create it first"}
    ]
    hook = {"name": "h", "url": "https://hooks.example.com/h", "filters": {"tags": ["lead"]}}
    doc = problem(api.post(p(workspace, "/webhooks"), json=hook), 422)
    assert doc["errors"][0]["loc"] == ["body", "filters", "tags"]
    for tag in ("spam", "lead", "free"):
        assert api.post(p(workspace, "/call-tags"), json={"name": tag}).status_code == 201
    r = api.patch(p(workspace, "/call-rules"), json={"rule": rule, "auto_unqualify": True})
    assert r.status_code == 200, r.text
    assert r.json()["rule"] == {
        "all": [{"duration": {"at_least": 60}}, {"not_tag": "spam"}, {"tag": "lead"}]
    }
    assert api.post(p(workspace, "/webhooks"), json=hook).status_code == 201
    assert problem(api.delete(p(workspace, "/call-tags/spam")), 409)["detail"] == (
        "call tag 'spam' is used by the call rules; change them first"
    )
    assert problem(api.delete(p(workspace, "/call-tags/lead")), 409)["detail"] == (
        "call tag 'lead' is used by the call rules, webhook 'h'; change them first"
    )
    assert api.delete(p(workspace, "/call-tags/free")).status_code == 204
    assert api.patch(p(workspace, "/call-rules"), json={"rule": None}).status_code == 200
    assert api.delete(p(workspace, "/call-tags/spam")).status_code == 204


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clocked(db_url: str | None) -> Iterator[tuple[SandboxServer, Clock]]:
    clock = Clock()
    with running_server(db_url, invite_ttl=3600, clock=clock) as server:
        yield server, clock


def test_invitations_expire_and_can_be_resent(clocked: tuple[SandboxServer, Clock]) -> None:
    server, clock = clocked
    ws = server.new_workspace()
    with httpx.Client(base_url=server.url, headers=bearer(ws.key)) as api:
        created = api.post(p(ws, "/members"), json={"email": "new@x.example", "role": "member"})
        assert created.json() == {
            "email": "new@x.example",
            "role": "member",
            "status": "pending",
            "invited_at": "2030-01-01T12:00:00Z",
            "expires_at": "2030-01-01T13:00:00Z",
            "etag": etag(created),
        }
        problem(api.post(p(ws, f"/members/owner@{ws.slug}.example/resend")), 409)
        clock.now += timedelta(hours=1)
        expired = api.get(p(ws, "/members/new@x.example"))
        assert expired.json()["status"] == "expired"
        assert etag(expired) != etag(created)
        snap = api.get(p(ws, "/settings")).json()
        listed = api.get(p(ws, "/members")).json()["items"]
        for view in (snap["members"], listed):
            entry = next(m for m in view if m["email"] == "new@x.example")
            assert entry == expired.json()
        # the If-Match of the pending representation is stale now
        problem(
            api.patch(
                p(ws, "/members/new@x.example"),
                json={"role": "client"},
                headers={"If-Match": etag_quoted(created)},
            ),
            412,
        )
        clock.now += timedelta(minutes=5)
        resent = api.post(
            p(ws, "/members/new@x.example/resend"), headers={"If-Match": etag_quoted(expired)}
        )
        assert resent.status_code == 200
        assert resent.json() == {
            "email": "new@x.example",
            "role": "member",
            "status": "pending",
            "invited_at": "2030-01-01T13:05:00Z",
            "expires_at": "2030-01-01T14:05:00Z",
            "etag": etag(resent),
        }
        # an expired invitation keeps its role when patched and can be cancelled
        clock.now += timedelta(hours=2)
        patched = api.patch(p(ws, "/members/new@x.example"), json={"role": "client"})
        assert patched.json()["status"] == "expired"
        assert api.delete(p(ws, "/members/new@x.example")).status_code == 204


def etag_quoted(response: httpx.Response) -> str:
    return response.headers["etag"]


def test_api_keys_at_most_ten(
    api: httpx.Client, workspace: SandboxWorkspace, client_for: object
) -> None:
    base = p(workspace, "/api-keys")
    listed = api.get(base).json()["items"]
    assert len(listed) == 1  # the key the workspace was created with
    assert set(listed[0]) == {"id", "name", "prefix", "scopes", "created_at"}
    created = []
    for i in range(9):
        r = api.post(base, json={"name": f"ci-{i}", "scopes": ["settings:read"]})
        assert r.status_code == 201
        created.append(r.json())
    assert created[0]["secret"].startswith("wscfg_")
    assert created[0]["prefix"] == created[0]["secret"][:10]
    assert "at most 10 active" in problem(api.post(base, json={"name": "eleventh"}), 409)["detail"]
    # a created key works with its scopes
    with httpx.Client(base_url=api.base_url, headers=bearer(created[0]["secret"])) as other:
        assert other.get(p(workspace)).status_code == 200
        problem(other.patch(p(workspace), json={"name": "x"}), 403)
    assert api.delete(f"{base}/{created[0]['id']}").status_code == 204
    with httpx.Client(base_url=api.base_url, headers=bearer(created[0]["secret"])) as other:
        problem(other.get(p(workspace)), 401)
    problem(api.delete(f"{base}/{created[0]['id']}"), 404)
    assert api.post(base, json={"name": "tenth again"}).status_code == 201
    secrets_listed = api.get(base).text
    assert all(c["secret"] not in secrets_listed for c in created)
