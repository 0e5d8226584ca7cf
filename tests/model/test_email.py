"""Email addresses: the ASCII fast path agrees with email-validator (through pydantic) on every
address it accepts, and everything else still gets the library's verdict."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from wscfg.model import Member
from wscfg.model.email import SPECIAL_USE, email_fast


def library(value: str) -> str | None:
    try:
        return validate_email(value)[1].lower()
    except PydanticCustomError:
        return None


# Pieces that sit near the fast path's edges: dots, hyphens, "--", digits-only labels,
# special-use names, upper case, characters the library accepts but the fast path leaves to it.
LOCAL = st.text("aZ9._+-'!#%~ é", min_size=0, max_size=70)
LABEL = st.one_of(
    st.text("aB3-", min_size=0, max_size=66),
    st.sampled_from(["xn--bcher-kva", "test", "local", "arpa", "example", "co", "a1", "123"]),
)
DOMAIN = st.lists(LABEL, min_size=1, max_size=4).map(".".join)


@settings(max_examples=3000)
@given(LOCAL, DOMAIN)
def test_fast_path_agrees_with_the_library(local, domain):
    value = f"{local}@{domain}"
    fast = email_fast(value)
    if fast is not None:
        assert fast == library(value)


@settings(max_examples=500)
@given(st.emails())
def test_fast_path_agrees_on_generated_addresses(value):
    fast = email_fast(value)
    if fast is not None:
        assert fast == library(value)


@pytest.mark.parametrize(
    "value",
    ["dr.patel@acme-dental.example", "Front.Desk+calls@Acme.Example.com", "a_b-c@x1.io"],
)
def test_plain_addresses_take_the_fast_path(value):
    assert email_fast(value) == value.lower() == library(value)


@pytest.mark.parametrize(
    "value",
    [
        "user@mail.test",  # special-use domain: the library refuses it
        "user@xn--bcher-kva.example",  # punycode: the library checks it
        "a..b@example.com",
        "José@example.com",
        "John Doe <jd@example.com>",
        "user@123.com.42",
    ],
)
def test_doubtful_addresses_go_to_the_library(value):
    assert email_fast(value) is None


def test_special_use_names_cover_the_library_list():
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) <= SPECIAL_USE


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Dr.Patel@Acme-Dental.example", "dr.patel@acme-dental.example"),
        ("  desk@acme.example ", "desk@acme.example"),
        ("John Doe <JD@Example.com>", "jd@example.com"),  # the library's "pretty" form
        ("josé@example.com", "josé@example.com"),  # international: through the library
    ],
)
def test_members_store_lower_case_addresses(written, stored):
    assert Member.model_validate({"email": written, "role": "member"}).email == stored


@pytest.mark.parametrize("bad", ["not-an-address", "a@b", "user@mail.test", "a..b@example.com"])
def test_invalid_addresses_are_refused_by_the_library(bad):
    with pytest.raises(ValidationError) as info:
        Member.model_validate({"email": bad, "role": "member"})
    (error,) = info.value.errors()
    assert error["loc"] == ("email",)
    assert error["type"] == "value_error"


@pytest.mark.parametrize("domain", ["mail.test", "a.b.localhost", "x.onion", "arpa", "in.invalid"])
def test_a_special_use_domain_is_doubtful_every_time(domain):
    # The domain check is kept per domain: the same domain gets the same verdict each time,
    # whatever the address before it.
    for local in ("a", "b.c", "a"):
        assert email_fast(f"{local}@{domain}") is None
    assert email_fast(f"a@{domain}.example") == f"a@{domain}.example"
