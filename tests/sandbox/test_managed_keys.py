"""API keys managed as settings (the api_keys kind): create by name with a mode, the secret in
the create answer only, rotation re-issues (new secret, the old key revoked), revoke by name,
the platform's own keys stay out of the kind, and a version 4 database migrates."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import create_engine, text, update

from wscfg.sandbox import admin
from wscfg.sandbox.db import api_keys, dispose, get_engine, transaction
from wscfg.sandbox.records import SCHEMA_VERSION
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

from .conftest import bearer, problem

KEY = {"name": "crm", "mode": "test", "scopes": ["contacts:read", "settings:read"]}


def test_create_rotate_revoke(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = f"{workspace.url}/api-keys"
    made = api.post(base, json=KEY | {"description": "CRM sync", "expires": "2099-12-31"})
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body.pop("secret")
    assert secret.startswith("wscfg_") and body["prefix"] == secret[:10]
    assert body["rotation"] == 0 and body["id"].startswith("key_")
    problem(api.post(base, json=KEY), 409)  # the name is taken
    # the secret is in that answer only: not in reads, the snapshot or the audit log
    item = api.get(f"{base}/crm")
    assert item.status_code == 200
    snap = api.get(f"{workspace.url}/settings").json()
    assert [k["name"] for k in snap["api_keys"]] == ["crm"]
    assert snap["api_key_use"] == {"caller": None, "unmanaged": 1, "limit": 10}
    everything = item.text + api.get(base).text + str(snap) + api.get(f"{workspace.url}/audit").text
    assert secret not in everything
    with httpx.Client(base_url=workspace.url, headers=bearer(secret)) as crm:
        assert crm.get("/settings").json()["api_key_use"]["caller"] == "crm"
        problem(crm.patch("", json={"name": "x"}), 403)  # no settings:write

    # rotation re-issues: a new secret, the old key revoked, same name
    stale = '"0000000000000000"'
    problem(api.patch(f"{base}/crm", json={"rotation": 1}, headers={"If-Match": stale}), 412)
    etag = f'"{item.json()["etag"]}"'
    rotated = api.patch(f"{base}/crm", json={"rotation": 1}, headers={"If-Match": etag})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != secret and rotated.json()["id"] != body["id"]
    assert httpx.get(workspace.url, headers=bearer(secret)).status_code == 401
    assert httpx.get(workspace.url, headers=bearer(new_secret)).status_code == 200
    # other fields change in place, no new secret
    changed = api.patch(f"{base}/crm", json={"scopes": ["settings:read"]})
    assert "secret" not in changed.json() and changed.json()["scopes"] == ["settings:read"]
    assert api.get(f"{base}/crm").json()["id"] == rotated.json()["id"]

    assert api.delete(f"{base}/crm").status_code == 204
    assert httpx.get(workspace.url, headers=bearer(new_secret)).status_code == 401
    problem(api.get(f"{base}/crm"), 404)
    assert api.get(f"{workspace.url}/settings").json()["api_keys"] == []
    audit = api.get(f"{workspace.url}/audit", params={"kind": "api_keys", "key": "crm"}).json()
    assert [e["action"] for e in audit["items"]] == ["delete", "update", "update", "create"]
    assert new_secret not in str(audit)


def test_revoking_a_managed_key_by_id_leaves_the_kind(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    base = f"{workspace.url}/api-keys"
    key_id = api.post(base, json=KEY).json()["id"]
    assert api.delete(f"{base}/{key_id}").status_code == 204
    assert api.get(f"{workspace.url}/settings").json()["api_keys"] == []


def test_an_expired_key_answers_401(
    sandbox: SandboxServer, api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    made = api.post(f"{workspace.url}/api-keys", json=KEY | {"expires": "2099-12-31"})
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert httpx.get(workspace.url, headers=bearer(secret)).status_code == 200
    # Its last day passes, as time would (a new key's last day must be after today, so the API
    # cannot make one that is already past it).
    with transaction(get_engine(sandbox.db_url)) as conn:
        conn.execute(
            update(api_keys).where(api_keys.c.id == made.json()["id"]).values(expires="2020-01-01")
        )
    assert httpx.get(workspace.url, headers=bearer(secret)).status_code == 401


def test_bad_keys_are_422(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    base = f"{workspace.url}/api-keys"
    problem(api.post(base, json=KEY | {"scopes": ["calls:delete"]}), 422)
    problem(api.post(base, json=KEY | {"name": "key_abc"}), 422)
    problem(
        api.post(base, json={"name": "Has Spaces", "mode": "live", "scopes": ["calls:read"]}), 422
    )
    problem(api.post(base, json={"name": "noscopes", "mode": "live"}), 422)


def test_a_version_4_database_is_migrated(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v4.db'}"
    key = admin.create_workspace(db, "old")
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:  # what version 4 wrote: keys without the v5 columns
        for column in ("managed", "mode", "description", "expires", "rotation"):
            conn.execute(text(f"ALTER TABLE api_keys DROP COLUMN {column}"))
        conn.execute(text("UPDATE wscfg_schema SET version = 4"))
    engine.dispose()
    with running_server(db) as server:
        url = server.url + "/v1/workspaces/old"
        snap = httpx.get(url + "/settings", headers=bearer(key))
        assert snap.status_code == 200, snap.text
        assert snap.json()["api_keys"] == []
        assert snap.json()["api_key_use"]["unmanaged"] == 1
        made = httpx.post(url + "/api-keys", json=KEY, headers=bearer(key))
        assert made.status_code == 201, made.text
    with create_engine(db).connect() as conn:
        assert conn.execute(text("SELECT version FROM wscfg_schema")).scalar() == SCHEMA_VERSION
        assert conn.execute(text("SELECT managed, mode FROM api_keys ORDER BY managed")).all() == [
            (0, "live"),
            (1, "test"),
        ]
    dispose(db)


def test_a_version_5_database_gets_workspace_identities(tmp_path: Path) -> None:
    """Schema 6: every workspace has a stable identity in its snapshot (``workspace_id``),
    new ones at creation, existing ones from the migration; two workspaces never share one."""
    db = f"sqlite:///{tmp_path / 'v5.db'}"
    keys = {slug: admin.create_workspace(db, slug) for slug in ("old", "older")}
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:  # what version 5 wrote: workspaces without uid
        conn.execute(text("DROP INDEX workspaces_uid"))
        conn.execute(text("ALTER TABLE workspaces DROP COLUMN uid"))
        conn.execute(text("UPDATE wscfg_schema SET version = 5"))
    engine.dispose()
    with running_server(db) as server:
        ids = {}
        for slug, key in keys.items():
            url = f"{server.url}/v1/workspaces/{slug}/settings"
            first = httpx.get(url, headers=bearer(key)).json()["workspace_id"]
            again = httpx.get(url, headers=bearer(key)).json()["workspace_id"]
            assert first == again and first.startswith("ws_") and len(first) == 19
            ids[slug] = first
        assert ids["old"] != ids["older"]
        new = server.new_workspace()
        snap = httpx.get(f"{new.url}/settings", headers=new.headers).json()
        assert snap["workspace_id"].startswith("ws_") and snap["workspace_id"] not in ids.values()
    with create_engine(db).connect() as conn:
        assert conn.execute(text("SELECT version FROM wscfg_schema")).scalar() == SCHEMA_VERSION
    dispose(db)
