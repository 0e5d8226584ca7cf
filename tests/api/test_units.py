"""Unit tests of small pure helpers: key encoding, ETag quoting, "did my write land"."""

from __future__ import annotations

import pytest

from wscfg.api.client import ApiClient
from wscfg.api.wire import quote_etag, unquote_etag
from wscfg.api.workspace import encode_key, matches
from wscfg.errors import SetupError
from wscfg.model import secret_fingerprint
from wscfg.model.kinds import BY_NAME

from .helpers import TOKEN


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("+15550100199", "%2B15550100199"),
        ("a@acme.example", "a%40acme.example"),
        ("first+tag@acme.example", "first%2Btag%40acme.example"),
        ("a/b", "a%2Fb"),
        ("front desk?#", "front%20desk%3F%23"),
        ("ü", "%C3%BC"),
    ],
)
def test_keys_are_one_encoded_path_segment(key, encoded):
    assert encode_key(key) == encoded


@pytest.mark.parametrize("key", ["", ".", ".."])
def test_keys_that_would_change_the_path_are_refused(key):
    with pytest.raises(ValueError):
        encode_key(key)


def test_etag_quoting():
    assert quote_etag("abc") == '"abc"'
    assert quote_etag('"abc"') == '"abc"'
    assert quote_etag('W/"abc"') == 'W/"abc"'
    assert unquote_etag('"abc"') == "abc"
    assert unquote_etag('W/"abc"') == 'W/"abc"'


def test_matches_compares_what_was_sent_only():
    current = {"name": "t", "color": "#222222", "description": "x", "etag": "2"}
    assert matches({"color": "#222222"}, current, ())
    assert not matches({"color": "#333333"}, current, ())
    assert matches({"note": None}, {"number": "+1"}, ())  # nulls are left out by the API
    assert not matches({"note": None}, {"note": "x"}, ())
    assert not matches({"enabled": 1}, {"enabled": True}, ())  # no bool/int confusion
    assert matches({"min": 1}, {"min": 1.0}, ())


def test_matches_nested_objects_as_subsets_and_lists_exactly():
    current = {"business_profile": {"company": "Acme", "audience": "all"}, "events": ["a", "b"]}
    assert matches({"business_profile": {"company": "Acme"}}, current, ())
    assert not matches({"business_profile": {"company": "Other"}}, current, ())
    assert matches({"events": ["a", "b"]}, current, ())
    assert not matches({"events": ["b", "a"]}, current, ())
    assert not matches({"events": ["a"]}, current, ())


def test_matches_write_only_fields_by_fingerprint():
    hooks = BY_NAME["webhooks"]
    current = {"name": "h", "secret_fingerprint": secret_fingerprint("s3cret")}
    assert matches({"secret": "s3cret"}, current, hooks.write_only)
    assert not matches({"secret": "other"}, current, hooks.write_only)
    # the API shows a fingerprint exactly when a secret is set (a soak run found a set secret
    # reported as landed on an item that had none)
    assert not matches({"secret": "anything"}, {"name": "h"}, hooks.write_only)
    assert matches({"secret": None}, {"name": "h"}, hooks.write_only)  # cleared
    assert not matches({"secret": None}, current, hooks.write_only)


def test_workspace_slugs_are_validated():
    api = ApiClient("http://127.0.0.1:1", TOKEN)
    for bad in ("", "..", "a/b", "UPPER", "-x"):
        with pytest.raises(ValueError):
            api.workspace(bad)
    ws = api.workspace("acme")
    assert ws.item_path(BY_NAME["workspace"], "") == "/v1/workspaces/acme"
    assert ws.item_path(BY_NAME["call_rules"], "") == "/v1/workspaces/acme/call-rules"
    assert (
        ws.item_path(BY_NAME["members"], "a@b.example")
        == "/v1/workspaces/acme/members/a%40b.example"
    )
    with pytest.raises(ValueError):
        ws.item_path(BY_NAME["notifications"], "x")


def test_client_refuses_bad_setup_without_showing_the_key():
    with pytest.raises(SetupError):
        ApiClient("ftp://x", TOKEN)
    with pytest.raises(SetupError) as info:
        ApiClient("http://x", "has space " + TOKEN)
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError):
        ApiClient("http://x", TOKEN, max_concurrency=0)
