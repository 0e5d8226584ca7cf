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


def _fast_by_country(value: str) -> str | None:
    """The fast path as first written: the country code and its rules looked up per number."""
    from wscfg.model.values import E164_RE, _possible_length, _prefix_patterns

    if not E164_RE.match(value):
        return None
    digits = value[1:]
    for n in (1, 2, 3):
        cc = int(digits[:n])
        patterns = _prefix_patterns(cc)
        if patterns is None:
            continue
        national = digits[n:]
        if any(p.match(national) for p in patterns) or national.startswith("0"):
            return None
        return value if _possible_length(cc, len(national)) else None
    return None


@settings(max_examples=3000, deadline=None)
@given(
    st.text("0123456789", min_size=1, max_size=16),
    st.sampled_from(["+", "", "++", "+0"]),
    st.sampled_from(["", "\n", " "]),
)
def test_fast_path_planned_per_prefix_and_length_decides_as_per_number(digits, plus, end):
    # The fast path works out a country's rules once per (first three digits, length): every
    # number gets the verdict the per-number lookup gave, numbers of every length included.
    from wscfg.model.values import _e164_fast

    value = plus + digits + end
    assert _e164_fast(value) == _fast_by_country(value)
    assert _e164_fast(value) == _fast_by_country(value)  # planned the second time
