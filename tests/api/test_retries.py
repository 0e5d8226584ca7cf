"""Retries over real HTTP (scripted server on loopback): what is retried, how long we wait,
how often, and the "did my earlier attempt land?" rules."""

from __future__ import annotations

import email.utils
import time

import pytest

from wscfg.api.client import ApiClient
from wscfg.errors import (
    ConflictError,
    HTTPStatusError,
    NotFoundError,
    PreconditionFailed,
    RateLimitedError,
    TransportError,
)
from wscfg.model.kinds import BY_NAME

from .helpers import TOKEN, Reply, fast_policy, ws_json

pytestmark = pytest.mark.anyio

TAGS = BY_NAME["call_tags"]
MEMBERS = BY_NAME["members"]
SLUG = "acme"


def client(url, sleeps, **kw):
    policy_kw = {k: kw.pop(k) for k in list(kw) if k in _POLICY}
    return ApiClient(url, TOKEN, retry=fast_policy(sleeps, **policy_kw), **kw)


_POLICY = {"max_attempts", "budget_floor", "budget_ratio", "retry_after_cap", "backoff_base"}


def lost():
    """An answer that starts and then drops the connection: the client never hears it."""
    return Reply(200, drop=True, headers={"wscfg-workspace": SLUG})


def failing_then(n, fail, ok):
    """A handler answering ``fail`` to the first ``n`` requests, then ``ok``."""
    seen = {"n": 0}

    def handler(req):
        seen["n"] += 1
        return fail(req) if seen["n"] <= n else ok(req)

    return handler


async def test_get_is_retried_after_503_with_jittered_backoff(scripted, sleeps):
    scripted.handler = failing_then(
        2, lambda r: Reply(503), lambda r: ws_json(SLUG, {"name": "x", "etag": "1"})
    )
    async with client(scripted.url, sleeps) as api:
        item = await api.workspace(SLUG).get_item(TAGS, "x")
    assert item["name"] == "x"
    assert len(scripted.requests) == 3
    assert api.stats.requests["GET"] == 3 and api.stats.retries["GET"] == 2
    assert api.stats.calls["GET"] == 1
    assert len(sleeps.calls) == 2
    assert 0 <= sleeps.calls[0] <= 0.2 and 0 <= sleeps.calls[1] <= 0.4  # full jitter bounds


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retried_statuses(scripted, sleeps, status):
    scripted.handler = failing_then(
        1, lambda r: Reply(status), lambda r: ws_json(SLUG, {"name": "x"})
    )
    async with client(scripted.url, sleeps) as api:
        await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(scripted.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 422, 501])
async def test_other_statuses_are_not_retried(scripted, sleeps, status):
    scripted.handler = lambda r: Reply(status, json={"title": "no"})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(HTTPStatusError) as info:
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert info.value.status == status
    assert len(scripted.requests) == 1 and sleeps.calls == []


async def test_retry_after_seconds_is_honoured(scripted, sleeps):
    scripted.handler = failing_then(
        1,
        lambda r: Reply(429, json={"title": "Too Many Requests"}, headers={"Retry-After": "3"}),
        lambda r: ws_json(SLUG, {"name": "x"}),
    )
    async with client(scripted.url, sleeps) as api:
        await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(sleeps.calls) == 1
    assert 3.0 <= sleeps.calls[0] <= 3.2  # never earlier than asked, a little jitter on top


async def test_retry_after_http_date_is_honoured(scripted, sleeps):
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    scripted.handler = failing_then(
        1,
        lambda r: Reply(503, headers={"Retry-After": when}),
        lambda r: ws_json(SLUG, {"name": "x"}),
    )
    async with client(scripted.url, sleeps) as api:
        await api.workspace(SLUG).get_item(TAGS, "x")
    assert 8.0 <= sleeps.calls[0] <= 10.3


async def test_retry_after_above_the_cap_fails_instead_of_retrying_early(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        429, json={"title": "Too Many Requests"}, headers={"Retry-After": "3600"}
    )
    async with client(scripted.url, sleeps, retry_after_cap=30) as api:
        with pytest.raises(RateLimitedError) as info:
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(scripted.requests) == 1 and sleeps.calls == []
    assert "asked to wait 3600 s, more than the 30 s" in str(info.value)


async def test_max_attempts_then_the_last_error(scripted, sleeps):
    scripted.handler = lambda r: Reply(503, json={"title": "Service Unavailable"})
    async with client(scripted.url, sleeps, max_attempts=4) as api:
        with pytest.raises(HTTPStatusError) as info:
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert info.value.status == 503
    assert "gave up after 4 attempts" in str(info.value)
    assert len(scripted.requests) == 4 and len(sleeps.calls) == 3


async def test_retry_budget_is_shared_across_workspaces(scripted, sleeps):
    scripted.handler = lambda r: Reply(503)
    async with client(scripted.url, sleeps, budget_floor=3, budget_ratio=0.0) as api:
        with pytest.raises(HTTPStatusError) as first:
            await api.workspace("one").get_item(TAGS, "x")
        assert len(scripted.requests) == 4  # 1 + the 3 retries of the budget
        assert "retry budget" in str(first.value)
        with pytest.raises(HTTPStatusError):
            await api.workspace("two").get_item(TAGS, "x")
        assert len(scripted.requests) == 5  # no budget left: one attempt only
    assert api.stats.total_retries == 3


async def test_patch_without_if_match_is_never_retried(scripted, sleeps):
    scripted.handler = lambda r: Reply(503)
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(HTTPStatusError):
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#000000"}, etag=None)
    assert len(scripted.requests) == 1
    assert "if-match" not in scripted.requests[0].headers


async def test_create_keeps_its_idempotency_key_across_retries(scripted, sleeps):
    scripted.handler = failing_then(
        2, lambda r: Reply(502), lambda r: ws_json(SLUG, {"name": "x"}, 201, ETag='"e1"')
    )
    async with client(scripted.url, sleeps) as api:
        item = await api.workspace(SLUG).create(TAGS, {"name": "x"})
        await api.workspace(SLUG).create(TAGS, {"name": "y"})
    assert item == {"name": "x", "etag": "e1"}
    keys = [r.headers["idempotency-key"] for r in scripted.requests]
    assert len(keys) == 4 and len(set(keys[:3])) == 1 and keys[3] != keys[0]
    assert scripted.requests[0].body == scripted.requests[2].body


async def test_a_reset_get_is_retried(scripted, sleeps):
    scripted.handler = failing_then(1, lambda r: lost(), lambda r: ws_json(SLUG, {"name": "x"}))
    async with client(scripted.url, sleeps) as api:
        assert (await api.workspace(SLUG).get_item(TAGS, "x"))["name"] == "x"
    assert len(scripted.requests) == 2


async def test_a_reset_unkeyed_patch_is_not_retried(scripted, sleeps):
    scripted.handler = lambda r: lost()
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(TransportError) as info:
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#000000"}, etag=None)
    assert len(scripted.requests) == 1
    assert "no answer from the server" in str(info.value)
    assert "may or may not have been made" in str(info.value)
    assert info.value.maybe_applied is True


class ItemServer:
    """One item with an etag; a write commits, and the first answer can be lost (reset)."""

    def __init__(self, lose_first_answer: bool) -> None:
        self.item = {"name": "x", "color": "#111111"}
        self.etag = "v1"
        self.exists = True
        self.lose = lose_first_answer
        self.writes = 0

    def __call__(self, req):
        if req.method == "GET":
            if not self.exists:
                return Reply(404, json={"title": "Not Found"}, headers={"wscfg-workspace": SLUG})
            return ws_json(SLUG, self.item, ETag=f'"{self.etag}"')
        if req.headers.get("if-match") != f'"{self.etag}"':
            return Reply(412, json={"title": "Precondition Failed"})
        if not self.exists:
            return Reply(404, json={"title": "Not Found"})
        self.writes += 1
        if req.method == "PATCH":
            self.item.update(req.json())
            self.etag = f"v{self.writes + 1}"
            reply = ws_json(SLUG, self.item, ETag=f'"{self.etag}"')
        else:
            self.exists = False
            reply = Reply(204, headers={"wscfg-workspace": SLUG})
        if self.lose:
            self.lose = False
            return lost()  # committed, but the client never hears
        return reply


async def test_patch_412_after_a_lost_committed_answer_is_success(scripted, sleeps):
    server = ItemServer(lose_first_answer=True)
    scripted.handler = server
    async with client(scripted.url, sleeps) as api:
        item = await api.workspace(SLUG).update(TAGS, "x", {"color": "#222222"}, etag="v1")
    assert server.writes == 1
    assert item == {"name": "x", "color": "#222222", "etag": "v2"}
    assert [r.method for r in scripted.requests] == ["PATCH", "PATCH", "GET"]


async def test_patch_412_after_retry_with_other_content_is_still_an_error(scripted, sleeps):
    server = ItemServer(lose_first_answer=False)
    server.etag = "someone-else"
    seen = {"n": 0}

    def handler(req):
        seen["n"] += 1
        if seen["n"] == 1:
            return Reply(503)
        return server(req)

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(PreconditionFailed) as info:
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#222222"}, etag="v1")
    assert "does not hold what was sent" in str(info.value)


async def test_patch_412_on_the_first_attempt_is_an_error_without_a_read(scripted, sleeps):
    server = ItemServer(lose_first_answer=False)
    server.etag = "someone-else"
    scripted.handler = server
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(PreconditionFailed):
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#111111"}, etag="v1")
    assert [r.method for r in scripted.requests] == ["PATCH"]


async def test_delete_404_after_a_lost_committed_answer_is_success(scripted, sleeps):
    server = ItemServer(lose_first_answer=True)
    scripted.handler = server
    async with client(scripted.url, sleeps) as api:
        assert await api.workspace(SLUG).delete(TAGS, "x", etag="v1") is None
    assert server.writes == 1 and not server.exists


async def test_delete_404_on_the_first_attempt_is_an_error(scripted, sleeps):
    server = ItemServer(lose_first_answer=False)
    server.exists = False
    scripted.handler = server
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(NotFoundError):
            await api.workspace(SLUG).delete(TAGS, "x", etag="v1")


async def test_create_409_after_retry_is_confirmed_by_reading(scripted, sleeps):
    seen = {"n": 0}

    def handler(req):
        seen["n"] += 1
        if req.method == "GET":
            return ws_json(SLUG, {"name": "x", "color": "#111111"}, ETag='"e9"')
        if seen["n"] == 1:
            return lost()
        return Reply(409, json={"title": "Conflict", "detail": "exists"})

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        item = await api.workspace(SLUG).create(TAGS, {"name": "x", "color": "#111111"})
    assert item["etag"] == "e9"


async def test_create_409_after_retry_for_another_reason_stays_a_conflict(scripted, sleeps):
    seen = {"n": 0}

    def handler(req):
        seen["n"] += 1
        if req.method == "GET":
            return Reply(404, json={"title": "Not Found"}, headers={"wscfg-workspace": SLUG})
        if seen["n"] == 1:
            return Reply(503)
        return Reply(409, json={"title": "Conflict", "detail": "a platform rule"})

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ConflictError, match="a platform rule"):
            await api.workspace(SLUG).create(TAGS, {"name": "x"})


async def test_connection_refused_is_retried_then_a_transport_error(sleeps):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    async with client(f"http://127.0.0.1:{port}", sleeps, max_attempts=3) as api:
        with pytest.raises(TransportError) as info:
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#000000"}, etag=None)
    # a failed connect sent nothing, so even an unkeyed PATCH may be retried
    assert len(sleeps.calls) == 2
    assert "gave up after 3 attempts" in str(info.value)
    assert info.value.maybe_applied is False  # never connected: certainly not applied
    assert TOKEN not in str(info.value)


async def test_read_timeouts_are_retried(scripted, sleeps):
    # The first answer never comes in time (8 s against a 2 s read timeout); the second is
    # immediate. Margins in seconds, not tenths: the machine may be busy.
    scripted.handler = failing_then(
        1, lambda r: Reply(200, delay=8.0), lambda r: ws_json(SLUG, {"name": "x"})
    )
    async with client(scripted.url, sleeps, timeout=2.0) as api:
        await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(scripted.requests) == 2 and api.stats.retries["GET"] == 1


async def test_a_trickling_answer_is_cut_by_the_attempt_deadline(scripted, sleeps):
    import asyncio

    async def trickle():
        for _ in range(40):  # 10 s in all: far longer than the attempt deadline
            yield b" "
            await asyncio.sleep(0.25)

    scripted.handler = lambda r: Reply(
        200, chunks=trickle(), headers={"content-type": "application/json", "wscfg-workspace": SLUG}
    )
    started = time.monotonic()
    async with client(scripted.url, sleeps, max_attempts=2, attempt_timeout=2.0) as api:
        with pytest.raises(TransportError, match=r"no complete answer within 2(\.0)? s"):
            await api.workspace(SLUG).get_item(TAGS, "x")
    # two attempts cut at 2 s each; uncut, the two trickles would take 20 s
    assert len(scripted.requests) == 2 and time.monotonic() - started < 15


async def test_one_concurrency_limit_across_workspaces(scripted, sleeps):
    import asyncio

    scripted.handler = lambda r: Reply(
        200, json={"name": "x"}, headers={"wscfg-workspace": r.path.split("/")[3]}, delay=0.02
    )
    async with client(scripted.url, sleeps, max_concurrency=3) as api:
        await asyncio.gather(
            *(api.workspace(f"ws-{i % 5}").get_item(TAGS, f"t{i}") for i in range(30))
        )
    assert len(scripted.requests) == 30
    assert scripted.max_in_flight <= 3


async def test_a_request_has_one_deadline_for_all_its_attempts(scripted, sleeps):
    """Each attempt is cut at attempt_timeout, and the request as a whole at request_deadline:
    a server that trickles forever costs one deadline, not max_attempts × attempt_timeout."""
    import asyncio

    async def trickle():
        for _ in range(60):  # 3 s in all: longer than the request's deadline
            yield b" "
            await asyncio.sleep(0.05)

    scripted.handler = lambda r: Reply(
        200, chunks=trickle(), headers={"content-type": "application/json", "wscfg-workspace": SLUG}
    )
    async with client(
        scripted.url, sleeps, max_attempts=50, attempt_timeout=0.4, request_deadline=1.0
    ) as api:
        with pytest.raises(TransportError, match=r"the request's deadline of 1 s (has|would) pass"):
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert 2 <= len(scripted.requests) < 50
