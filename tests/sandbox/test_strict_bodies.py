"""#21 item 8, the server's side: a body means one thing. A key repeated in any object of a
body is 422 (parsers disagree on which one wins); booleans are exactly true or false; a number
too small to be told from 0 (``1e-400``) is refused, not read as 0. Nothing is written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

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


# --- null, page sizes and key expiry dates (#21 item 8, the rest of the server's side) -------

NOT_NULL = (
    "must not be null: a boolean or number setting has no empty value (leave the field out to "
    "keep it as it is)"
)
HOOK = '{"name":"h","url":"https://hooks.example.com/x","events":["call.completed"]'

# Every boolean and number setting of the shared models, sent as null: (method, path, body,
# where the error points). tests/model/test_strict_types.py checks that the list is complete.
NULLS: list[tuple[str, str, str, list[str | int]]] = [
    ("PATCH", "/security", '{"require_2fa":null}', ["body", "require_2fa"]),
    ("PATCH", "/call-rules", '{"auto_unqualify":null}', ["body", "auto_unqualify"]),
    (
        "PATCH",
        "/call-rules",
        '{"rule":{"duration":{"at_least":null,"at_most":60}}}',
        ["body", "rule", "duration", "duration", "at_least"],
    ),
    (
        "PATCH",
        "/call-rules",
        '{"rule":{"ai_score":{"at_most":null,"at_least":5}}}',
        ["body", "rule", "ai_score", "ai_score", "at_most"],
    ),
    ("PATCH", "/notifications", '{"billing":{"email":null}}', ["body", "billing", "email"]),
    ("PATCH", "/notifications", '{"system":{"in_app":null}}', ["body", "system", "in_app"]),
    (
        "PATCH",
        "/notifications",
        '{"assigned_tickets":{"email":null}}',
        ["body", "assigned_tickets", "email"],
    ),
    ("POST", "/webhooks", HOOK + ',"enabled":null}', ["body", "enabled"]),
    (
        "POST",
        "/webhooks",
        HOOK + ',"filters":{"qualified_only":null}}',
        ["body", "filters", "qualified_only"],
    ),
    (
        "POST",
        "/webhooks",
        HOOK + ',"filters":{"min_duration":null}}',
        ["body", "filters", "min_duration"],
    ),
    (
        "POST",
        "/api-keys",
        '{"name":"k","mode":"live","scopes":["settings:read"],"rotation":null}',
        ["body", "rotation"],
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "loc"), NULLS)
def test_null_never_clears_a_boolean_or_number_setting(
    sandbox: SandboxServer, method: str, path: str, body: str, loc: list[str | int]
) -> None:
    """``{"require_2fa": null}`` stored ``{}``: a setting with no empty value refuses null."""
    ws = sandbox.new_workspace("null")
    before = sandbox.item_rows(ws.slug)
    headers = {**ws.headers, "Content-Type": "application/json"}
    r = httpx.request(method, ws.url + path, content=body, headers=headers)
    doc = problem(r, 422)
    assert [e for e in doc["errors"] if e["msg"] == NOT_NULL] == [{"loc": loc, "msg": NOT_NULL}]
    assert sandbox.item_rows(ws.slug) == before


def test_null_on_a_managed_keys_rotation_does_not_reissue_it(
    sandbox: SandboxServer, http: httpx.Client
) -> None:
    """Before: ``{"rotation": null}`` on a key at rotation 2 set it back to 0: a re-issue."""
    ws = sandbox.new_workspace("rot")
    made = http.post(
        ws.url + "/api-keys",
        json={"name": "k", "mode": "live", "scopes": ["settings:read"], "rotation": 2},
        headers=ws.headers,
    )
    assert made.status_code == 201, made.text
    refused(
        http.patch(ws.url + "/api-keys/k", json={"rotation": None}, headers=ws.headers),
        ["body", "rotation"],
        NOT_NULL,
    )
    after = http.get(ws.url + "/api-keys/k", headers=ws.headers).json()
    assert (after["id"], after["rotation"]) == (made.json()["id"], 2)


DIGITS = "must be a whole number written in digits, e.g. 100"


@pytest.mark.parametrize("written", ["80.0", "8e1", "+80", "080", " 80", "0x50", "80 ", "true"])
@pytest.mark.parametrize("where", ["/call-tags", "/audit", ""])
def test_a_page_size_is_written_in_digits(
    sandbox: SandboxServer, http: httpx.Client, written: str, where: str
) -> None:
    ws = sandbox.new_workspace("limit")
    url = ws.url + where if where else sandbox.url + "/v1/workspaces"
    refused(
        http.get(url, params={"limit": written}, headers=ws.headers), ["query", "limit"], DIGITS
    )
    assert http.get(url, params={"limit": "80"}, headers=ws.headers).status_code == 200


def _today() -> date:
    return datetime.now(UTC).date()


NOT_A_DATE = "must be a date written YYYY-MM-DD, e.g. 2027-12-31"
WITH_TIME = NOT_A_DATE + " (not a date and time)"

# expires as sent -> the message (None: accepted)
EXPIRES: dict[str, str | None] = {
    '"2027-12-31T00:00:00"': WITH_TIME,
    '"2027-12-31T00:00:00Z"': WITH_TIME,
    '"2027-12-31 00:00"': WITH_TIME,
    "1893456000": NOT_A_DATE,
    "20271231": NOT_A_DATE,
    "true": NOT_A_DATE,
    '"2027-1-31"': NOT_A_DATE,
    '"1970-01-01"': "past",
    '"today"': "today",  # replaced by today's date (UTC) when the test runs
    '"tomorrow"': None,
}


def _sent(written: str) -> str:
    today = _today()
    return written.replace("today", today.isoformat()).replace(
        "tomorrow", (today + timedelta(days=1)).isoformat()
    )


def _expiry_message(written: str, expected: str | None) -> str | None:
    if expected in ("past", "today"):
        day = json.loads(_sent(written))
        return f"must be in the future (after {_today().isoformat()}, today in UTC), not {day}"
    return expected


@pytest.mark.parametrize(("written", "expected"), sorted(EXPIRES.items()))
@pytest.mark.parametrize("managed", [True, False])
def test_a_keys_expiry_is_a_date_in_the_future(
    sandbox: SandboxServer, http: httpx.Client, written: str, expected: str | None, managed: bool
) -> None:
    """``expires: 2027-12-31T00:00:00`` was cut to a date and ``1970-01-01`` made a dead key;
    managed keys (the api_keys kind) and unmanaged ones follow one rule."""
    ws = sandbox.new_workspace("exp")
    fields = '"name":"k","mode":"live",' if managed else ""
    body = f'{{{fields}"scopes":["settings:read"],"expires":{_sent(written)}}}'
    headers = {**ws.headers, "Content-Type": "application/json"}
    keys_before = http.get(ws.url + "/api-keys", headers=ws.headers).json()["items"]
    r = http.post(ws.url + "/api-keys", content=body, headers=headers)
    message = _expiry_message(written, expected)
    if message is None and not managed:  # only a managed key keeps settings (docs/api.md)
        message = "only a managed key has this setting: give a mode (live or test), or leave it out"
    if message is None:
        assert r.status_code == 201, r.text
        assert r.json()["expires"] == json.loads(_sent(written))
        return
    refused(r, ["body", "expires"], message)
    assert http.get(ws.url + "/api-keys", headers=ws.headers).json()["items"] == keys_before


@pytest.mark.parametrize(("written", "expected"), sorted(EXPIRES.items()))
def test_a_changed_expiry_follows_the_same_rule(
    sandbox: SandboxServer, http: httpx.Client, written: str, expected: str | None
) -> None:
    ws = sandbox.new_workspace("exp")
    made = http.post(
        ws.url + "/api-keys",
        json={"name": "k", "mode": "live", "scopes": ["settings:read"], "expires": "2099-12-31"},
        headers=ws.headers,
    )
    assert made.status_code == 201, made.text
    headers = {**ws.headers, "Content-Type": "application/json"}
    r = http.patch(
        ws.url + "/api-keys/k", content=f'{{"expires":{_sent(written)}}}', headers=headers
    )
    message = _expiry_message(written, expected)
    if message is None:
        assert r.status_code == 200, r.text
        return
    refused(r, ["body", "expires"], message)
    assert http.get(ws.url + "/api-keys/k", headers=ws.headers).json()["expires"] == "2099-12-31"


@pytest.mark.parametrize(
    "setting", [{"description": "CI"}, {"expires": "2099-12-31"}, {"rotation": 1}]
)
def test_an_unmanaged_key_refuses_settings_it_would_not_keep(
    sandbox: SandboxServer, http: httpx.Client, setting: dict[str, object]
) -> None:
    """A key without a mode kept none of them: ``expires`` was accepted and the key never
    expired. Refused, and no key is made."""
    ws = sandbox.new_workspace("unmanaged")
    before = http.get(ws.url + "/api-keys", headers=ws.headers).json()["items"]
    r = http.post(
        ws.url + "/api-keys", json={"scopes": ["settings:read"], **setting}, headers=ws.headers
    )
    refused(
        r,
        ["body", next(iter(setting))],
        "only a managed key has this setting: give a mode (live or test), or leave it out",
    )
    assert http.get(ws.url + "/api-keys", headers=ws.headers).json()["items"] == before
