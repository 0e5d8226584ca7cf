"""The client against the real sandbox over HTTP on 127.0.0.1 (and once embedded, over ASGI)."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import time
from typing import Any

import httpx
import pytest

from wscfg.api.client import ApiClient
from wscfg.api.retry import RetryPolicy
from wscfg.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PreconditionFailed,
    ProtocolError,
)
from wscfg.model.kinds import BY_NAME

from .helpers import Loopback, Sleeps

sandbox_testing = pytest.importorskip("wscfg.sandbox.testing")
from wscfg.sandbox.app import create_app  # noqa: E402

pytestmark = pytest.mark.anyio

TAGS = BY_NAME["call_tags"]
MEMBERS = BY_NAME["members"]
CALLERS = BY_NAME["blocked_callers"]
WORKSPACE = BY_NAME["workspace"]
_n = itertools.count()


@pytest.fixture
def server(sandbox):
    """The session's real sandbox server (tests/conftest.py)."""
    return sandbox


@pytest.fixture
def ws(workspace_key):
    """A fresh workspace on the shared server: (slug, key)."""
    return workspace_key


def client(url, key, sleeps=None, **kw):
    policy = RetryPolicy(sleep=sleeps) if sleeps is not None else RetryPolicy()
    return ApiClient(url, key, retry=policy, **kw)


async def test_snapshot_is_one_request_and_items_keep_their_etags(server, ws):
    slug, key = ws
    async with client(server.url, key) as api:
        snap = await api.workspace(slug).snapshot()
    assert snap["workspace"]["slug"] == slug
    assert snap["members"][0]["email"] == f"owner@{slug}.example"
    assert all(isinstance(m["etag"], str) for m in snap["members"])
    assert isinstance(snap["call_rules"]["etag"], str)
    assert api.stats.total_requests == 1


async def test_item_lifecycle_with_etags(server, ws):
    slug, key = ws
    async with client(server.url, key) as api:
        w = api.workspace(slug)
        made = await w.create(TAGS, {"name": "new-patient", "color": "#1f8a70"})
        assert made["name"] == "new-patient" and made["etag"]
        got = await w.get_item(TAGS, "new-patient")
        assert got["etag"] == made["etag"]
        changed = await w.update(TAGS, "new-patient", {"color": "#000000"}, etag=made["etag"])
        assert changed["color"] == "#000000" and changed["etag"] != made["etag"]
        with pytest.raises(PreconditionFailed) as stale:
            await w.update(TAGS, "new-patient", {"color": "#ffffff"}, etag=made["etag"])
        assert stale.value.status == 412
        with pytest.raises(PreconditionFailed):
            await w.delete(TAGS, "new-patient", etag=made["etag"])
        await w.delete(TAGS, "new-patient", etag=changed["etag"])
        with pytest.raises(NotFoundError):
            await w.get_item(TAGS, "new-patient")
    assert api.stats.total_retries == 0


async def test_singletons(server, ws):
    slug, key = ws
    async with client(server.url, key) as api:
        w = api.workspace(slug)
        profile = await w.get_singleton(WORKSPACE)
        assert profile["slug"] == slug
        new = await w.update(WORKSPACE, "", {"name": "Acme North"}, etag=profile["etag"])
        assert new["name"] == "Acme North" and new["etag"] != profile["etag"]
        rules = await w.get_singleton(BY_NAME["call_rules"])
        done = await w.update(
            BY_NAME["call_rules"], "", {"auto_unqualify": True}, etag=rules["etag"]
        )
        assert done["auto_unqualify"] is True


async def test_keys_are_url_encoded(server, ws):
    slug, key = ws
    async with client(server.url, key) as api:
        w = api.workspace(slug)
        await w.batch_blocked_callers([{"number": "+15550100199", "note": "robocaller"}], [])
        got = await w.get_item(CALLERS, "+15550100199")
        assert got["number"] == "+15550100199" and got["note"] == "robocaller"
        member = await w.create(MEMBERS, {"email": "first+tag@acme.example", "role": "member"})
        assert member["status"] == "pending"
        again = await w.get_item(MEMBERS, "first+tag@acme.example")
        assert again["email"] == "first+tag@acme.example"
        resent = await w.resend_invitation("first+tag@acme.example")
        assert resent["status"] == "pending" and resent["etag"]
        await w.delete(MEMBERS, "first+tag@acme.example", etag=resent["etag"])
        await w.delete(CALLERS, "+15550100199", etag=got["etag"])
    assert api.stats.routes["GET blocked-callers/{key}"] == 1


async def test_paging_follows_the_cursor(server, ws):
    slug, key = ws
    async with client(server.url, key) as api:
        w = api.workspace(slug)
        await asyncio.gather(*(w.create(TAGS, {"name": f"tag-{i:02d}"}) for i in range(12)))
        api.stats.reset()
        tags = await w.list_items(TAGS, page_size=5)
    assert [t["name"] for t in tags] == [f"tag-{i:02d}" for i in range(12)]
    assert all(t["etag"] for t in tags)
    assert api.stats.requests["GET"] == 3


async def test_ten_thousand_blocked_callers_cost_at_most_ten_requests(server, ws):
    slug, key = ws
    add = [{"number": f"+1555{i:07d}", "note": "spam"} for i in range(10_000)]
    async with client(server.url, key) as api:
        w = api.workspace(slug)
        seen: list[dict[str, int]] = []
        counts = await w.batch_blocked_callers(add, [], on_chunk=seen.append)
        assert api.stats.total_requests <= 10
        assert counts == {
            "added": 10_000,
            "updated": 0,
            "removed": 0,
            "requests": 2,
            "conflicts": [],
        }
        assert len(seen) == 2
        again = await w.batch_blocked_callers(
            [{"number": "+15550000000", "note": "changed"}], ["+15550000001", "+15550000002"]
        )
        assert again == {"added": 0, "updated": 1, "removed": 2, "requests": 1, "conflicts": []}
        api.stats.reset()
        snap = await w.snapshot()
    assert len(snap["blocked_callers"]) == 9_998
    assert api.stats.total_requests == 1  # a read costs one request whatever the item count


async def test_another_workspace_is_not_reachable(server, ws):
    _, key = ws
    other = f"other-{os.getpid()}-{next(_n)}"
    server.create_workspace(other)
    async with client(server.url, key) as api:
        with pytest.raises(NotFoundError):
            await api.workspace(other).snapshot()


async def test_a_bad_key_is_an_auth_error_that_does_not_show_it(server, ws):
    slug, _ = ws
    bad = "wsk_not_a_real_key_0123456789"
    async with client(server.url, bad) as api:
        with pytest.raises(AuthError) as info:
            await api.workspace(slug).snapshot()
    assert info.value.status == 401 and bad not in str(info.value)


async def test_agency_lists_and_creates_sub_accounts(server):
    agency_key = server.new_agency().key
    slug = f"sub-{os.getpid()}-{next(_n)}"
    async with client(server.url, agency_key) as api:
        made = await api.create_workspace({"slug": slug, "name": "Sub", "timezone": "UTC"})
        assert made["slug"] == slug and made["etag"]
        listed = await api.list_workspaces()
        assert [w["slug"] for w in listed] == [slug]
        snap = await api.workspace(slug).snapshot()
        assert snap["workspace"]["name"] == "Sub"


async def test_rate_limit_429_retry_after_is_honoured(db_url):
    # 2 at once, one more every 2 s; someone else spends the bucket first, so the client's
    # first request meets the 429 it could not foresee (afterwards it paces itself).
    with sandbox_testing.running_server(db_url, rate_limit=0.5, rate_burst=2) as srv:
        slug = sandbox_testing.unique("limited")
        key = srv.create_workspace(slug)
        waits: list[float] = []

        async def real_sleep(seconds: float) -> None:
            waits.append(seconds)
            await asyncio.sleep(seconds)

        url = f"{srv.url}/v1/workspaces/{slug}/settings"
        while httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code != 429:
            pass
        policy = RetryPolicy(sleep=real_sleep)
        async with ApiClient(srv.url, key, retry=policy) as api:
            started = time.monotonic()
            snaps = await asyncio.gather(*(api.workspace(slug).snapshot() for _ in range(2)))
            elapsed = time.monotonic() - started
    assert all(s["workspace"]["slug"] == slug for s in snaps)
    assert api.stats.total_retries >= 1
    assert waits and all(w >= 1.0 for w in waits)  # Retry-After: 2 (whole seconds), never less
    assert elapsed >= 2.0


# ---- answers lost after the server committed (a reset between commit and reply) -----------


class LoseAnswers:
    """Wraps the sandbox app: matching requests run to completion (the write commits), then
    the connection is dropped mid-answer, as a reset after the commit would."""

    def __init__(self, app: Any, method: str, times: int = 1) -> None:
        self.app = app
        self.method = method
        self.times = times
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append((scope["method"], scope["raw_path"].decode(), headers))
        if scope["method"] != self.method or self.times <= 0:
            await self.app(scope, receive, send)
            return
        self.times -= 1
        answer: dict[str, Any] = {}

        async def swallow(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer.update(message)

        await self.app(scope, receive, swallow)  # committed; the answer goes nowhere
        kept = [(k, v) for k, v in answer["headers"] if k.lower() != b"content-length"]
        await send(
            {
                "type": "http.response.start",
                "status": answer["status"],
                "headers": [*kept, (b"content-length", b"1000")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("answer lost after commit")


@pytest.fixture
def lossy():
    """A sandbox app behind LoseAnswers on loopback: (wrapper, url, db_url)."""
    from wscfg.sandbox import admin

    with tempfile.TemporaryDirectory(prefix="wscfg-api-") as tmp:
        db_url = "sqlite:///" + os.path.join(tmp, "sandbox.db")
        wrapper = LoseAnswers(create_app(db_url), method="")
        with Loopback(wrapper) as srv:
            key = admin.create_workspace(db_url, "acme")
            yield wrapper, srv.url, key
        from wscfg.sandbox.db import dispose

        dispose(db_url)


async def test_create_retried_after_a_lost_answer_creates_one_item(lossy):
    wrapper, url, key = lossy
    wrapper.method, wrapper.times = "POST", 1
    sleeps = Sleeps()
    async with client(url, key, sleeps) as api:
        w = api.workspace("acme")
        made = await w.create(TAGS, {"name": "once", "color": "#123456"})
        tags = await w.list_items(TAGS)
    assert made["name"] == "once" and made["etag"]
    assert [t["name"] for t in tags] == ["once"]
    posts = [h for m, _, h in wrapper.seen if m == "POST"]
    assert len(posts) == 2 and posts[0]["idempotency-key"] == posts[1]["idempotency-key"]
    assert api.stats.retries["POST"] == 1


async def test_batch_retried_after_a_lost_answer_is_applied_once(lossy):
    wrapper, url, key = lossy
    wrapper.method, wrapper.times = "POST", 1
    async with client(url, key, Sleeps()) as api:
        w = api.workspace("acme")
        add = [{"number": f"+1555000{i:04d}"} for i in range(50)]
        counts = await w.batch_blocked_callers(add, [])
        snap = await w.snapshot()
    assert counts["added"] == 50  # the replayed first answer, not "0 added, 50 updated"
    assert len(snap["blocked_callers"]) == 50


async def test_patch_retried_after_a_lost_answer_is_confirmed(lossy):
    wrapper, url, key = lossy
    async with client(url, key, Sleeps()) as api:
        w = api.workspace("acme")
        made = await w.create(TAGS, {"name": "t", "color": "#111111"})
        wrapper.method, wrapper.times = "PATCH", 1
        done = await w.update(TAGS, "t", {"color": "#222222"}, etag=made["etag"])
    assert done["color"] == "#222222" and done["etag"] != made["etag"]
    methods = [m for m, _, _ in wrapper.seen]
    assert methods[-3:] == ["PATCH", "PATCH", "GET"]  # retry got 412, the read confirmed it


async def test_delete_retried_after_a_lost_answer_succeeds(lossy):
    wrapper, url, key = lossy
    async with client(url, key, Sleeps()) as api:
        w = api.workspace("acme")
        made = await w.create(TAGS, {"name": "t"})
        wrapper.method, wrapper.times = "DELETE", 1
        await w.delete(TAGS, "t", etag=made["etag"])
        assert await w.list_items(TAGS) == []


# ---- embedded mode: the same client over httpx.ASGITransport --------------------------------


async def test_embedded_transport_speaks_to_the_app_in_process(tmp_path):
    from wscfg.sandbox import admin

    db_url = "sqlite:///" + str(tmp_path / "embedded.db")
    key = admin.create_workspace(db_url, "acme")
    transport = httpx.ASGITransport(app=create_app(db_url))
    async with ApiClient("http://embedded", key, transport=transport) as api:
        snap = await api.workspace("acme").snapshot()
        tag = await api.workspace("acme").create(TAGS, {"name": "x"})
        with pytest.raises(ProtocolError, match="belongs to workspace 'acme', not 'acme-two'"):
            await _misrouted(api)
    assert snap["workspace"]["slug"] == "acme" and tag["etag"]


async def _misrouted(api: ApiClient) -> None:
    # a request whose answer is about another workspace than the one it claims to be for
    await api.request(
        "GET", "/v1/workspaces/acme/settings", workspace="acme-two", route="GET settings"
    )


async def test_a_404_names_the_base_url_only_before_anything_answered(server, ws):
    slug, key = ws
    async with client(server.url + "/v1", key) as api:
        assert api.base_url == server.url
        with pytest.raises(NotFoundError) as first:
            await api.workspace(slug).get_item(TAGS, "nope")
        await api.workspace(slug).snapshot()
        with pytest.raises(NotFoundError) as later:
            await api.workspace(slug).get_item(TAGS, "nope")
    assert api.base_url_hint() in first.value.detail
    assert "base URL" not in later.value.detail


async def test_a_create_someone_else_just_made_the_same_is_done(server, ws):
    """Two identical applies racing: the loser's create meets 409 on its first attempt. The
    item holds exactly what it sent, so that is success (the item, with its etag)."""
    slug, key = ws
    async with client(server.url, key) as api, client(server.url, key) as other:
        w = api.workspace(slug)
        first = await other.workspace(slug).create(TAGS, {"name": "same", "color": "#1f8a70"})
        made = await w.create(TAGS, {"name": "same", "color": "#1f8a70"})
        assert made["etag"] == first["etag"] and made["color"] == "#1f8a70"
        assert api.stats.routes["POST call-tags"] == 1  # no retry: read back once
        assert api.stats.total_retries == 0


async def test_a_create_someone_else_just_made_otherwise_is_a_clean_conflict(server, ws):
    slug, key = ws
    async with client(server.url, key) as api, client(server.url, key) as other:
        await other.workspace(slug).create(TAGS, {"name": "taken", "color": "#000000"})
        with pytest.raises(ConflictError) as info:
            await api.workspace(slug).create(TAGS, {"name": "taken", "color": "#1f8a70"})
    assert info.value.status == 409
    assert "created by someone else meanwhile, with other values than this plan creates" in str(
        info.value
    )
    assert "nothing was overwritten" in str(info.value)
