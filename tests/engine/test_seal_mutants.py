"""engine/seal.py: behaviour the mutation run (scripts/mutation engine/seal.py, docs/testing.md)
found untested: the exact HMAC schemes (a plan file written by one wscfg must verify in
another), secret sealing in a change, and the exact message of each seal status."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from wscfg.engine.apply import secrets_from_desired
from wscfg.engine.plan import make_plan
from wscfg.engine.seal import (
    CHANGED,
    HIDDEN,
    SealCheck,
    Sealer,
    canonical,
    check_seal,
    document_hmac,
    inspect_seal,
    is_secret_marker,
    key_id,
    plan_hmac,
    seal_change,
    seal_document,
)
from wscfg.errors import PlanFileError

from .helpers import desired, live

KEY = b"the-plan-key"


def _hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- the schemes, written out from the module's documentation -------------------------------


def test_a_secret_hmac_is_hmac_sha256_of_the_value_under_the_plan_key():
    assert plan_hmac(KEY, "s3cret-é") == "hmac-sha256:" + _hex(KEY, "s3cret-é".encode())


def test_a_key_id_is_the_first_16_hex_digits_of_an_hmac_of_a_fixed_label():
    assert key_id(KEY) == _hex(KEY, b"wscfg plan key id")[:16]
    assert Sealer(KEY, lambda slug: None).key_id == key_id(KEY)  # type: ignore[arg-type,return-value]


def test_the_canonical_form_is_sorted_compact_utf8_json_without_the_seal():
    doc = {"b": [1, 2.5, None], "a": {"z": "é", "y": True}, "seal": {"key_id": "x"}}
    assert canonical(doc) == '{"a":{"y":true,"z":"é"},"b":[1,2.5,null]}'.encode()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), {1, 2}, b"x"])
def test_a_value_json_cannot_carry_is_refused(value: Any) -> None:
    with pytest.raises(PlanFileError) as err:
        canonical({"v": value})
    assert str(err.value) == f"{CHANGED} (it holds a value JSON cannot carry)"


def test_the_document_hmac_covers_a_label_and_the_canonical_form():
    doc = {"format": "wscfg-plan", "targets": [{"slug": "é"}]}
    message = b"wscfg plan seal v1\0" + canonical(doc)
    assert document_hmac(KEY, doc) == "hmac-sha256:" + _hex(KEY, message)


def test_sealing_replaces_an_old_seal_and_puts_the_seal_last():
    doc = {"seal": {"key_id": "old", "hmac": "old"}, "b": 1, "a": 2}
    sealed = seal_document(doc, KEY)
    assert list(sealed) == ["b", "a", "seal"]
    assert sealed["seal"] == {"key_id": key_id(KEY), "hmac": document_hmac(KEY, {"b": 1, "a": 2})}
    check_seal(sealed, KEY)  # verifies


# --- what a seal check says -----------------------------------------------------------------


def test_each_status_has_its_own_message():
    kid = key_id(KEY)
    assert SealCheck("verified", kid, kid).message() == (
        f"the plan file's seal verified (plan key id {kid})"
    )
    assert SealCheck("no_key", kid).message() == (
        "the plan file's seal could not be checked: no plan key here (set WSCFG_PLAN_KEY, or "
        "WSCFG_TOKEN, as in the job that made the plan)"
    )
    assert SealCheck("changed", kid, kid).message() == (
        "the plan file was changed after it was written; make the plan again and review it"
    )


def test_a_verified_seal_names_the_key_it_was_sealed_with():
    found = inspect_seal(seal_document({"a": 1}, KEY), KEY)
    assert found == SealCheck("verified", key_id(KEY), key_id(KEY))
    assert found.message() == f"the plan file's seal verified (plan key id {key_id(KEY)})"


def test_an_edit_under_the_same_key_is_a_change_and_keeps_both_key_ids():
    doc = {**seal_document({"a": 1}, KEY), "a": 2}
    assert inspect_seal(doc, KEY) == SealCheck("changed", key_id(KEY), key_id(KEY))
    with pytest.raises(PlanFileError) as err:
        check_seal(doc, KEY)
    assert str(err.value) == f"{CHANGED}; make the plan again and review it"


def test_another_key_is_refused_by_check_seal_with_its_reason():
    doc = seal_document({"a": 1}, KEY)
    with pytest.raises(PlanFileError) as err:
        check_seal(doc, b"other")
    assert str(err.value) == SealCheck("other_key", key_id(KEY), key_id(b"other")).message()


@pytest.mark.parametrize(
    "seal",
    [
        {"key_id": "k", "hmac": None},
        {"key_id": None, "hmac": "h"},
        {"hmac": "h", "other": "k"},
        {"key_id": "k", "hmac": "h", "x": "y"},
    ],
)
def test_a_seal_with_wrong_members_is_a_change_even_without_a_key(seal: Any) -> None:
    assert inspect_seal({"a": 1, "seal": seal}, None) == SealCheck("changed")


def test_without_a_key_a_well_formed_seal_reports_its_key_id():
    doc = seal_document({"a": 1}, KEY)
    assert inspect_seal(doc, None) == SealCheck("no_key", key_id(KEY))


# --- secrets in a change --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "marker"),
    [
        ({"env": "X"}, True),
        ({"env": "X", "fingerprint": "sha256:1"}, True),
        ({"env": "X", "hmac": "hmac-sha256:1"}, True),
        ({"env": "X", "fingerprint": "f", "hmac": "h"}, True),
        ({"fingerprint": "sha256:1"}, False),
        ({"env": "X", "value": "v"}, False),
        (["env"], False),
        ("env", False),
        (None, False),
    ],
)
def test_what_counts_as_a_secret_marker(value: Any, marker: bool) -> None:
    assert is_secret_marker(value) is marker


def _rotation() -> tuple[Any, Any]:
    d = desired(
        {"webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "new-value"}]}
    )
    lv = live({"webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "old"}]})
    (change,) = make_plan(d, lv).changes
    return change, secrets_from_desired(d)


def test_a_sealed_change_holds_an_hmac_and_no_fingerprint():
    change, lookup = _rotation()
    data = seal_change(change, change.to_dict(), lookup, KEY)
    assert data["after"]["secret"] == {"env": "HOOK_SECRET", "hmac": plan_hmac(KEY, "new-value")}
    assert data["before"]["secret_fingerprint"] == HIDDEN
    assert data["fields"] == [{"path": "secret_fingerprint", "before": HIDDEN, "after": HIDDEN}]
    assert data["after"]["url"] == "https://h.example.com/"
    assert "sha256:" not in repr(data).replace("hmac-sha256:", "")


@pytest.mark.parametrize(("lookup", "key"), [(True, None), (False, KEY), (False, None)])
def test_without_a_key_or_a_value_a_secret_keeps_only_its_reference(lookup: bool, key: Any):
    change, value_of = _rotation()
    data = seal_change(change, change.to_dict(), value_of if lookup else None, key)
    assert data["after"]["secret"] == {"env": "HOOK_SECRET"}
    assert data["before"]["secret_fingerprint"] == HIDDEN


def test_a_secret_set_for_the_first_time_hides_only_the_side_that_has_one():
    d = desired({"webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "v1"}]})
    lv = live({"webhooks": [{"name": "w", "url": "https://h.example.com/"}]})
    (change,) = make_plan(d, lv).changes
    data = seal_change(change, change.to_dict(), secrets_from_desired(d), KEY)
    assert "secret_fingerprint" not in data["before"]
    assert "secret_fingerprint" not in data["after"]
    fields = {f["path"]: (f["before"], f["after"]) for f in data["fields"]}
    assert fields["secret_fingerprint"] == (None, HIDDEN)


def test_an_already_sealed_secret_is_left_as_it_is():
    change, lookup = _rotation()
    data = change.to_dict()
    data["after"]["secret"] = {"env": "HOOK_SECRET", "hmac": "hmac-sha256:abc"}
    data = seal_change(change, data, lookup, KEY)
    assert data["after"]["secret"] == {"env": "HOOK_SECRET", "hmac": "hmac-sha256:abc"}


def test_a_kind_without_secrets_is_returned_untouched():
    d = desired({"call_tags": [{"name": "a", "color": "#111111"}]})
    (change,) = make_plan(d, live({"call_tags": [{"name": "a", "color": "#222222"}]})).changes
    data = change.to_dict()
    data["after"]["secret_fingerprint"] = "sha256:looks-like-one"
    assert seal_change(change, data, None, KEY) is data
    assert data["after"]["secret_fingerprint"] == "sha256:looks-like-one"


def test_a_new_secret_is_sealed_in_a_create_which_has_no_fields():
    """Mutants: ``data.get("fields", [])`` without its default (a create has no fields: a
    crash); the lookup not given the secret's marker (a lookup reads the variable's name from
    it)."""
    d = desired({"webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "v1"}]})
    (change,) = make_plan(d, live({})).changes
    environ = {"HOOK_SECRET": "v1"}

    def by_reference(change: Any, name: str, marker: dict[str, Any]) -> str:
        return environ[marker["env"]]

    data = seal_change(change, change.to_dict(), by_reference, KEY)
    assert "fields" not in data
    assert data["after"]["secret"] == {"env": "HOOK_SECRET", "hmac": plan_hmac(KEY, "v1")}


def test_a_fingerprint_field_with_no_value_on_one_side_keeps_none_there():
    """Mutant: ``None if f["after"] is None`` made always ``(hidden)`` (a secret that is no
    longer there would read as one)."""
    change, lookup = _rotation()
    data = change.to_dict()
    data["fields"] = [{"path": "secret_fingerprint", "before": "sha256:1", "after": None}]
    data = seal_change(change, data, lookup, KEY)
    assert data["fields"] == [{"path": "secret_fingerprint", "before": HIDDEN, "after": None}]
