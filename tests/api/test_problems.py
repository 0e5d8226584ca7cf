"""Unit tests: problem+json and other error bodies become readable, scrubbed errors."""

from __future__ import annotations

import json

from wscfg.api.problems import parse_problem, problem_error, reason, scrub
from wscfg.errors import (
    AuthError,
    ConflictError,
    HTTPStatusError,
    NotFoundError,
    PreconditionFailed,
    RateLimitedError,
)

URL = "http://127.0.0.1:1/v1/workspaces/acme/members/a%40x.example"


def err(status, body, ctype="application/problem+json", **kw):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return problem_error(status, ctype, raw, method="PATCH", url=URL, **kw)


def test_problem_json_fields_and_field_errors_reach_the_message():
    e = err(
        422,
        {
            "type": "about:blank",
            "title": "Unprocessable Content",
            "status": 422,
            "detail": "invalid member",
            "errors": [{"loc": ["body", "members", 0, "role"], "msg": "unknown role 'boss'"}],
        },
    )
    assert type(e) is HTTPStatusError
    assert e.status == 422 and e.title == "Unprocessable Content"
    assert "members.0.role: unknown role 'boss'" in str(e)
    assert "(PATCH http://127.0.0.1:1/v1/workspaces/acme/members/a%40x.example)" in str(e)


def test_each_status_gets_its_error_class():
    for status, cls in [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, PreconditionFailed),
        (429, RateLimitedError),
        (500, HTTPStatusError),
    ]:
        assert type(err(status, {"title": "x"})) is cls


def test_non_problem_bodies_are_tolerated():
    assert parse_problem("application/json", b'{"detail": "Not Found"}') == ("", "Not Found", [])
    fastapi = {"detail": [{"loc": ["body", "x"], "msg": "field required", "type": "missing"}]}
    _, _, errors = parse_problem("application/json", json.dumps(fastapi).encode())
    assert errors == [{"loc": ["body", "x"], "msg": "field required"}]
    assert parse_problem("text/html", b"<html><h1>502 Bad Gateway</h1></html>") == ("", "", [])
    plain = parse_problem("text/plain", b"upstream timed out\nmore")
    assert plain == ("", "upstream timed out", [])
    assert parse_problem("application/json", b"{not json") == ("", "", [])
    assert parse_problem("application/json", b"[1, 2]") == ("", "", [])
    assert parse_problem("", b"") == ("", "", [])
    e = err(502, b"<html>gateway</html>", "text/html")
    assert str(e).startswith("502 Bad Gateway (PATCH ")


def test_weird_shapes_do_not_crash():
    e = err(422, {"title": 5, "detail": {"x": 1}, "errors": ["a", {"loc": "body", "msg": 3}]})
    assert e.title == reason(422) and e.detail == ""
    assert e.errors == [{"loc": ["body"], "msg": ""}]
    deep = b"[" * 100_000 + b"]" * 100_000
    assert parse_problem("application/json", deep) == ("", "", [])


def test_server_text_is_scrubbed_of_secrets_and_control_characters():
    secret = "wsk_live_abcdef123456"
    e = err(
        400,
        {"title": "Bad \x1b[31mRequest", "detail": f"bad key {secret}\x07" + "y" * 5000},
        secrets=[secret],
    )
    text = str(e)
    assert secret not in text and "[redacted]" in text
    assert "\x1b" not in text and "\x07" not in text
    assert len(text) < 1200


def test_scrub_bounds_and_handles_non_strings():
    assert scrub(None) == "None"
    assert scrub("a\u202eb") == "ab"  # no bidi overrides
    assert scrub("x" * 10, limit=5) == "xxxxx…"
    assert scrub("tok tok", ["tok", ""]) == "[redacted] [redacted]"
