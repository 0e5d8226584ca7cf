"""The light path of a conditional snapshot read (sandbox/revalidate.py): a ``304`` answered
before routing from the ETag known at the workspace's version.

Whatever writes to a workspace (each write route, the administration, another key, SQL on the
database itself) changes the ETag on the very next read; a key revoked or rotated away is
refused on its very next conditional read; the ``304`` carries every header the route's does,
is logged and takes no token; what the light path does not answer (other keys, member keys,
query strings, fault injection) is answered by the route as before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from wscfg.sandbox import admin
from wscfg.sandbox.db import SCHEMA_VERSION, dispose, get_engine
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

from .conftest import bearer, problem


def _tag(http: httpx.Client, ws: SandboxWorkspace) -> tuple[str, bytes]:
    full = http.get(f"{ws.url}/settings")
    assert full.status_code == 200
    return full.headers["etag"], full.content


def _ok(response: httpx.Response) -> None:
    assert response.is_success, response.text


def _raw_sql(server: SandboxServer, sql: str, slug: str) -> None:
    """A write that no route makes: SQL straight on the server's database."""
    engine = create_engine(server.db_url)
    try:
        with engine.begin() as conn:
            ws_id = conn.execute(
                text("SELECT id FROM workspaces WHERE slug = :s"), {"s": slug}
            ).scalar_one()
            conn.execute(text(sql), {"ws": ws_id})
    finally:
        engine.dispose()


def test_every_writer_changes_the_tag(sandbox: SandboxServer) -> None:
    """After each kind of write, the tag read before is no longer answered 304: the next read
    is the new snapshot in full, byte for byte what an unconditional read answers, and its
    tag is answered 304 again (from the light path)."""
    ws = sandbox.new_workspace("writers")
    other = sandbox.issue_key(workspace=ws.slug)  # another key of the same workspace
    email = "pending@clinic.example"
    base = ws.url
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        made = httpx.post(
            f"{base}/members", json={"email": email, "role": "member"}, headers=ws.headers
        )
        assert made.status_code == 201
        http.post(f"{base}/call-tags", json={"name": "spam", "color": "#123456"}).raise_for_status()

        def route(method: str, path: str, body: Any = None) -> Callable[[], None]:
            def write() -> None:
                http.request(method, base + path, json=body).raise_for_status()

            return write

        made_ids: list[str] = []

        def managed_key() -> None:
            got = http.post(
                f"{base}/api-keys",
                json={"name": "crm", "mode": "test", "scopes": ["settings:read"]},
            )
            assert got.status_code == 201
            made_ids.append(got.json()["id"])

        def by_other() -> None:
            got = httpx.post(
                f"{base}/call-tags",
                json={"name": "other", "color": "#123456"},
                headers=bearer(other),
            )
            assert got.status_code == 201

        writes: dict[str, Callable[[], None]] = {
            "profile": route("PATCH", "", {"name": "Renamed"}),
            "call rules": route("PATCH", "/call-rules", {"rule": {"not_tag": "spam"}}),
            "notifications": route("PATCH", "/notifications", {"billing": {"email": False}}),
            "create": route("POST", "/call-tags", {"name": "new", "color": "#123456"}),
            "update": route("PATCH", "/call-tags/new", {"color": "#654321"}),
            "delete": route("DELETE", "/call-tags/new"),
            "batch": route("POST", "/blocked-callers:batch", {"add": [{"number": "+15550100"}]}),
            "resend": route("POST", f"/members/{email}/resend"),
            "managed key": managed_key,
            "managed key revoked": lambda: route("DELETE", f"/api-keys/{made_ids[0]}")(),
            "another key": by_other,
            "admin: two-factor": lambda: sandbox.set_two_factor(
                ws.slug, f"owner@{ws.slug}.example"
            ),
            "admin: integration": lambda: sandbox.set_integration(ws.slug, "slack"),
            "admin: accept": lambda: sandbox.accept_invitation(ws.slug, email),
            "admin: key issued": lambda: sandbox.issue_key(workspace=ws.slug),
            "admin: key revoked": lambda: sandbox.revoke_key(other),
            "sql": lambda: _raw_sql(
                sandbox,
                "UPDATE items SET body = REPLACE(body, etag, 'feedfacefeedface'), "
                "etag = 'feedfacefeedface' WHERE workspace_id = :ws AND kind = 'call_tags'",
                ws.slug,
            ),
        }
        tag, body = _tag(http, ws)
        same = []
        for name, write in writes.items():
            assert http.get(f"{base}/settings", headers={"If-None-Match": tag}).status_code == 304
            write()
            got = http.get(f"{base}/settings", headers={"If-None-Match": tag})
            now = http.get(f"{base}/settings").content  # the truth: the snapshot read in full
            if got.status_code == 304:  # only when the bytes are the same
                assert now == body, name
                same.append(name)
                continue
            assert got.status_code == 200, name
            assert got.headers["etag"] != tag, name
            assert got.content == now != body, name
            tag, body = got.headers["etag"], got.content
            again = http.get(f"{base}/settings", headers={"If-None-Match": tag})
            assert again.status_code == 304, name
        # a resend within the second of the invitation writes the same bytes (times in seconds)
        assert set(same) <= {"resend"}


def test_a_revoked_key_is_refused_on_its_next_conditional_read(sandbox: SandboxServer) -> None:
    """The key is looked up on every request: revoked (by the administration or through the
    API) or re-issued by rotation, its next conditional read is a 401, not a 304."""
    ws = sandbox.new_workspace("revoked")
    reader = sandbox.issue_key(workspace=ws.slug, scopes=["settings:read"])
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        made = http.post(
            f"{ws.url}/api-keys", json={"name": "crm", "mode": "test", "scopes": ["settings:read"]}
        )
        assert made.status_code == 201
        managed, managed_id = made.json()["secret"], made.json()["id"]
    for key, revoke in (
        (reader, lambda: sandbox.revoke_key(reader)),
        (managed, lambda: _ok(httpx.delete(f"{ws.url}/api-keys/{managed_id}", headers=ws.headers))),
    ):
        with httpx.Client(headers=bearer(key), timeout=30) as http:
            tag = http.get(f"{ws.url}/settings").headers["etag"]
            for header in (tag, "*"):
                assert (
                    http.get(f"{ws.url}/settings", headers={"If-None-Match": header}).status_code
                    == 304
                )
            revoke()
            for header in (tag, "*"):
                got = http.get(f"{ws.url}/settings", headers={"If-None-Match": header})
                assert problem(got, 401)["detail"] == "the API key is unknown or revoked"


def test_rotation_refuses_the_old_secret(sandbox: SandboxServer) -> None:
    ws = sandbox.new_workspace("rotated")
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        made = http.post(
            f"{ws.url}/api-keys", json={"name": "crm", "mode": "test", "scopes": ["settings:read"]}
        )
        old = made.json()["secret"]
        tag = httpx.get(f"{ws.url}/settings", headers=bearer(old)).headers["etag"]
        cond = {"If-None-Match": tag, **bearer(old)}
        assert httpx.get(f"{ws.url}/settings", headers=cond).status_code == 304
        rotated = http.patch(f"{ws.url}/api-keys/crm", json={"rotation": 2})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
    assert problem(httpx.get(f"{ws.url}/settings", headers=cond), 401)
    fresh = httpx.get(f"{ws.url}/settings", headers=bearer(new))
    assert (
        httpx.get(
            f"{ws.url}/settings", headers={"If-None-Match": fresh.headers["etag"], **bearer(new)}
        ).status_code
        == 304
    )


def test_what_the_light_path_leaves_to_the_route(sandbox: SandboxServer) -> None:
    """A key of another workspace: 404; without the scope: 403; a query string: 422; an agency
    key reaches its sub-accounts: 304; a member's key: 304 (through the route)."""
    ws = sandbox.new_workspace("left")
    stranger = sandbox.new_workspace("stranger")
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        tag = http.get(f"{ws.url}/settings").headers["etag"]
        url = f"{ws.url}/settings"
        star = {"If-None-Match": "*"}
        assert problem(httpx.get(url, headers={**star, **stranger.headers}), 404)
        no_scope = sandbox.issue_key(workspace=ws.slug, scopes=["contacts:read"])
        assert problem(httpx.get(url, headers={**star, **bearer(no_scope)}), 403)
        assert problem(http.get(url + "?x=1", headers=star), 422)
        assert problem(httpx.get(url, headers={**star, "Authorization": "Bearer nope"}), 401)
        assert problem(httpx.get(url, headers=star), 401)
        owner = f"owner@{ws.slug}.example"
        member = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, as_user=owner))
        member = member.secret
        mine = httpx.get(url, headers=bearer(member)).headers["etag"]
        assert httpx.get(url, headers={"If-None-Match": mine, **bearer(member)}).status_code == 304
        assert http.get(url, headers={"If-None-Match": tag}).status_code == 200  # keys issued
        tag = http.get(url).headers["etag"]
        assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
    agency = sandbox.new_agency()
    sandbox.create_workspace(sub := f"{agency.name}-sub", agency=agency.name)
    sub_url = f"{sandbox.url}/v1/workspaces/{sub}/settings"
    first = httpx.get(sub_url, headers=bearer(agency.key))
    assert first.status_code == 200
    cond = {"If-None-Match": first.headers["etag"], **bearer(agency.key)}
    assert httpx.get(sub_url, headers=cond).status_code == 304


def _headers_of_304(server: SandboxServer) -> tuple[set[str], httpx.Response, SandboxWorkspace]:
    ws = server.new_workspace("headers")
    with httpx.Client(headers=ws.headers, timeout=30) as http:
        tag = http.get(f"{ws.url}/settings").headers["etag"]
        got = http.get(
            f"{ws.url}/settings", headers={"If-None-Match": tag, "X-Request-Id": "mine-1"}
        )
    assert got.status_code == 304
    return set(got.headers) - {"date"}, got, ws


def test_the_304_has_the_routes_headers(db_url: str | None) -> None:
    """The light path's 304 has the headers of the route's (a server with fault injection
    answers every request through the route): ETag, Cache-Control, the request ids, the
    workspace and the rate-limit fields; it is logged and takes no token."""
    lines: list[str] = []
    limits = {"rate_limit": 0.001, "rate_burst": 3, "ticker": lambda: 0.0}
    with running_server(db_url, access_log=lines.append, **limits) as light:
        names, got, ws = _headers_of_304(light)
        for _ in range(5):  # more 304s than the bucket holds: none is refused
            again = httpx.get(
                f"{ws.url}/settings", headers={"If-None-Match": got.headers["etag"], **ws.headers}
            )
            assert again.status_code == 304
    with running_server(db_url, faults="500=0,seed=1", **limits) as routed:
        assert routed.faults is not None
        route_names, _, _ = _headers_of_304(routed)
    assert names == route_names
    assert {"etag", "cache-control", "x-request-id", "x-client-request-id"} <= names
    assert {"wscfg-workspace", "ratelimit-policy", "ratelimit"} <= names
    assert got.headers["cache-control"] == "private, no-cache"
    assert got.headers["x-client-request-id"] == "mine-1"
    assert got.headers["ratelimit"].startswith('"default";r=2;')  # the full read's token only
    ours = [ln for ln in lines if "/settings " in ln]
    assert [ln.split()[2] for ln in ours] == ["200"] + ["304"] * 6
    assert f"rid={got.headers['x-request-id']} " in ours[1]
    assert "key=key_" in ours[1]


def test_a_schema_6_database_gets_the_triggers(tmp_path: Path) -> None:
    """A database written before the revision triggers (schema 6) gets them when opened: a
    write then bumps its workspace's version."""
    db = f"sqlite:///{tmp_path / 'old.db'}"
    admin.create_workspace(db, "old")
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        for (name,) in names.all():
            conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(text("UPDATE wscfg_schema SET version = 6"))
    engine.dispose()
    get_engine(db)  # opened: migrated
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:
        before = conn.execute(text("SELECT version FROM workspaces")).scalar_one()
        conn.execute(text("UPDATE items SET updated_at = 'x' WHERE kind = 'workspace'"))
        assert conn.execute(text("SELECT version FROM workspaces")).scalar_one() == before + 1
        assert conn.execute(text("SELECT version FROM wscfg_schema")).scalar_one() == SCHEMA_VERSION
    engine.dispose()
