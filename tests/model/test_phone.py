"""Phone numbers: the E.164 fast path agrees with the phonenumbers library on every input."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.model import BlockedCaller, e164


def library(value: str) -> str | None:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def ours(value: str) -> str | None:
    try:
        return e164(value)
    except ValueError:
        return None


@settings(max_examples=3000, deadline=None)
@given(st.integers(1, 999), st.text("0123456789", min_size=1, max_size=14))
def test_fast_path_matches_the_library(cc, rest):
    value = f"+{cc}{rest}"
    assert ours(value) == library(value)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("+1 555 010 0100", "+15550100100"),
        ("+15550100199", "+15550100199"),
        ("+44 (0)20 7183 8750", "+442071838750"),
        ("+3780549896297", "+3780549896297"),
    ],
)
def test_numbers_are_stored_as_e164(written, stored):
    assert BlockedCaller.model_validate(written).number == stored


@pytest.mark.parametrize("bad", ["555 0100", "+1 555", "call me", "+999123456"])
def test_impossible_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        BlockedCaller.model_validate(bad)
