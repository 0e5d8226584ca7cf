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
