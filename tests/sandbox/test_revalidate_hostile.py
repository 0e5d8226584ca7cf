"""An outside review of the conditional snapshot read (sandbox/revalidate.py, validators.py):
a ``304`` only when a full read by the same key at the same moment answers ``200`` with the
same ETag, and every other answer of the route still given. These are the inputs the first
tests did not list."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from wscfg.sandbox.records import hash_key
from wscfg.sandbox.testing import SandboxServer, running_server

from .conftest import bearer, problem


@pytest.fixture
def server(db_url: str | None) -> Iterator[SandboxServer]:
    with running_server(db_url) as started:
        yield started


def _waiting_on_items(conn: Connection, timeout: float = 60.0) -> None:
    """Wait (at most ``timeout`` s) until another session waits for a lock on ``items``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'items'::regclass")
        ).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the read never reached the items")


def test_a_full_read_racing_a_commit_answers_one_states_tag_and_bytes(
    server: SandboxServer, db_backend: str
) -> None:
    """A full read on PostgreSQL that a write commits in the middle of (its ETag known, its
    items not read yet): the answer's ETag and bytes are of one state. Read committed (each
    statement sees the latest commit) answered the old state's tag with the new state's
    bytes, which a client caches together; the old tag was then answered 304 once the
    workspace was back in the old state, and the client kept the wrong snapshot."""
    if db_backend != "postgres":
        pytest.skip("SQLite reads one snapshot per transaction already (WAL, BEGIN)")
    ws = server.new_workspace("racing")
    url = f"{ws.url}/settings"
    with httpx.Client(headers=ws.headers, timeout=120) as http:
        before = http.get(url)  # its validator is now known at this version
        assert before.status_code == 200
        engine = create_engine(server.db_url)
        got: list[httpx.Response] = []
        try:
            with engine.connect() as conn:
                ws_id = conn.execute(
                    text("SELECT id FROM workspaces WHERE slug = :s"), {"s": ws.slug}
                ).scalar_one()
                conn.commit()
                with engine.connect() as writer, writer.begin():
                    writer.execute(text("LOCK TABLE items IN ACCESS EXCLUSIVE MODE"))
                    writer.execute(
                        text(
                            "UPDATE items SET body = REPLACE(body, etag, 'feedfacefeedface'),"
                            " etag = 'feedfacefeedface'"
                            " WHERE workspace_id = :ws AND kind = 'notifications'"
                        ),
                        {"ws": ws_id},
                    )
                    reader = threading.Thread(target=lambda: got.append(http.get(url)))
                    reader.start()
                    _waiting_on_items(conn)  # the read knows its tag and waits for the items
                reader.join(timeout=120)
        finally:
            engine.dispose()
        after = http.get(url)
    assert after.content != before.content
    (racing,) = got
    assert racing.status_code == 200
    pair = (racing.headers["etag"], racing.content)
    assert pair in {
        (before.headers["etag"], before.content),
        (after.headers["etag"], after.content),
    }


@pytest.fixture
def own_db(db_url: str | None) -> Iterator[str | None]:
    """A database no other test uses (what is done to whole tables here touches no other
    test's workspaces): a fresh PostgreSQL database on the postgres run, else ``None`` (a
    fresh SQLite file)."""
    if db_url is None:
        yield None
        return
    url = make_url(db_url)
    name = f"{url.database}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_sql_that_moves_or_truncates_rows_changes_the_tag(
    own_db: str | None, db_backend: str
) -> None:
    """SQL on the database that the first triggers missed on PostgreSQL: an update moving a
    key to another workspace bumped only the workspace it went to (the one it left still
    answered 304, its api_key_use changed), and TRUNCATE fires no row trigger (every
    workspace still answered 304, and its full read the old tag with the new bytes)."""
    truncate = "TRUNCATE items" if db_backend == "postgres" else "DELETE FROM items"
    with running_server(own_db) as server:
        ws = server.new_workspace("left")
        there = server.new_workspace("there")
        moved = server.issue_key(workspace=ws.slug)  # counted in ws's api_key_use
        writes = {
            "a key moved to another workspace": (
                "UPDATE api_keys SET workspace_id = (SELECT id FROM workspaces WHERE slug = :to)"
                " WHERE secret_hash = :moved"
            ),
            "every item removed": truncate,
        }
        url = f"{ws.url}/settings"
        engine = create_engine(server.db_url)
        try:
            with httpx.Client(headers=ws.headers, timeout=60) as http:
                for name, sql in writes.items():
                    before = http.get(url)
                    tag = before.headers["etag"]
                    assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
                    with engine.begin() as conn:
                        conn.execute(text(sql), {"to": there.slug, "moved": hash_key(moved)})
                    got = http.get(url, headers={"If-None-Match": tag})
                    full = http.get(url)
                    assert full.content != before.content, name
                    assert got.status_code == 200, name
                    assert got.content == full.content, name
                    assert full.headers["etag"] == got.headers["etag"] != tag, name
        finally:
            engine.dispose()


def test_a_nul_in_the_path_names_nothing(sandbox: SandboxServer) -> None:
    """A percent-encoded NUL in a workspace's slug or an item's identity names nothing (text
    refuses control characters): 404, conditional or not. PostgreSQL cannot compare such
    text at all, and answered 500 from both the conditional path and the route."""
    ws = sandbox.new_workspace("nul")
    root = f"{sandbox.url}/v1/workspaces"
    urls = [
        f"{root}/a%00b/settings",
        f"{root}/a%00b",
        f"{ws.url}/call-tags/a%00b",
        f"{ws.url}/members/a%00b%40x.example",
    ]
    for url in urls:
        for extra in ({}, {"If-None-Match": "*"}):
            got = httpx.get(url, headers={**ws.headers, **extra})
            assert problem(got, 404)["detail"] == "no such resource", url


def test_a_write_through_another_server_changes_the_tag(db_url: str | None) -> None:
    """Two servers on one database, each with its own kept validators: a write or a
    revocation through one is seen by the other's very next conditional read (the revision
    triggers), never a 304 on the tag from before."""
    with running_server(db_url) as one, running_server(one.db_url) as two:
        ws = one.new_workspace("shared")
        url_one = f"{ws.url}/settings"
        url_two = url_one.replace(one.url, two.url)
        reader = one.issue_key(workspace=ws.slug, scopes=["settings:read"])
        with httpx.Client(headers=bearer(reader), timeout=30) as http:
            tag = http.get(url_one).headers["etag"]
            for url in (url_one, url_two):
                assert http.get(url, headers={"If-None-Match": tag}).status_code == 304
            renamed = httpx.patch(
                url_two.removesuffix("/settings"), json={"name": "Renamed"}, headers=ws.headers
            )
            assert renamed.status_code == 200, renamed.text
            got = http.get(url_one, headers={"If-None-Match": tag})
            assert got.status_code == 200
            assert got.headers["etag"] != tag
            assert got.content == http.get(url_two).content
            tag = got.headers["etag"]
            assert http.get(url_one, headers={"If-None-Match": tag}).status_code == 304
            gone = httpx.delete(
                f"{url_two.removesuffix('/settings')}/api-keys/x", headers=ws.headers
            )
            assert gone.status_code == 404  # no such managed key: nothing written
            two.revoke_key(reader)
            refused = http.get(url_one, headers={"If-None-Match": tag})
            assert problem(refused, 401)["detail"] == "the API key is unknown or revoked"
