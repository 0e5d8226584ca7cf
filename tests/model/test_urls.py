"""The one webhook URL rule (wscfg.model.urls), driven by the hostile URL table."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.hostile_urls import ACCEPTED, HOSTILE
from wscfg.model.urls import URLRefused, check_public_https, normalize_host


@pytest.mark.parametrize(("url", "message"), sorted(HOSTILE.items()))
def test_hostile_url_is_refused_with_its_reason(url: str, message: str) -> None:
    with pytest.raises(URLRefused) as exc:
        check_public_https(url)
    assert str(exc.value) == message


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_url_is_kept_as_written(url: str) -> None:
    assert check_public_https(url) == url


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        ("HOOKS.Example.COM.", "hooks.example.com"),
        ("１２７.０.０.１", "127.0.0.1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_hosts_are_normalized_before_they_are_judged(host: str, normal: str) -> None:
    assert normalize_host(host) == normal


# --- the IANA registries, whole (issue 21 item 9) --------------------------------------------
# Written here from the IANA registries themselves (iana-ipv4-special-registry,
# iana-ipv6-special-registry, ipv4-address-space, ipv6-address-space,
# ipv6-unicast-address-assignments), independently of the netaddr data the rule reads: a
# netaddr upgrade that lost a row fails here.
NOT_GLOBALLY_REACHABLE = (
    # IPv4 special-purpose rows whose "Globally Reachable" is False or N/A
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    # IPv4 address space rows that are not unicast: multicast
    "224.0.0.0/4",
    # IPv6 special-purpose rows whose "Globally Reachable" is False or N/A
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/32",
    "2001:2::/48",
    "2001:10::/28",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    # IPv6 address space rows other than Global Unicast (2000::/3)
    "::/8",
    "100::/8",
    "200::/7",
    "400::/6",
    "800::/5",
    "1000::/4",
    "4000::/3",
    "6000::/3",
    "8000::/3",
    "a000::/3",
    "c000::/3",
    "e000::/4",
    "f000::/5",
    "f800::/6",
    "fe00::/9",
    "fec0::/10",
    "ff00::/8",
    # IPv6 unicast assignment rows RESERVED by IANA inside 2000::/3
    "2d00::/8",
    "2e00::/7",
    "3000::/4",
    "3ffe::/16",
)
# rows the special-purpose registries mark globally reachable, in allocated space: accepted
GLOBALLY_REACHABLE = (
    "192.0.0.9",
    "192.0.0.10",
    "192.31.196.1",
    "192.52.193.1",
    "192.175.48.1",
    "2001:1::1",
    "2001:1::2",
    "2001:3::1",
    "2001:4:112::1",
    "2001:20::1",
    "2620:4f:8000::1",
)


def _samples(block: str) -> list[str]:
    net = ipaddress.ip_network(block)
    first, last = int(net.network_address), int(net.broadcast_address)
    return [str(ipaddress.ip_address(n)) for n in {first, (first + last) // 2, last}]


def _url(address: str) -> str:
    return f"https://[{address}]/" if ":" in address else f"https://{address}/"


@pytest.mark.parametrize("block", NOT_GLOBALLY_REACHABLE)
def test_every_row_of_the_iana_registries_is_refused(block: str) -> None:
    for address in _samples(block):
        with pytest.raises(URLRefused, match=PUBLIC_END):
            check_public_https(_url(address))


@pytest.mark.parametrize("address", GLOBALLY_REACHABLE)
def test_registry_rows_marked_globally_reachable_are_accepted(address: str) -> None:
    assert check_public_https(_url(address)) == _url(address)


# --- spellings (DESIGN §6 invariant 10): every spelling of an address is judged as the address
PUBLIC_END = "webhooks must reach a public address"
NON_PUBLIC_V4 = st.sampled_from(
    [b for b in NOT_GLOBALLY_REACHABLE if "." in b and not b.startswith("::")]
).flatmap(
    lambda block: st.integers(
        int(ipaddress.ip_network(block).network_address),
        int(ipaddress.ip_network(block).broadcast_address),
    )
)
PUBLIC_V4 = st.sampled_from(
    ["8.8.8.0/24", "1.1.1.0/24", "93.184.0.0/16", "151.101.0.0/16"]
).flatmap(
    lambda block: st.integers(
        int(ipaddress.ip_network(block).network_address),
        int(ipaddress.ip_network(block).broadcast_address),
    )
)


def _octet(n: int, form: int) -> str:
    return (str(n), hex(n), f"0{n:o}", hex(n).upper().replace("X", "x"))[form]


@st.composite
def ipv4_literal_spellings(draw: st.DrawFn, value: int) -> str:
    """A spelling of the IPv4 address ``value`` that a resolver or inet_aton reads as it."""
    a, b, c, d = ipaddress.IPv4Address(value).packed
    form = draw(st.integers(0, 3))
    shape = draw(st.integers(0, 5))
    if shape == 0:
        host = ".".join(_octet(x, form) for x in (a, b, c, d))
    elif shape == 1:
        host = f"{_octet(a, form)}.{_octet(b, form)}.{(c << 8) | d}"
    elif shape == 2:
        host = f"{_octet(a, form)}.{(b << 16) | (c << 8) | d}"
    elif shape == 3:
        host = str(value) if form == 0 else hex(value)
    elif shape == 4:
        host = "[::ffff:" + ipaddress.IPv4Address(value).exploded + "]"
    else:
        host = "[64:ff9b::" + ipaddress.IPv4Address(value).exploded + "]"
    if shape < 4 and draw(st.booleans()):
        host += "."
    if shape < 4 and form == 0 and draw(st.booleans()):
        host = host.translate({ord(ch): ord(ch) + 0xFEE0 for ch in "0123456789"})
    return host


@st.composite
def wildcard_dns_spellings(draw: st.DrawFn, value: int) -> str:
    """A name that wildcard DNS (nip.io, sslip.io) resolves to the IPv4 address ``value``."""
    octets = [str(x) for x in ipaddress.IPv4Address(value).packed]
    sep = draw(st.sampled_from([".", "-"]))
    core = draw(st.sampled_from([sep.join(octets), f"{value:08x}"]))
    prefix = draw(st.sampled_from(["", "app.", "app-", "a.b."]))
    return prefix + core + draw(st.sampled_from([".nip.io", ".sslip.io", ".traefik.me"]))


@given(data=st.data(), value=NON_PUBLIC_V4)
@settings(max_examples=300)
def test_no_spelling_of_a_non_public_ipv4_address_gets_through(
    data: st.DataObject, value: int
) -> None:
    host = data.draw(st.one_of(ipv4_literal_spellings(value), wildcard_dns_spellings(value)))
    with pytest.raises(URLRefused, match=PUBLIC_END):
        check_public_https(f"https://{host}/hook")


@given(data=st.data(), value=PUBLIC_V4)
@settings(max_examples=100)
def test_spellings_of_a_public_ipv4_address_are_accepted(data: st.DataObject, value: int) -> None:
    host = data.draw(
        st.one_of(
            ipv4_literal_spellings(value).filter(lambda h: not h.startswith("[")),
            wildcard_dns_spellings(value),
        )
    )
    assert check_public_https(f"https://{host}/hook") == f"https://{host}/hook"


SUFFIXES = ("corp", "home", "intranet", "internal", "private", "lan", "local", "localhost")
SUFFIXES += ("home.arpa", "in-addr.arpa", "ip6.arpa", "svc", "cluster.local", "localdomain")


@given(
    labels=st.lists(
        st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), max_size=3
    ),
    suffix=st.sampled_from(SUFFIXES),
    upper=st.booleans(),
    dot=st.booleans(),
)
def test_private_and_special_use_names_are_refused_in_any_case(
    labels: list[str], suffix: str, upper: bool, dot: bool
) -> None:
    host = ".".join([*labels, suffix])
    host = (host.upper() if upper else host) + ("." if dot else "")
    with pytest.raises(URLRefused) as exc:
        check_public_https(f"https://{host}/x")
    assert str(exc.value) == f"'{host}' is a private host name; {PUBLIC_END}"


@given(length=st.integers(230, 280), label=st.integers(50, 80))
def test_dns_length_limits(length: int, label: int) -> None:
    """253 characters for the name (no trailing dot), 63 a label."""
    host = ("a" * 49 + ".") * 6
    host = host[: length - len(".example")].rstrip(".") + ".example"
    host = host.replace("..", ".a.")
    fits = len(host) <= 253
    if fits:
        assert check_public_https(f"https://{host}./") == f"https://{host}./"
    else:
        with pytest.raises(URLRefused) as exc:
            check_public_https(f"https://{host}./")
        assert (
            str(exc.value)
            == f"the host name is {len(host)} characters long; DNS allows at most 253"
        )
    one = "h" * label + ".example"
    if label <= 63:
        assert check_public_https(f"https://{one}/") == f"https://{one}/"
    else:
        with pytest.raises(URLRefused, match=f"is {label} characters long; DNS allows at most 63"):
            check_public_https(f"https://{one}/")


@pytest.mark.parametrize(
    "host",
    [
        "bücher" * 10 + ".example",  # a label of 60 characters, over 63 once encoded
        ".".join(["bücherbücherbücherbücher"] * 8) + ".example",  # 207 characters, 290 encoded
    ],
)
def test_idna_lengths_are_counted_on_the_wire(host: str) -> None:
    assert len(host) <= 253
    with pytest.raises(URLRefused, match="not a valid host name"):
        check_public_https(f"https://{host}/")


def test_a_host_judged_once_is_judged_the_same_every_time() -> None:
    # Hosts are checked once per process and the verdict kept for an accepted one: a refused
    # host is refused again with the same reason, in any URL that names it.
    refused = [(url, msg) for url, msg in sorted(HOSTILE.items()) if "host" in msg][:20]
    assert refused
    for _ in range(2):
        for url, message in refused:
            with pytest.raises(URLRefused) as exc:
                check_public_https(url)
            assert str(exc.value) == message
        for url in ACCEPTED:
            assert check_public_https(url) == url
            assert check_public_https(url + "/again?x=1") == url + "/again?x=1"
