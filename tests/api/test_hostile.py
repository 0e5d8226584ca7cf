"""Hostile or broken servers (DESIGN §6.8, issue 6 item 5): wrong workspace, bad JSON, huge
bodies, redirects to other hosts. The client refuses with a clear error and the key never
leaves for another host."""

from __future__ import annotations

import logging
import traceback

import pytest

from wscfg.api.client import ApiClient
from wscfg.errors import ApiError, HTTPStatusError, ProtocolError
from wscfg.model.kinds import BY_NAME

from .helpers import TOKEN, Reply, fast_policy, ws_json

pytestmark = pytest.mark.anyio

SLUG = "acme"
TAGS = BY_NAME["call_tags"]
MEMBERS = BY_NAME["members"]
CALLERS = BY_NAME["blocked_callers"]


def client(url, sleeps, **kw):
    return ApiClient(url, TOKEN, retry=fast_policy(sleeps), **kw)


def snapshot_body(slug=SLUG):
    return {
        "workspace": {"slug": slug, "name": "Acme", "etag": "w1"},
        "roles": [],
        "members": [{"email": "a@acme.example", "role": "owner", "etag": "m1"}],
        "call_tags": [],
        "blocked_callers": [],
        "webhooks": [],
        "call_rules": {"auto_unqualify": False, "etag": "r1"},
        "notifications": {"etag": "n1"},
        "security": {"etag": "s1"},
        "usage_alerts": [],
    }


# ---- whose data is this? -----------------------------------------------------------------


async def test_answer_for_another_workspace_is_refused(scripted, sleeps):
    scripted.handler = lambda r: ws_json("evil-corp", snapshot_body("evil-corp"))
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError) as info:
            await api.workspace(SLUG).snapshot()
    msg = str(info.value)
    assert "belongs to workspace 'evil-corp', not 'acme'" in msg and "discarded" in msg
    assert f"GET {scripted.url}/v1/workspaces/acme/settings" in msg
    assert len(scripted.requests) == 1  # not retried


async def test_answer_without_workspace_header_is_refused(scripted, sleeps):
    scripted.handler = lambda r: Reply(200, json={"name": "x"})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="does not say which workspace"):
            await api.workspace(SLUG).get_item(TAGS, "x")


async def test_snapshot_body_of_another_workspace_is_refused(scripted, sleeps):
    scripted.handler = lambda r: ws_json(SLUG, snapshot_body("other"))
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="describes workspace 'other', not 'acme'"):
            await api.workspace(SLUG).snapshot()


async def test_snapshot_of_the_wrong_shape_is_refused(scripted, sleeps):
    body = snapshot_body()
    del body["members"]
    scripted.handler = lambda r: ws_json(SLUG, body)
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="has no 'members' list"):
            await api.workspace(SLUG).snapshot()
        body2 = snapshot_body()
        body2["members"] = [{"role": "owner"}]
        scripted.handler = lambda r: ws_json(SLUG, body2)
        with pytest.raises(ProtocolError, match="member without a 'email'"):
            await api.workspace(SLUG).snapshot()


async def test_workspace_profile_of_another_slug_is_refused(scripted, sleeps):
    scripted.handler = lambda r: ws_json(SLUG, {"slug": "other", "name": "x"}, ETag='"1"')
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="describes 'other'"):
            await api.workspace(SLUG).get_singleton(BY_NAME["workspace"])


async def test_error_answer_naming_another_workspace_is_refused(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        409, json={"title": "Conflict"}, headers={"wscfg-workspace": "other"}
    )
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="belongs to workspace 'other'"):
            await api.workspace(SLUG).delete(TAGS, "x", etag="1")


# ---- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "ctype", "match"),
    [
        (b"{not json", "application/json", "invalid JSON"),
        (b'{"a": NaN}', "application/json", "invalid JSON"),
        (b"\xff\xfe\x00garbage", "application/json", "invalid JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "application/json", "invalid JSON"),
        (b"<html>hello</html>", "text/html", "'text/html' where JSON was expected"),
        (b"", "application/json", "empty body"),
        (b"[1, 2, 3]", "application/json", "JSON list where an object was expected"),
    ],
)
async def test_malformed_json_is_a_protocol_error_naming_the_request(
    scripted, sleeps, body, ctype, match
):
    scripted.handler = lambda r: Reply(
        200, body=body, headers={"content-type": ctype, "wscfg-workspace": SLUG}
    )
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match=match) as info:
            await api.workspace(SLUG).get_item(MEMBERS, "a@acme.example")
    assert f"(GET {scripted.url}/v1/workspaces/acme/members/a%40acme.example)" in str(info.value)


async def test_bad_pages_are_refused(scripted, sleeps):
    pages = {
        "": {"items": [{"name": "a"}], "next_cursor": "c1"},
        "c1": {"items": [{"name": "b"}], "next_cursor": "c1"},  # loops forever
    }

    def handler(req):
        cursor = dict(p.split("=") for p in req.query.split("&") if p).get("cursor", "")
        return ws_json(SLUG, pages[cursor])

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="cursor is invalid or repeats"):
            await api.workspace(SLUG).list_items(TAGS)
        scripted.handler = lambda r: ws_json(SLUG, {"items": "nope"})
        with pytest.raises(ProtocolError, match="no 'items' list"):
            await api.workspace(SLUG).list_items(TAGS)


async def test_bad_batch_counts_are_refused(scripted, sleeps):
    scripted.handler = lambda r: ws_json(SLUG, {"added": -1, "updated": 0, "removed": 0})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="bad 'added' count"):
            await api.workspace(SLUG).batch_blocked_callers([{"number": "+15550100100"}], [])


# ---- huge bodies ---------------------------------------------------------------------------


async def _stream(total: int, chunk: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b" " * chunk
        sent += chunk


async def test_huge_streamed_body_is_abandoned_past_the_cap(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        200,
        chunks=_stream(50 * 1024 * 1024),
        headers={"content-type": "application/json", "wscfg-workspace": SLUG},
    )
    async with client(scripted.url, sleeps, max_snapshot_bytes=1024 * 1024) as api:
        with pytest.raises(ProtocolError, match="too large \\(more than 1048576 bytes\\)"):
            await api.workspace(SLUG).snapshot()
    assert api.stats.bytes_received == 0  # nothing kept


async def test_announced_huge_body_is_refused_before_reading(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        200,
        body=b"{}" + b" " * (3 * 1024 * 1024),
        headers={"content-type": "application/json", "wscfg-workspace": SLUG},
    )
    async with client(scripted.url, sleeps, max_response_bytes=2 * 1024 * 1024) as api:
        with pytest.raises(ProtocolError, match="3145730 bytes announced, limit 2097152"):
            await api.workspace(SLUG).get_item(TAGS, "x")


async def test_huge_error_body_is_truncated_not_fatal(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        400, chunks=_stream(20 * 1024 * 1024), headers={"content-type": "text/plain"}
    )
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(HTTPStatusError) as info:
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert info.value.status == 400 and len(str(info.value)) < 1000


# ---- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_to_another_host_never_carries_the_key(scripted, other_host, sleeps, status):
    scripted.handler = lambda r: Reply(status, headers={"location": f"{other_host.url}/steal"})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="refused a redirect to another host") as info:
            await api.workspace(SLUG).snapshot()
    assert other_host.requests == []  # nothing at all reached the other host
    assert other_host.url.split("//")[1] in str(info.value)
    assert TOKEN not in str(info.value)


async def test_redirect_to_the_same_port_by_another_name_is_refused(scripted, other_host, sleeps):
    # 127.0.0.1 and localhost are different origins: the key is bound to the configured one
    port = scripted.url.rsplit(":", 1)[1]
    scripted.handler = lambda r: Reply(302, headers={"location": f"http://localhost:{port}/x"})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="another host"):
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(scripted.requests) == 1


async def test_redirect_scheme_downgrade_is_refused(scripted, sleeps):
    scripted.handler = lambda r: Reply(
        302, headers={"location": scripted.url.replace("http://", "https://") + "/x"}
    )
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="another host"):
            await api.workspace(SLUG).get_item(TAGS, "x")


async def test_same_origin_get_redirect_is_followed_with_the_key(scripted, sleeps):
    def handler(req):
        if req.path.endswith("/old"):
            return Reply(308, headers={"location": "/v1/workspaces/acme/call-tags/new"})
        return ws_json(SLUG, {"name": "new"})

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        item = await api.workspace(SLUG).get_item(TAGS, "old")
    assert item["name"] == "new"
    assert [r.headers.get("authorization") for r in scripted.requests] == [f"Bearer {TOKEN}"] * 2
    assert api.stats.requests["GET"] == 2


async def test_redirect_loops_stop(scripted, sleeps):
    scripted.handler = lambda r: Reply(302, headers={"location": r.path})
    async with client(scripted.url, sleeps, max_redirects=3) as api:
        with pytest.raises(ProtocolError, match="redirected more than 3 times"):
            await api.workspace(SLUG).get_item(TAGS, "x")
    assert len(scripted.requests) == 4


async def test_writes_are_never_redirected(scripted, sleeps):
    scripted.handler = lambda r: Reply(307, headers={"location": "/v1/workspaces/acme/elsewhere"})
    async with client(scripted.url, sleeps) as api:
        with pytest.raises(ProtocolError, match="writes are never redirected"):
            await api.workspace(SLUG).update(TAGS, "x", {"color": "#000000"}, etag="1")
    assert len(scripted.requests) == 1


# ---- the key never shows -------------------------------------------------------------------


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


async def test_the_key_never_appears_in_errors_reprs_or_logs(scripted, other_host, sleeps, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    secret_body = {"name": "hook", "secret": "whsec_DO_NOT_SHOW_123"}

    def echo_everything(req):
        # a hostile server echoes the Authorization header and the body back in its answers
        leak = f"{req.headers.get('authorization')} {req.body.decode()}"
        if req.path.endswith("/redirect"):
            return Reply(302, headers={"location": f"{other_host.url}/{leak}"})
        if req.path.endswith("/wrong-ws"):
            return ws_json(leak[:60].strip(), {})
        return Reply(
            422,
            json={"title": leak, "detail": leak, "errors": [{"loc": [leak], "msg": leak}]},
            headers={"x-request-id": leak},
        )

    scripted.handler = echo_everything
    texts: list[str] = []
    async with client(scripted.url, sleeps) as api:
        ws = api.workspace(SLUG)
        for call in (
            lambda: ws.create(BY_NAME["webhooks"], secret_body),
            lambda: ws.get_item(TAGS, "redirect"),
            lambda: ws.get_item(TAGS, "wrong-ws"),
            lambda: ws.update(BY_NAME["webhooks"], "hook", secret_body, etag="1"),
        ):
            with pytest.raises(ApiError) as info:
                await call()
            texts.append(_all_text(info.value))
            texts.append(repr(getattr(info.value, "request_id", "")))
        texts += [repr(api), repr(ws), repr(api.stats), repr(vars(api))]
    texts.append(caplog.text)
    blob = "\n".join(texts)
    assert "[redacted]" in blob  # the echoes were there, and were scrubbed
    assert TOKEN not in blob
    assert "whsec_DO_NOT_SHOW_123" not in blob
    assert other_host.requests == []


async def test_retry_logging_names_method_path_and_attempt_only(scripted, sleeps, caplog):
    caplog.set_level(logging.DEBUG, logger="wscfg.api")
    seen = {"n": 0}

    def handler(req):
        seen["n"] += 1
        return Reply(503) if seen["n"] == 1 else ws_json(SLUG, {"number": "+15550100199"})

    scripted.handler = handler
    async with client(scripted.url, sleeps) as api:
        await api.workspace(SLUG).get_item(CALLERS, "+15550100199")
    lines = [r.getMessage() for r in caplog.records if r.name == "wscfg.api"]
    path = "/v1/workspaces/acme/blocked-callers/%2B15550100199"
    assert f"GET {path} -> 503 (attempt 1," in lines[0]
    assert lines[1].startswith(f"retrying GET {path} after status 503 in ")
    assert f"GET {path} -> 200 (attempt 2," in lines[2]
    assert all(TOKEN not in line for line in lines)
