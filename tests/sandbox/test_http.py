"""HTTP semantics: problems, request ids, idempotency keys, rate limits, size caps, auth."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server

from .conftest import bearer, problem


def p(ws: SandboxWorkspace, suffix: str = "") -> str:
    return f"/v1/workspaces/{ws.slug}{suffix}"


def test_request_ids(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    a, b = api.get(p(workspace)), api.get(p(workspace))
    assert (
        len(a.headers["x-request-id"]) == 32
        and a.headers["x-request-id"] != b.headers["x-request-id"]
    )
    # the caller's id is kept apart: the server's own id stays unique (issue 11 §4)
    mine = api.get(p(workspace), headers={"X-Request-Id": "ci-run-42.step-7"})
    assert mine.headers["x-client-request-id"] == "ci-run-42.step-7"
    assert len(mine.headers["x-request-id"]) == 32
    again = api.get(p(workspace), headers={"X-Request-Id": "ci-run-42.step-7"})
    assert again.headers["x-request-id"] != mine.headers["x-request-id"]
    for odd in ("bad id with spaces", "x" * 65):
        r = api.get(p(workspace), headers={"X-Request-Id": odd})
        assert "x-client-request-id" not in r.headers
        assert len(r.headers["x-request-id"]) == 32


def test_errors_are_problems(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    doc = problem(api.get("/v1/nothing-here"), 404)
    assert doc == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no such resource",
        "instance": doc["instance"],
    }
    problem(api.put(p(workspace)), 405)
    bad_json = api.post(
        p(workspace, "/call-tags"),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    doc = problem(bad_json, 422)
    assert doc["errors"][0]["loc"][0] == "body"
    doc = problem(api.post(p(workspace, "/call-tags"), json={"name": "Bad Name!", "extra": 1}), 422)
    assert sorted(tuple(e["loc"]) for e in doc["errors"]) == [("body", "extra"), ("body", "name")]
    assert doc["title"] == "Unprocessable Entity"


def test_body_size_cap(
    sandbox: SandboxServer, api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    big = b"x" * (sandbox.settings.max_body_bytes + 1)
    r = api.post(
        p(workspace, "/call-tags"), content=big, headers={"Content-Type": "application/json"}
    )
    assert problem(r, 413)["detail"].startswith("the body is larger than")


def test_unexpected_errors_carry_no_traceback() -> None:
    with running_server() as server:

        def boom() -> None:
            raise RuntimeError("secret internals /etc/passwd")

        server.app.add_api_route("/boom", boom)
        r = httpx.get(server.url + "/boom")
        doc = problem(r, 500)
        assert doc["detail"] == "the server failed unexpectedly"
        assert "secret internals" not in r.text and "RuntimeError" not in r.text


def test_authentication(sandbox: SandboxServer, workspace: SandboxWorkspace) -> None:
    url = sandbox.url + p(workspace)
    r = httpx.get(url)
    assert problem(r, 401)["detail"] == "send an API key: Authorization: Bearer <key>"
    assert r.headers["www-authenticate"] == "Bearer"
    problem(httpx.get(url, headers=bearer("wscfg_not-a-real-key")), 401)
    problem(httpx.get(url, headers={"Authorization": f"Basic {workspace.key}"}), 401)
    extra = sandbox.issue_key(workspace=workspace.slug)
    assert httpx.get(url, headers=bearer(extra)).status_code == 200
    sandbox.revoke_key(extra)
    assert (
        problem(httpx.get(url, headers=bearer(extra)), 401)["detail"]
        == "the API key is unknown or revoked"
    )


# --- idempotency -------------------------------------------------------------------------------


def test_idempotent_replay_and_reuse(api: httpx.Client, workspace: SandboxWorkspace) -> None:
    url = p(workspace, "/call-tags")
    first = api.post(url, json={"name": "once"}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = api.post(url, json={"name": "once"}, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for header in ("etag", "location", "content-type", "wscfg-workspace"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    other = api.post(url, json={"name": "twice"}, headers={"Idempotency-Key": "k-1"})
    assert "different request" in problem(other, 422)["detail"]
    assert [t["name"] for t in api.get(url).json()["items"]] == ["once"]
    # without a key a second create is a conflict, with a fresh key too
    problem(api.post(url, json={"name": "once"}, headers={"Idempotency-Key": "k-2"}), 409)
    # a refused request is not remembered: after fixing the cause the same key runs it
    member = {"email": "a@x.example", "role": "desk"}
    problem(
        api.post(p(workspace, "/members"), json=member, headers={"Idempotency-Key": "k-3"}), 422
    )
    api.post(p(workspace, "/roles"), json={"name": "desk"})
    assert (
        api.post(
            p(workspace, "/members"), json=member, headers={"Idempotency-Key": "k-3"}
        ).status_code
        == 201
    )
    audit = api.get(p(workspace, "/audit")).json()["items"]
    assert [(e["action"], e["key"]) for e in audit if e["kind"] == "call_tags"] == [
        ("create", "once")
    ]
    doc = problem(api.post(url, json={"name": "x"}, headers={"Idempotency-Key": "bad key"}), 422)
    assert doc["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def test_idempotency_keys_are_scoped_per_api_key(
    sandbox: SandboxServer, workspace: SandboxWorkspace
) -> None:
    other_key = sandbox.issue_key(workspace=workspace.slug)
    url = sandbox.url + p(workspace, "/call-tags")
    a = httpx.post(
        url, json={"name": "a"}, headers={**bearer(workspace.key), "Idempotency-Key": "same"}
    )
    b = httpx.post(
        url, json={"name": "b"}, headers={**bearer(other_key), "Idempotency-Key": "same"}
    )
    assert (a.status_code, b.status_code) == (201, 201)
    assert "idempotent-replayed" not in b.headers


def test_idempotency_on_batch_patch_delete_and_new_keys(
    api: httpx.Client, workspace: SandboxWorkspace
) -> None:
    batch = {"add": ["+15550100100", "+15550100101"]}
    url = p(workspace, "/blocked-callers:batch")
    first = api.post(url, json=batch, headers={"Idempotency-Key": "b-1"})
    replay = api.post(url, json=batch, headers={"Idempotency-Key": "b-1"})
    assert first.json() == replay.json() == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0}
    assert replay.headers["idempotent-replayed"] == "true"
    d1 = api.delete(
        p(workspace, "/blocked-callers/%2B15550100100"), headers={"Idempotency-Key": "d-1"}
    )
    d2 = api.delete(
        p(workspace, "/blocked-callers/%2B15550100100"), headers={"Idempotency-Key": "d-1"}
    )
    assert (d1.status_code, d2.status_code) == (204, 204)
    assert d2.headers["idempotent-replayed"] == "true"
    created = api.post(
        p(workspace, "/api-keys"), json={"name": "ci"}, headers={"Idempotency-Key": "key-1"}
    )
    replayed = api.post(
        p(workspace, "/api-keys"), json={"name": "ci"}, headers={"Idempotency-Key": "key-1"}
    )
    assert created.json()["secret"].startswith("wscfg_")
    assert replayed.json() == {k: v for k, v in created.json().items() if k != "secret"}
    assert len(api.get(p(workspace, "/api-keys")).json()["items"]) == 2


def test_concurrent_identical_requests_execute_once(
    sandbox: SandboxServer, workspace: SandboxWorkspace
) -> None:
    url = sandbox.url + p(workspace, "/blocked-callers:batch")
    numbers = [f"+1555020{n:04d}" for n in range(2000)]
    headers = {**bearer(workspace.key), "Idempotency-Key": "race-1"}
    results: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        barrier.wait()
        results.append(httpx.post(url, json={"add": numbers}, headers=headers, timeout=60))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200] * 6
    assert {r.content for r in results} == {b'{"added":2000,"updated":0,"unchanged":0,"removed":0}'}
    assert sum("idempotent-replayed" in r.headers for r in results) == 5
    audit = httpx.get(
        sandbox.url + p(workspace, "/audit"), params={"limit": 5000}, headers=bearer(workspace.key)
    )
    creates = [e for e in audit.json()["items"] if e["kind"] == "blocked_callers"]
    assert len(creates) == 2000


def test_idempotency_records_expire(db_url: str | None) -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    with running_server(db_url, clock=lambda: now[0]) as server:
        ws = server.new_workspace()
        url = server.url + p(ws, "/call-tags")
        h = {**bearer(ws.key), "Idempotency-Key": "old"}
        assert httpx.post(url, json={"name": "a"}, headers=h).status_code == 201
        now[0] += timedelta(hours=23)
        assert httpx.post(url, json={"name": "b"}, headers=h).status_code == 422
        now[0] += timedelta(hours=2)
        assert httpx.post(url, json={"name": "b"}, headers=h).status_code == 201


# --- rate limiting -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(db_url: str | None) -> Iterator[tuple[SandboxServer, list[float]]]:
    """2 requests per second, bursts of 3, on a steady clock the test moves by hand."""
    ticks = [1000.0]
    with running_server(db_url, rate_limit=2, rate_burst=3, ticker=lambda: ticks[0]) as server:
        yield server, ticks


def test_rate_limit_per_key(limited: tuple[SandboxServer, list[float]]) -> None:
    server, ticks = limited
    ws = server.new_workspace()
    other = server.new_workspace()
    url = server.url + p(ws)
    statuses = [httpx.get(url, headers=bearer(ws.key)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    r = httpx.get(url, headers=bearer(ws.key))
    doc = problem(r, 429)
    assert r.headers["retry-after"] == "1"
    assert doc["detail"] == "rate limit exceeded; retry in 1 s"
    # another key has its own bucket
    assert httpx.get(server.url + p(other), headers=bearer(other.key)).status_code == 200
    ticks[0] += 0.4  # not yet a whole token back
    assert httpx.get(url, headers=bearer(ws.key)).status_code == 429
    ticks[0] += 0.2
    assert httpx.get(url, headers=bearer(ws.key)).status_code == 200


def test_the_limit_is_advertised_with_the_ratelimit_fields(
    limited: tuple[SandboxServer, list[float]],
) -> None:
    """draft-ietf-httpapi-ratelimit-headers: the policy (a quota per window that never
    exceeds the rate or the burst) on every answer, and what is left of it."""
    server, ticks = limited
    ticks[0] += 100  # every bucket full again
    ws = server.new_workspace()
    url = server.url + p(ws)
    answers = [httpx.get(url, headers=bearer(ws.key)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert {a.headers["ratelimit-policy"] for a in answers} == {'"default";q=2;w=1'}
    assert [a.headers["ratelimit"] for a in answers] == [
        '"default";r=2;t=1',
        '"default";r=1;t=1',
        '"default";r=0;t=2',
        '"default";r=0;t=2',
    ]
    assert answers[3].headers["retry-after"] == "1"
    # no key, no bucket: nothing to advertise
    assert "ratelimit" not in httpx.get(url).headers
