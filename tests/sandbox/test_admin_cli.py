"""The admin library, the schema version, and `wscfg sandbox init|serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from wscfg.cli import cli
from wscfg.errors import WscfgError
from wscfg.sandbox import admin
from wscfg.sandbox.db import SCHEMA_VERSION, dispose
from wscfg.sandbox.testing import running_server, served

from .conftest import bearer, problem


def test_admin_library(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")  # a plain path is a SQLite file
    agency_key = admin.create_agency(db, "Acme Agency")
    with pytest.raises(WscfgError, match="already exists"):
        admin.create_agency(db, "Acme Agency")
    ws_key = admin.create_workspace(db, "acme-north", name="Acme North", agency="Acme Agency")
    sub_key = admin.create_workspace(db, "acme-south", agency=agency_key)  # agency by key
    with pytest.raises(WscfgError, match="already exists"):
        admin.create_workspace(db, "acme-north")
    with pytest.raises(WscfgError, match="slug"):
        admin.create_workspace(db, "Not A Slug")
    with pytest.raises(WscfgError, match="no agency"):
        admin.create_workspace(db, "orphan", agency="Nobody")
    reader = admin.issue_key(db, workspace="acme-north", scopes=["settings:read"])
    with pytest.raises(WscfgError, match="scopes"):
        admin.issue_key(db, workspace="acme-north", scopes=["admin:all"])
    with pytest.raises(WscfgError, match="exactly one"):
        admin.issue_key(db)
    for _ in range(8):
        admin.issue_key(db, workspace="acme-north")
    with pytest.raises(WscfgError, match="10 active"):
        admin.issue_key(db, workspace="acme-north")
    admin.revoke_key(db, reader)
    with pytest.raises(WscfgError, match="no such active"):
        admin.revoke_key(db, reader)
    assert len({agency_key, ws_key, sub_key}) == 3
    assert all(k.startswith("wscfg_") and len(k) == 46 for k in (agency_key, ws_key, sub_key))
    # keys are stored hashed only
    raw = (tmp_path / "a.db").read_bytes()
    for key in (agency_key, ws_key, sub_key):
        assert key.encode() not in raw
    with running_server(db) as server:
        r = httpx.get(server.url + "/v1/workspaces", headers=bearer(agency_key))
        assert [w["slug"] for w in r.json()["items"]] == ["acme-north", "acme-south"]
        assert r.json()["items"][0]["name"] == "Acme North"
        problem(httpx.get(server.url + "/v1/workspaces/acme-north", headers=bearer(reader)), 401)


def test_schema_version_is_recorded_and_newer_files_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'v.db'}"
    admin.create_agency(db, "A")
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT version FROM wscfg_schema")).scalar() == SCHEMA_VERSION
        conn.execute(text("UPDATE wscfg_schema SET version = :v"), {"v": SCHEMA_VERSION + 1})
        mode = conn.execute(text("PRAGMA journal_mode")).scalar()
    engine.dispose()
    assert mode == "wal"
    with pytest.raises(WscfgError, match="newer wscfg"):
        admin.create_agency(db, "B")
    dispose(db)


def test_cli_init(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "cli.db")
    r = runner.invoke(cli, ["sandbox", "init", "--db", db, "--agency", "Acme Agency"])
    assert r.exit_code == 0, r.output
    agency_key = r.stdout.strip()
    assert agency_key.startswith("wscfg_")
    assert "shown only once" in r.stderr
    r = runner.invoke(
        cli,
        [
            "sandbox",
            "init",
            "--db",
            db,
            "--workspace",
            "acme",
            "--parent",
            "Acme Agency",
            "--timezone",
            "Europe/Berlin",
            "--read-only",
        ],
    )
    assert r.exit_code == 0, r.output
    ws_key = r.stdout.strip()
    r = runner.invoke(cli, ["sandbox", "init", "--db", db, "--workspace", "acme"])
    assert r.exit_code == 1
    assert r.stderr.strip() == "Error: workspace 'acme' already exists"
    r = runner.invoke(cli, ["sandbox", "init", "--db", db])
    assert r.exit_code == 1 and "exactly one" in r.stderr  # usage errors exit 1 (DESIGN §5)
    with running_server(db) as server:
        got = httpx.get(server.url + "/v1/workspaces/acme", headers=bearer(ws_key))
        assert got.json()["timezone"] == "Europe/Berlin"
        problem(
            httpx.patch(
                server.url + "/v1/workspaces/acme", json={"name": "x"}, headers=bearer(ws_key)
            ),
            403,
        )
        assert (
            httpx.get(server.url + "/v1/workspaces/acme", headers=bearer(agency_key)).status_code
            == 200
        )
    dispose(db)


def test_cli_serve(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    key = admin.create_workspace(db, "served")
    dispose(db)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    argv = ["sandbox", "serve", "--port", "0", "--db", db]
    argv += ["--rate-limit", "100:200", "--invite-ttl", "2h"]
    with served(argv, log, env) as (_proc, url):
        r = httpx.post(
            f"{url}/v1/workspaces/served/members",
            json={"email": "n@x.example", "role": "member"},
            headers=bearer(key),
        )
        assert r.status_code == 201
        invited = r.json()
        assert invited["expires_at"] > invited["invited_at"]
    port = int(url.rsplit(":", 1)[1])
    assert port > 0
    assert f"wscfg sandbox: serving http://127.0.0.1:{port}/v1 (database " in log.read_text()


def test_cli_serve_on_a_port_in_use_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "wscfg",
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--db",
                str(tmp_path / "s.db"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use; choose another "
        "with --port (--port 0 picks a free one)\n"
    )


def test_cli_serve_refuses_a_port_out_of_range() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wscfg", "sandbox", "serve", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "'--port'" in done.stderr and "99999" in done.stderr
    assert "serving" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate-limit", "fast"], "RATE[:BURST]"),
        (["--invite-ttl", "soon"], "duration"),
    ],
)
def test_cli_serve_rejects_bad_options(args: list[str], message: str) -> None:
    r = CliRunner().invoke(cli, ["sandbox", "serve", *args])
    assert r.exit_code == 1 and message in r.stderr


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    """Schema 1 (items.data + 32-hex ETags) is migrated in place on first use."""
    import json

    db = f"sqlite:///{tmp_path / 'old.db'}"
    key = admin.create_workspace(db, "old")
    dispose(db)
    engine = create_engine(db)
    with engine.begin() as conn:  # turn the file back into what version 1 wrote
        rows = conn.execute(text("SELECT workspace_id, kind, ident, body FROM items")).all()
        conn.execute(text("ALTER TABLE items ADD COLUMN data TEXT"))
        for ws_id, kind, ident, body in rows:
            data = json.loads(body)
            data.pop("etag")
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
            conn.execute(
                text(
                    "UPDATE items SET data = :d, etag = :e"
                    " WHERE workspace_id = :w AND kind = :k AND ident = :i"
                ),
                {"d": canonical, "e": "0" * 32, "w": ws_id, "k": kind, "i": ident},
            )
        conn.execute(text("ALTER TABLE items DROP COLUMN body"))
        conn.execute(text("UPDATE wscfg_schema SET version = 1"))
    engine.dispose()
    with running_server(db) as server:
        r = httpx.get(server.url + "/v1/workspaces/old/settings", headers=bearer(key))
        assert r.status_code == 200
        profile = httpx.get(server.url + "/v1/workspaces/old", headers=bearer(key))
        assert (
            r.json()["workspace"]
            == profile.json()
            == {
                "slug": "old",
                "name": "old",
                "timezone": "UTC",
                "etag": profile.headers["etag"].strip('"'),
            }
        )
        assert len(profile.json()["etag"]) == 16
    engine = create_engine(db)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version FROM wscfg_schema")).scalar() == SCHEMA_VERSION == 8
        )
    engine.dispose()


def test_cli_key_and_revoke(tmp_path: Path) -> None:
    """`wscfg sandbox key` issues another key for an existing workspace (printed once, on
    stdout); `wscfg sandbox revoke` revokes one by id or, from stdin, by the key itself."""
    runner = CliRunner()
    db = str(tmp_path / "keys.db")
    first = runner.invoke(cli, ["sandbox", "init", "--db", db, "--workspace", "acme"])
    assert first.exit_code == 0, first.output
    r = runner.invoke(
        cli, ["sandbox", "key", "--db", db, "--workspace", "acme", "--read-only", "--name", "ci"]
    )
    assert r.exit_code == 0, r.output
    reader = r.stdout.strip()
    assert reader.startswith("wscfg_") and reader not in r.stderr
    key_id = r.stderr.split("Issued key ", 1)[1].split(" ", 1)[0]
    assert r.stderr.startswith(f"Issued key {key_id} (settings:read) for workspace 'acme'")
    r = runner.invoke(cli, ["sandbox", "key", "--db", db, "--workspace", "acme"])
    assert r.exit_code == 0, r.output
    writer = r.stdout.strip()
    assert "(every scope)" in r.stderr
    with running_server(db) as server:
        base = server.url + "/v1/workspaces/acme"
        keys = httpx.get(base + "/api-keys", headers=bearer(writer)).json()["items"]
        assert {k["id"]: k.get("name") for k in keys}[key_id] == "ci"
        assert len(keys) == 3
        assert httpx.get(base, headers=bearer(reader)).status_code == 200
        problem(httpx.patch(base, json={"name": "x"}, headers=bearer(reader)), 403)
        r = runner.invoke(cli, ["sandbox", "revoke", "--db", db, key_id])
        assert (r.exit_code, r.stderr.strip()) == (0, f"Revoked key {key_id} in sqlite:///{db}.")
        problem(httpx.get(base, headers=bearer(reader)), 401)
        r = runner.invoke(cli, ["sandbox", "revoke", "--db", db, "-"], input=writer + "\n")
        assert r.exit_code == 0 and writer not in r.output
        problem(httpx.get(base, headers=bearer(writer)), 401)
        audit = httpx.get(base + "/audit", headers=bearer(first.stdout.strip())).json()["items"]
        assert [(e["action"], e["kind"], e["actor"]["name"]) for e in audit[:4]] == [
            ("revoke", "api_keys", "admin"),
            ("revoke", "api_keys", "admin"),
            ("create", "api_keys", "admin"),
            ("create", "api_keys", "admin"),
        ]
    dispose(db)
    for args, message in (
        (["key", "--db", db, "--workspace", "nope"], "Error: no workspace 'nope'"),
        (["revoke", "--db", db, key_id], "Error: no such active API key"),
        (
            ["revoke", "--db", db, "wscfg_secret"],
            "Error: give the key's id (key_…), or - to read the key from standard input; "
            "a key on the command line would stay in the shell history",
        ),
        (
            ["key", "--db", db, "--workspace", "acme", "--name", " "],
            "Error: a key's name has 1 to 100 characters",
        ),
    ):
        r = runner.invoke(cli, ["sandbox", *args])
        assert r.exit_code == 1, r.output
        assert r.stderr.strip().splitlines()[-1] == message
        assert "wscfg_secret" not in r.stderr
    for _ in range(9):
        assert (
            runner.invoke(cli, ["sandbox", "key", "--db", db, "--workspace", "acme"]).exit_code == 0
        )
    r = runner.invoke(cli, ["sandbox", "key", "--db", db, "--workspace", "acme"])
    assert (r.exit_code, r.stderr.strip()) == (
        1,
        "Error: workspace 'acme' already has 10 active API keys; revoke one first",
    )
    dispose(db)


@pytest.mark.parametrize(
    "args",
    [
        ["key", "--workspace", "acme"],
        ["revoke", "key_0123"],
        ["two-factor", "--workspace", "acme", "a@x.example"],
        ["integration", "--workspace", "acme", "hubspot"],
    ],
)
def test_admin_commands_never_create_a_database(tmp_path: Path, args: list[str]) -> None:
    """A mistyped --db is an error, not a new empty database (only init and serve make one)."""
    db = tmp_path / "typo" / "sandbox.db"
    result = CliRunner().invoke(cli, ["sandbox", *args[:1], "--db", str(db), *args[1:]])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no sandbox database at {db} (create one with `wscfg sandbox init`, or pass --db)\n"
    )
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    "args", [["init", "--workspace", "acme"], ["serve", "--port", "0"]], ids=["init", "serve"]
)
def test_init_and_serve_make_no_folders_for_a_db(tmp_path: Path, args: list[str]) -> None:
    """`--db /nonexistent/dir/x.db` is an error naming the folder, not a tree of new folders."""
    db = tmp_path / "no" / "such" / "x.db"
    result = CliRunner().invoke(cli, ["sandbox", *args[:1], "--db", str(db), *args[1:]])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no folder {tmp_path / 'no' / 'such'} for the sandbox database {db} "
        "(create it first, or pick another --db)\n"
    )
    assert not (tmp_path / "no").exists()
