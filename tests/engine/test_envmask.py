"""Masking environment values in outputs, and putting them back for a saved plan."""

from __future__ import annotations

import pytest

from wscfg.engine.envmask import EnvMask, env_references, unmask
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
