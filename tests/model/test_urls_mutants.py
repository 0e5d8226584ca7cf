"""model/urls.py: behaviour the mutation run (scripts/mutation model/urls.py, docs/testing.md)
found untested. Each case names the broken code it catches; messages are compared whole."""

from __future__ import annotations

import pytest

from wscfg.model.urls import URLRefused, check_public_https

PUBLIC = "webhooks must reach a public address"


def _spells(host: str, kind: str, ip: str) -> str:
    return (
        f"'{host}' spells {kind} address ({ip}) in its labels, and wildcard DNS resolves such "
        f"names to it; {PUBLIC}"
    )


REFUSED = {
    # the first ']' closes an IPv6 host (mutant: the last one, which read "[…]]" as the host)
    "https://[2606:4700::1]]/": "unexpected text after the IPv6 address",
    # the port is what follows the last ':' (mutant: the first, which blamed the port)
    "https://h.example.com:80:80/": "'h.example.com:80' is not a valid host name",
    # an empty label is refused as such (mutant: only an empty host was, so "a..1" went on to
    # be read as an IPv4 address)
    "https://a..1/": "'a..1' is not a valid host name",
    # an address spelled in the last labels is found (mutant: the last four tokens were skipped)
    "https://a.10-0-0-1/": _spells("a.10-0-0-1", "a private", "10.0.0.1"),
    # decimal octets up to 255 are read as decimal too (mutant: `< 255` left only inet_aton's
    # octal reading, 8.0.0.255, a public address)
    "https://010-0-0-255.nip.io/": _spells("010-0-0-255.nip.io", "a private", "10.0.0.255"),
    # a label that is not an IPv6 address does not stop the search (mutant: `break`)
    "https://a-b.fe80--1.sslip.io/": _spells("a-b.fe80--1.sslip.io", "a link-local", "fe80::1"),
}


@pytest.mark.parametrize(("url", "message"), sorted(REFUSED.items()))
def test_refused_with_its_reason(url: str, message: str) -> None:
    with pytest.raises(URLRefused) as exc:
        check_public_https(url)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "url",
    [
        # 256 is no octet: the name spells no address (mutant: `<= 256` crashed on it)
        "https://app.10-0-0-256.nip.io/",
        # a public IPv6 address spelled in a name carries no IPv4 address (mutants: the embedded
        # address looked up on None, or None judged as an address)
        "https://2606-4700--1.sslip.io/",
    ],
)
def test_names_that_spell_no_private_address_are_accepted(url: str) -> None:
    assert check_public_https(url) == url


def test_a_zone_index_is_refused_as_percent_encoding():
    """The '%' of a zone index is refused before the IPv6 address is read (so no IPv6 check
    needs its own zone test)."""
    for url in ("https://[fe80::1%25eth0]/", "https://[fe80::1%eth0]/"):
        with pytest.raises(URLRefused) as exc:
            check_public_https(url)
        assert str(exc.value) == (
            "the host of a webhook URL cannot be percent-encoded; write it plainly"
        )
