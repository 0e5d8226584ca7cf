"""#21 item 8, the server's side: a body means one thing. A key repeated in any object of a
body is 422 (parsers disagree on which one wins); booleans are exactly true or false; a number
too small to be told from 0 (``1e-400``) is refused, not read as 0. Nothing is written."""

from __future__ import annotations

import httpx
import pytest

from wscfg.sandbox.testing import SandboxServer

from .conftest import problem


def refused(r: httpx.Response, loc: list, msg: str) -> None:
    doc = problem(r, 422)
    assert [(e["loc"], e["msg"]) for e in doc["errors"]][:1] == [(loc, msg)], doc


@pytest.mark.parametrize(
    ("method", "path", "body", "key"),
    [
        ("POST", "/call-tags", '{"name":"a","name":"b"}', "name"),
        ("PATCH", "/notifications", '{"billing":{"email":true,"email":false}}', "email"),
        (
            "POST",
            "/blocked-callers:batch",
            '{"add":[{"number":"+15550100199","note":"x","note":"y"}]}',
            "note",
        ),
        (
            "PATCH",
            "/call-rules",
            '{"auto_unqualify":true,"auto_unqualify":false}',
            "auto_unqualify",
        ),
    ],
)
def test_a_key_repeated_anywhere_in_a_body_is_422(
    sandbox: SandboxServer, method: str, path: str, body: str, key: str
) -> None:
    ws = sandbox.new_workspace("dup")
    before = sandbox.item_rows(ws.slug)
    headers = {**ws.headers, "Content-Type": "application/json"}
    r = httpx.request(method, ws.url + path, content=body, headers=headers)
    refused(r, ["body"], f'the key "{key}" appears twice in one object')
    assert sandbox.item_rows(ws.slug) == before


@pytest.mark.parametrize("value", ["0", "1", '"yes"', '"true"', "1.0", "1e-400", '"on"'])
@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/call-rules", '{"auto_unqualify":%s}'),
        ("/notifications", '{"billing":{"email":%s}}'),
        ("/security", '{"require_2fa":%s}'),
    ],
)
def test_booleans_are_exactly_true_or_false(
    sandbox: SandboxServer, http: httpx.Client, value: str, path: str, template: str
) -> None:
    ws = sandbox.new_workspace("bool")
    before = sandbox.item_rows(ws.slug)
    headers = {**ws.headers, "Content-Type": "application/json"}
    r = http.patch(ws.url + path, content=template % value, headers=headers)
    doc = problem(r, 422)
    if value == "1e-400":
        assert doc["errors"][0]["msg"] == (
            "1e-400 is too small to be told from 0; send 0 or a larger number"
        )
    assert sandbox.item_rows(ws.slug) == before
    ok = http.patch(ws.url + path, content=template % "true", headers=headers)
    assert ok.status_code == 200, ok.text
