"""The audit log names who wrote (a key or a member), via what (api or ui), with which client,
when and which fields; it filters by kind, key and since; `sandbox key --as-user` keys write as
a member in the UI; a version-3 file gains the new columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from wscfg.api.exchange import USER_AGENT
from wscfg.cli import cli
from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.records import SCHEMA_VERSION
from wscfg.sandbox.testing import running_server

from .conftest import bearer, problem

JANE = "jane@acme.example"


def as_user_key(db_url: str, slug: str, email: str) -> str:
    result = CliRunner().invoke(
        cli, ["sandbox", "key", "--db", db_url, "--workspace", slug, "--as-user", email]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_every_entry_names_actor_via_client_and_fields(sandbox):
    ws = sandbox.new_workspace(owner=JANE)
    base = f"{sandbox.url}/v1/workspaces/{ws.slug}"
    ui = as_user_key(sandbox.db_url, ws.slug, "Jane@Acme.example")
    other = admin.new_key(sandbox.db_url, admin.KeyRequest(workspace=ws.slug, name="zapier"))
    wscfg_ua = {"User-Agent": USER_AGENT}
    httpx.post(
        f"{base}/call-tags",
        json={"name": "spam", "color": "#ff0000"},
        headers={**bearer(ws.key), **wscfg_ua},
    ).raise_for_status()
    httpx.patch(
        f"{base}/call-tags/spam",
        json={"color": "#00ff00"},
        headers={**bearer(ui), "User-Agent": "Mozilla/5.0 (X11; Linux)"},
    ).raise_for_status()
    httpx.patch(
        f"{base}/notifications",
        json={"billing": {"email": False, "in_app": True}},
        headers={**bearer(other.secret), "User-Agent": "zapier-sync/2.1 (+https://z.example)"},
    ).raise_for_status()
    entries = httpx.get(f"{base}/audit", headers=bearer(ws.key)).json()["items"]
    notif, ui_edit, created = entries[0], entries[1], entries[2]
    assert notif["actor"] == {"type": "api_key", "name": "zapier", "key_id": other.id}
    assert (notif["via"], notif["client"], notif["fields"]) == (
        "api",
        "zapier-sync/2.1",
        ["billing.email"],
    )
    assert ui_edit["actor"]["type"] == "user" and ui_edit["actor"]["name"] == JANE
    assert (ui_edit["via"], ui_edit["client"], ui_edit["fields"]) == (
        "ui",
        "Mozilla/5.0",
        ["color"],
    )
    assert created["actor"]["name"] == "initial workspace key"
    assert (created["via"], created["client"], created["action"]) == ("api", USER_AGENT, "create")
    assert created["fields"] == ["color", "name"]
    for e in entries:
        assert datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_write_only_values_are_named_never_recorded(sandbox, workspace):
    base = workspace.url
    hook = {
        "name": "crm",
        "url": "https://hooks.example.com/a",
        "events": ["call.completed"],
        "secret": "audit-secret-never-stored",
    }
    httpx.post(f"{base}/webhooks", json=hook, headers=workspace.headers).raise_for_status()
    httpx.patch(
        f"{base}/webhooks/crm", json={"secret": "another-secret-value"}, headers=workspace.headers
    ).raise_for_status()
    r = httpx.get(f"{base}/audit", params={"kind": "webhooks"}, headers=workspace.headers)
    assert [e["fields"] for e in r.json()["items"]] == [
        ["secret"],
        ["events", "name", "secret", "url"],
    ]
    assert "audit-secret-never-stored" not in r.text and "another-secret-value" not in r.text


def test_filters_by_kind_key_and_since_with_cursor_paging(sandbox, workspace):
    base = workspace.url
    for name in ("a", "b", "c"):
        httpx.post(
            f"{base}/call-tags", json={"name": name}, headers=workspace.headers
        ).raise_for_status()
    got = httpx.get(
        f"{base}/audit",
        params=[("kind", "call_tags"), ("key", "a"), ("key", "c"), ("limit", "1")],
        headers=workspace.headers,
    ).json()
    assert [e["key"] for e in got["items"]] == ["c"]
    page2 = httpx.get(
        f"{base}/audit",
        params=[("kind", "call_tags"), ("key", "a"), ("key", "c"), ("cursor", got["next_cursor"])],
        headers=workspace.headers,
    ).json()
    assert [e["key"] for e in page2["items"]] == ["a"] and page2["next_cursor"] is None
    kinds = httpx.get(
        f"{base}/audit", params={"kind": "workspace"}, headers=workspace.headers
    ).json()
    assert [(e["kind"], e["actor"]["type"]) for e in kinds["items"]] == [("workspace", "system")]
    future = httpx.get(
        f"{base}/audit", params={"since": "2999-01-01T00:00:00+02:00"}, headers=workspace.headers
    )
    assert future.json()["items"] == []
    past = httpx.get(
        f"{base}/audit", params={"since": "2000-01-01T00:00:00Z"}, headers=workspace.headers
    )
    assert len(past.json()["items"]) == 4
    for bad in ({"since": "yesterday"}, {"since": "2026-11-27T14:03:00"}, {"who": "jane"}):
        problem(httpx.get(f"{base}/audit", params=bad, headers=workspace.headers), 422)


def test_a_filter_no_entry_can_match_is_422_on_every_database(sandbox, workspace):
    """An unknown kind, and a key with a NUL character (which PostgreSQL cannot even compare
    with text), are refused as invalid: never a 500, never a silent empty page."""
    from wscfg.sandbox.local import LocalReader

    base = workspace.url
    for params, loc in (
        ([("kind", "call_tags"), ("kind", "calltags")], ["query", "kind", 1]),
        ([("kind", "call_tags"), ("key", "a"), ("key", "sp\x00am")], ["query", "key", 1]),
    ):
        doc = problem(httpx.get(f"{base}/audit", params=params, headers=workspace.headers), 422)
        assert [e["loc"] for e in doc["errors"]] == [loc]
    if sandbox.db_url.startswith("sqlite:///"):  # the in-process reader leaves them to the API
        reader = LocalReader(Path(sandbox.db_url.removeprefix("sqlite:///")), workspace.key)
        assert reader.audit(workspace.slug, ["calltags"], None) is None
        assert reader.audit(workspace.slug, ["call_tags"], ["sp\x00am"]) is None
        assert reader.audit(workspace.slug, ["call_tags"], ["spam"]) == []


def test_as_user_needs_an_existing_member(sandbox, workspace, tmp_path):
    runner = CliRunner()
    args = ["sandbox", "key", "--db", sandbox.db_url, "--workspace", workspace.slug]
    result = runner.invoke(cli, [*args, "--as-user", "nobody@acme.example"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: nobody@acme.example is not a member of '{workspace.slug}'; invite them first\n"
    )
    owner = f"owner@{workspace.slug}.example"
    result = runner.invoke(cli, [*args, "--as-user", owner, "--name", "click-stand-in"])
    assert result.exit_code == 0
    assert f"writing as {owner} via the UI for workspace {workspace.slug!r}" in result.stderr


def test_a_version_3_file_is_migrated(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v3.db'}"
    key = admin.create_workspace(db, "old")
    named = admin.new_key(db, admin.KeyRequest(workspace="old", name="deploy"))
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:  # what version 3 wrote: an actor id only, no fields
        conn.execute(text("DROP INDEX audit_item"))
        for column in ("actor_type", "actor_name", "via", "client", "fields"):
            conn.execute(text(f"ALTER TABLE audit DROP COLUMN {column}"))
        conn.execute(text("ALTER TABLE api_keys DROP COLUMN as_user"))
        for column in ("managed", "mode", "description", "expires", "rotation"):  # version 5
            conn.execute(text(f"ALTER TABLE api_keys DROP COLUMN {column}"))
        conn.execute(
            text(
                "INSERT INTO audit (workspace_id, at, actor, action, kind, ident, before, after)"
                " SELECT workspace_id, '2026-01-02T03:04:05Z', :k, 'update', 'call_tags', 'x',"
                " :b, :a FROM audit LIMIT 1"
            ),
            {
                "k": named.id,
                "b": json.dumps({"name": "x"}),
                "a": json.dumps({"name": "x", "color": "#000000"}),
            },
        )
        conn.execute(text("UPDATE wscfg_schema SET version = 3"))
    engine.dispose()
    with running_server(db) as server:
        r = httpx.get(server.url + "/v1/workspaces/old/audit", headers=bearer(key))
        assert r.status_code == 200, r.text
        old = r.json()["items"][0]
        assert old["actor"] == {"type": "api_key", "name": "deploy", "key_id": named.id}
        assert (old["via"], old["client"], old["fields"]) == ("api", None, ["color"])
        assert r.json()["items"][-1]["actor"] == {"type": "system", "name": "admin"}
    with create_engine(db).connect() as conn:
        assert conn.execute(text("SELECT version FROM wscfg_schema")).scalar() == SCHEMA_VERSION
    dispose(db)


def test_the_embedded_read_path_answers_as_the_server(sandbox, workspace):
    if not sandbox.db_url.startswith("sqlite:///"):
        pytest.skip("the in-process path reads SQLite files only; PostgreSQL always takes HTTP")
    from wscfg.sandbox.local import LocalReader

    for name in ("spam", "vip"):
        httpx.post(
            f"{workspace.url}/call-tags", json={"name": name}, headers=workspace.headers
        ).raise_for_status()
    httpx.patch(
        f"{workspace.url}/notifications",
        json={"billing": {"email": False, "in_app": True}},
        headers=workspace.headers,
    ).raise_for_status()
    reader = LocalReader(Path(sandbox.db_url.removeprefix("sqlite:///")), workspace.key)
    for kinds, keys in ((["call_tags"], ["vip"]), (["call_tags", "notifications"], ["", "spam"])):
        query = [("kind", k) for k in kinds] + [("key", k) for k in keys]
        served = httpx.get(f"{workspace.url}/audit", params=query, headers=workspace.headers)
        local = reader.audit(workspace.slug, kinds, keys)
        assert local == served.json()["items"] and local


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00"])
def test_a_since_outside_the_calendar_in_utc_is_422(workspace, since):
    r = httpx.get(f"{workspace.url}/audit", params={"since": since}, headers=workspace.headers)
    doc = problem(r, 422)
    assert [e["loc"] for e in doc["errors"]] == [["query", "since"]]
