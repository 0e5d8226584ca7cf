"""The embedded sandbox's in-process read path (wscfg.sandbox.local) answers with the bytes the
API answers over HTTP, under the same key rules, and declines whatever it does not handle so
that the full path answers instead."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from wscfg.embedded import EmbeddedClient
from wscfg.errors import NotFoundError
from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.local import LocalReader, NotReachable
from wscfg.sandbox.records import WRITE
from wscfg.sandbox.testing import unique


@pytest.fixture
def db_path(sandbox) -> Path:
    if not sandbox.db_url.startswith("sqlite:///"):
        pytest.skip("the in-process path reads the embedded sandbox's SQLite file")
    return Path(sandbox.db_url.removeprefix("sqlite:///"))


def http_get(sandbox, key: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=30) as client:
        resp = client.get(path)
    resp.raise_for_status()
    return resp


def fill(sandbox, key: str, slug: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    base = f"/v1/workspaces/{slug}"
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=30) as client:
        for path, body in [
            ("/call-tags", {"name": "spam", "color": "#f80"}),
            ("/roles", {"name": "desk", "permissions": ["contacts:read"]}),
            ("/members", {"email": "Desk@Example.com", "role": "desk"}),
            ("/members", {"email": "b@example.com", "role": "member"}),
            ("/webhooks", {"name": "h", "url": "https://hooks.example.com/x", "secret": "s3"}),
            ("/blocked-callers:batch", {"add": [{"number": "+15550100100", "note": "n"}]}),
        ]:
            client.post(base + path, json=body).raise_for_status()
        client.patch(base + "/call-rules", json={"rule": {"not_tag": "spam"}}).raise_for_status()


def test_snapshot_is_byte_for_byte_the_api_answer(sandbox, workspace, db_path):
    fill(sandbox, workspace.key, workspace.slug)
    local = LocalReader(db_path, workspace.key).snapshot_text(workspace.slug)
    served = http_get(sandbox, workspace.key, f"/v1/workspaces/{workspace.slug}/settings").text
    assert local == served
    assert '"email":"desk@example.com"' in local


def test_an_expired_invitation_reads_as_the_api_reads_it(sandbox, workspace, db_path):
    fill(sandbox, workspace.key, workspace.slug)
    # The invitation's expiry passes (set in the sandbox's own table, as time would).
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE items SET expires_at = '2001-01-01T00:00:00Z' WHERE kind = 'members' "
            "AND ident = 'b@example.com' AND workspace_id = "
            "(SELECT id FROM workspaces WHERE slug = ?)",
            (workspace.slug,),
        )
    local = LocalReader(db_path, workspace.key).snapshot_text(workspace.slug)
    served = http_get(sandbox, workspace.key, f"/v1/workspaces/{workspace.slug}/settings").text
    assert local == served
    assert '"status":"expired"' in local


def test_the_workspace_list_is_the_api_list(sandbox, db_path):
    agency = sandbox.new_agency()
    slugs = sorted(unique("agws") for _ in range(3))
    for slug in reversed(slugs):
        sandbox.create_workspace(slug, agency=agency.name)
    sandbox.new_workspace()  # not the agency's: in neither list
    local = LocalReader(db_path, agency.key).workspaces()
    served = http_get(sandbox, agency.key, "/v1/workspaces").json()
    assert served["next_cursor"] is None
    assert local == served["items"]
    assert [w["slug"] for w in local] == slugs


def test_a_key_reads_only_what_it_reaches(sandbox, workspace, db_path):
    other = sandbox.new_workspace()
    reader = LocalReader(db_path, workspace.key)
    with pytest.raises(NotReachable):
        reader.snapshot_text(other.slug)
    with pytest.raises(NotReachable):
        reader.snapshot_text(unique("missing"))
    assert [w["slug"] for w in reader.workspaces() or []] == [workspace.slug]


@pytest.mark.parametrize("case", ["unknown", "revoked", "write-only", "malformed"])
def test_keys_the_api_refuses_are_left_to_the_api(sandbox, workspace, db_path, case):
    if case == "unknown":
        key = "wscfg_" + "x" * 40
    elif case == "malformed":
        key = "not-a-key"
    elif case == "revoked":
        key = sandbox.issue_key(workspace=workspace.slug)
        sandbox.revoke_key(key)
    else:
        key = sandbox.issue_key(workspace=workspace.slug, scopes=[WRITE])
    reader = LocalReader(db_path, key)
    assert reader.snapshot_text(workspace.slug) is None
    assert reader.workspaces() is None


def test_no_database_or_another_schema_version_is_left_to_the_full_path(tmp_path):
    missing = LocalReader(tmp_path / "none.db", "wscfg_" + "x" * 40)
    assert missing.snapshot_text("acme") is None
    assert not (tmp_path / "none.db").exists()

    path = tmp_path / "sandbox.db"
    url = f"sqlite:///{path}"
    key = admin.create_workspace(url, "acme")
    try:
        assert LocalReader(path, key).snapshot_text("acme") is not None
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE wscfg_schema SET version = version + 1")
        assert LocalReader(path, key).snapshot_text("acme") is None
    finally:
        dispose(url)


def test_the_embedded_client_reads_in_process_and_fails_like_the_app(sandbox, workspace, db_path):
    fill(sandbox, workspace.key, workspace.slug)
    missing = unique("missing")

    async def run() -> tuple:
        client = EmbeddedClient(db_path, sandbox.db_url, workspace.key)
        try:
            snap = await client.workspace(workspace.slug).snapshot()
            full = await client.remote.workspace(workspace.slug).snapshot()
            listed = await client.list_workspaces()
            reads = client.local_reads
            errors = []
            for ws in (client.workspace(missing), client.remote.workspace(missing)):
                with pytest.raises(NotFoundError) as info:
                    await ws.snapshot()
                errors.append((info.value.status, info.value.message))
            return snap, full, listed, reads, errors
        finally:
            await client.aclose()

    snap, full, listed, reads, (local_error, app_error) = asyncio.run(run())
    assert snap == full
    assert [w["slug"] for w in listed] == [workspace.slug]
    assert reads == 2
    assert (
        local_error
        == app_error
        == (
            404,
            f"404 Not Found: no such workspace (GET /v1/workspaces/{missing}"
            "/settings on the embedded sandbox)",
        )
    )


def test_an_expired_key_is_declined_as_the_api_refuses_it(sandbox, workspace, db_path):
    """A managed key past its last day gets 401 from the API; the in-process path declines
    it (the full path answers), never reads with it."""
    headers = {"Authorization": f"Bearer {workspace.key}"}
    made = httpx.post(
        f"{sandbox.url}/v1/workspaces/{workspace.slug}/api-keys",
        headers=headers,
        json={"name": "old", "mode": "live", "scopes": ["settings:read"]},
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    with sqlite3.connect(db_path) as conn:  # its last day passes, as time would
        conn.execute("UPDATE api_keys SET expires = '2001-01-01' WHERE name = 'old'")
    served = httpx.get(
        f"{sandbox.url}/v1/workspaces/{workspace.slug}/settings",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert served.status_code == 401
    reader = LocalReader(db_path, secret)
    assert reader.snapshot_text(workspace.slug) is None
    assert reader.workspaces() is None
