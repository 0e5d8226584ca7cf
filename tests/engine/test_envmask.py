"""Masking environment values in outputs, and putting them back for a saved plan."""

from __future__ import annotations

import pytest

from wscfg.engine.envmask import EnvMask, unmask
from wscfg.engine.envrefs import env_references
from wscfg.errors import PlanError

KEY = b"plan-key"


def test_mask_hides_every_case_and_unmask_restores_the_value() -> None:
    mask = EnvMask({"HOST": "Hooks.Example.com"}, KEY)
    doc = {"url": "https://hooks.example.com/x", "hooks.example.com": ["HOOKS.EXAMPLE.COM"]}
    masked = mask.data(doc)
    assert "example" not in str(masked).lower()
    assert masked["url"] == f"https://{mask.marker('HOST')}/x"
    used: dict[str, str] = {}
    back = unmask(masked, {"HOST": "Hooks.Example.com"}, KEY, used)
    assert back["url"] == "https://Hooks.Example.com/x"
    assert used == {"HOST": "Hooks.Example.com"}


@pytest.mark.parametrize(
    ("environ", "key", "message"),
    [
        ({}, KEY, "the plan uses ${env:HOST}, which is not set"),
        ({"HOST": "other.example.com"}, KEY, "${env:HOST} holds another value than when the plan"),
        ({"HOST": "hooks.example.com"}, b"other", "${env:HOST} holds another value than when"),
    ],
)
def test_unmask_refuses_a_missing_or_changed_value(
    environ: dict[str, str], key: bytes, message: str
) -> None:
    masked = EnvMask({"HOST": "hooks.example.com"}, KEY).text("https://hooks.example.com/")
    with pytest.raises(PlanError) as exc:
        unmask(masked, environ, key, {})
    assert str(exc.value).startswith(message)


def test_export_references_environment_values_but_not_machine_settings() -> None:
    environ = {"HOOK_HOST": "hooks.example.com", "TZ": "Europe/Paris", "SHORT": "abc"}
    doc = {"tz": "Europe/Paris", "url": "https://hooks.example.com/a", "n": "abc ${x}"}
    assert env_references(doc, environ) == {
        "tz": "Europe/Paris",
        "url": "https://${env:HOOK_HOST}/a",
        "n": "abc $${x}",
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("PathSecretVal7Qk2", "https://h.example.com/pathsecretval7qk2"),  # lower-cased
        ("Straße-Geheim", "strasse-geheim"),  # case-folded (ß → ss)
        ("01-00199", "+15550100199"),  # E.164: the digits of the part
        ("a b/c?d", "https://x.example/a%20b%2Fc%3Fd"),  # percent-encoded
        ("a b/c?d", "q=a+b%2Fc%3Fd"),  # form-encoded
        ("p%40ss%20w0rd", "p@ss w0rd"),  # percent-decoded
        ("postgres://admin:Pw0rd9x@db/prod", "login admin:Pw0rd9x refused"),  # taken apart
        ("postgres://admin:Pw0rd9x@db/prod", "password Pw0rd9x"),
    ],
)
def test_normalized_forms_are_masked(value: str, shown: str) -> None:
    mask = EnvMask({"V": value}, KEY)
    out = mask.text(shown)
    assert "(from ${env:V}" in out
    for form in (value, value.lower(), "Pw0rd9x", "0100199", "pathsecretval7qk2"):
        assert form.lower() not in out.lower()


def test_short_forms_are_not_masked() -> None:
    """A digits-only form or a password shorter than 4 characters is too common to hide."""
    mask = EnvMask({"V": "(1)-2", "U": "postgres://a:b@h/x"}, KEY)
    assert mask.text("12 and a:b and b") == "12 and a:b and b"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a b/c?d", "https://x.example/a%20b%2Fc%3Fd"),
        ("01-00199", "+15550100199"),
        ("postgres://admin:Pw0rd9x@db/prod", "user admin:Pw0rd9x"),
    ],
)
def test_unmask_puts_back_the_spelling_that_was_masked(value: str, text: str) -> None:
    masked = EnvMask({"V": value}, KEY).text(text)
    assert value not in masked
    assert unmask(masked, {"V": value}, KEY, {}) == text


# --- found by the mutation run (docs/testing.md, "Mutation run") ----------------------------


def test_fingerprint_is_an_hmac_with_its_own_label() -> None:
    import hashlib
    import hmac

    from wscfg.engine.envmask import env_fingerprint

    want = hmac.new(KEY, b"env\0abc", hashlib.sha256).hexdigest()[:16]
    assert env_fingerprint(KEY, "abc") == want


def test_forms_of_a_url_and_of_a_phone_part() -> None:
    from wscfg.engine.envmask import forms

    assert forms("postgres://ad min:P%40w0rd@db/prod") == {
        "": "postgres://ad min:P%40w0rd@db/prod",
        "percent-encoded": "postgres%3A%2F%2Fad%20min%3AP%2540w0rd%40db%2Fprod",
        "path-encoded": "postgres%3A//ad%20min%3AP%2540w0rd%40db/prod",
        "form-encoded": "postgres%3A%2F%2Fad+min%3AP%2540w0rd%40db%2Fprod",
        "percent-decoded": "postgres://ad min:P@w0rd@db/prod",
        "password": "P%40w0rd",
        "decoded-password": "P@w0rd",
        "userinfo": "ad min:P%40w0rd",
    }
    assert forms("(01) 00-199") == {
        "": "(01) 00-199",
        "percent-encoded": "%2801%29%2000-199",  # path-encoded: the same, kept once
        "form-encoded": "%2801%29+00-199",
        "digits": "0100199",
    }
    assert forms("Straße") == {
        "": "Straße",
        "casefolded": "strasse",
        "percent-encoded": "Stra%C3%9Fe",  # path- and form-encoded: the same, kept once
    }
    assert forms('a"bc') == {"": 'a"bc', "json": 'a\\"bc', "percent-encoded": "a%22bc"}
    assert forms("abc") == {}  # too short to hide


def test_the_shortest_masked_value_and_the_longest_match_first() -> None:
    mask = EnvMask({"S": "abcd", "L": "abcdefgh", "T": "abc"}, KEY)
    assert mask.text("xabcdx") == f"x{mask.marker('S')}x"
    assert mask.text("abcdefgh abc") == f"{mask.marker('L')} abc"
    assert mask.data(["abcd", 1, {"abcd": None}]) == [
        mask.marker("S"),
        1,
        {mask.marker("S"): None},
    ]
    assert mask.text("") == ""
    assert EnvMask({}, KEY).text("abcd") == "abcd" and not EnvMask({}, KEY)


def test_a_case_folded_value_is_put_back_as_the_value() -> None:
    mask = EnvMask({"V": "Straße-X"}, KEY)
    assert mask.text("strasse-x") == mask.marker("V")  # no spelling named: the value itself
    assert mask.text("STRA%C3%9FE-X") == mask.marker("V", "percent-encoded")


def test_unmask_walks_lists_and_names_a_damaged_mask() -> None:
    mask = EnvMask({"V": "value-1"}, KEY)
    used: dict[str, str] = {}
    assert unmask([mask.text("a value-1"), "plain", 3], {"V": "value-1"}, KEY, used) == [
        "a value-1",
        "plain",
        3,
    ]
    assert used == {"V": "value-1"}
    damaged = mask.marker("V").replace("}, sha256", "} digits, sha256")
    with pytest.raises(PlanError) as exc:
        unmask(damaged, {"V": "value-1"}, KEY, {})
    assert str(exc.value) == "the plan file's mask of ${env:V} is damaged; make the plan again"
    with pytest.raises(PlanError) as exc:
        unmask(mask.marker("V"), {"V": "other-1"}, KEY, {})
    assert str(exc.value) == (
        "${env:V} holds another value than when the plan was made (or the plan key differs); "
        "make the plan again"
    )
