"""The one rule for URLs wscfg lets a workspace send data to (webhook endpoints).

Config validation and the sandbox server both call :func:`check_public_https`, so a URL the
client accepts is a URL the server accepts, in any spelling. The host is normalized first,
the way a resolver or an HTTP client would read it, and only then judged:

1. names: IDNA / UTS-46 mapping (full-width digits and dots become ASCII, letters are
   lower-cased), one trailing dot dropped; then at most 253 characters and 63 per label (the
   DNS limits), letters, digits and inner hyphens only, ``xn--`` labels valid Punycode;
2. a host whose last label is a number is an IPv4 address in any of the forms ``inet_aton``
   accepts (``127.1``, ``0x7f.1``, ``0177.0.0.1``, ``2130706433``);
3. IPv6 addresses that carry an IPv4 address (``::a.b.c.d``, ``::ffff:a.b.c.d``, NAT64
   ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) are judged by that IPv4 address too.

Addresses are judged by the IANA registries as the pinned ``netaddr`` package ships them (not
by Python's ``ipaddress`` flags, which change from one patch release to the next):

- IPv4: refused when its /8 is ``Reserved`` in the IPv4 address space registry (0/8, 10/8,
  127/8, multicast, future use) or when the IPv4 special-purpose registry marks it not
  globally reachable (100.64/10, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16, 198.18/15, the
  documentation nets, 255.255.255.255, …);
- IPv6: accepted only inside ``Global Unicast`` (2000::/3) of the IPv6 address space registry,
  in a block the unicast assignments registry lists as ``ALLOCATED`` (``3fff::/20`` lies in the
  reserved ``3000::/4``), and globally reachable in the IPv6 special-purpose registry; so
  ``fec0::/10``, ``fc00::/7``, ``fe80::/10``, multicast, Teredo, 6to4, ``2001:db8::/32``, … are
  refused.

Names are refused when they are special-use or private-use (:data:`PRIVATE_SUFFIXES`), a single
label, not under a top-level domain of the root zone (the ICANN part of the Public Suffix List
as the pinned ``publicsuffixlist`` ships it; ``.example`` is kept for documentation), or when
their labels spell a non-public address the way wildcard DNS reads it (``10.0.0.1.nip.io``,
``10-0-0-1.sslip.io``, ``0a000001.nip.io``, ``fe80--1.sslip.io``).

A name that *resolves* to a private address cannot be caught here: the platform that delivers
must resolve, check the address with this rule, and connect to the address it checked.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
from collections.abc import Iterator
from typing import Any

SPECIAL_NAMES = ("localhost", "localhost.localdomain")
# special-use (RFC 6761, 6762, 8375, IANA's special-use domain names) and private-use names
# (ICANN's name-collision list, RFC 9476's `internal`, Kubernetes cluster names): a name equal
# to one of these, or ending in one, never belongs to a public host
PRIVATE_SUFFIXES = (
    "localhost",
    "localdomain",
    "localdomain6",
    "local",
    "internal",
    "intranet",
    "private",
    "corp",
    "home",
    "lan",
    "arpa",  # home.arpa, in-addr.arpa, ip6.arpa, ipv4only.arpa, resolver.arpa, service.arpa
    "test",
    "invalid",
    "svc",
    "cluster.local",
    "default",  # kubernetes.default
)
DOCUMENTATION_TLDS = frozenset({"example"})  # RFC 2606: kept for examples and tests
MAX_HOST = 253
MAX_LABEL = 63

_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")
_NUMBER_RE = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_OCTET_RE = re.compile(r"[0-9]{1,3}\Z")
_HEX_IPV4_RE = re.compile(r"[0-9a-f]{8}\Z")
_DASHED_IPV6_RE = re.compile(r"[0-9a-f-]*-[0-9a-f-]*\Z")
# RFC 3986, appendix B: the one regular expression every URI matches
_URI_RE = re.compile(r"(?:(?P<scheme>[^:/?#]+):)?(?://(?P<netloc>[^/?#]*))?")
_BAD_CHARS_RE = re.compile(r"[\x00-\x20\x7f\\]")
_PORT_RE = re.compile(r"[0-9]{1,5}\Z")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPAT = ipaddress.ip_network("::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

PUBLIC = "webhooks must reach a public address"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class URLRefused(ValueError):
    """A URL wscfg will not send data to; the message says why, in plain words."""


def check_public_https(url: str) -> str:
    """Return ``url`` unchanged when it is an https URL of a public host; raise otherwise."""
    if _BAD_CHARS_RE.search(url):
        raise URLRefused("the URL contains spaces, control characters or '\\'; write it plainly")
    parts = _URI_RE.match(url)  # always matches; urlsplit's checks differ by patch release
    assert parts is not None
    if (parts["scheme"] or "").lower() != "https":
        raise URLRefused("webhook URLs must use https://")
    netloc = parts["netloc"] or ""
    if "@" in netloc:
        raise URLRefused("webhook URL must not carry a user name or password")
    if "%" in netloc:
        raise URLRefused("the host of a webhook URL cannot be percent-encoded; write it plainly")
    host_text, port_text = _split_host_port(netloc)
    if port_text is not None and not valid_port(port_text):
        raise URLRefused(f"port '{port_text}' is not a port number from 1 to 65535")
    if not host_text:
        raise URLRefused("webhook URL has no host")
    if host_text.startswith("["):
        _check_ipv6(host_text)
    else:
        _check_host(host_text)
    return url


def valid_port(text: str) -> bool:
    """A port as a URL writes it: ASCII digits, 1 to 65535."""
    return _PORT_RE.match(text) is not None and 1 <= int(text) <= 65535


def _split_host_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise URLRefused("unclosed '[' in the host")
        rest = netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise URLRefused("unexpected text after the IPv6 address")
        return netloc[: end + 1], (rest[1:] if rest else None)
    host, sep, port = netloc.rpartition(":")
    if not sep:
        return netloc, None
    return host, port


def normalize_host(host: str) -> str:
    """The host as a resolver reads it: IDNA/UTS-46 mapped, lower-case, no trailing dot."""
    if not host.isascii():
        import idna

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise URLRefused(f"'{host}' is not a valid host name") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    return host


@functools.lru_cache(maxsize=4096)
def _check_host(raw: str) -> None:
    """Raise URLRefused unless ``raw`` is a public host name or address. A pure function of
    the text: a host accepted once is accepted again from the cache (a fleet's webhooks
    mostly share a few hosts); a refused one is worked out again each time."""
    host = normalize_host(raw)
    if len(host) > MAX_HOST:
        raise URLRefused(
            f"the host name is {len(host)} characters long; DNS allows at most {MAX_HOST}"
        )
    labels = host.split(".")
    if not host or "" in labels:
        raise URLRefused(f"'{raw}' is not a valid host name")
    long = [label for label in labels if len(label) > MAX_LABEL]
    if long:
        raise URLRefused(
            f"a label of '{raw}' is {len(long[0])} characters long; DNS allows at most "
            f"{MAX_LABEL} per label"
        )
    if _NUMBER_RE.match(labels[-1]):
        _check_ip(_ipv4(host, raw), raw)
        return
    if not all(_LABEL_RE.match(label) and _punycode_ok(label) for label in labels):
        raise URLRefused(f"'{raw}' is not a valid host name")
    if host in SPECIAL_NAMES or any(
        host == suffix or host.endswith("." + suffix) for suffix in PRIVATE_SUFFIXES
    ):
        raise URLRefused(f"'{raw}' is a private host name; {PUBLIC}")
    if len(labels) < 2:
        raise URLRefused(f"'{raw}' is not a public host name; {PUBLIC}")
    for ip in spelled_addresses(host):
        kind = address_kind(ip)
        if kind is not None:
            raise URLRefused(
                f"'{raw}' spells {kind} address ({ip}) in its labels, and wildcard DNS "
                f"resolves such names to it; {PUBLIC}"
            )
    if labels[-1] not in DOCUMENTATION_TLDS and labels[-1] not in root_zone_tlds():
        raise URLRefused(
            f"'{raw}' is not under a public top-level domain ('.{labels[-1]}' is not in the "
            f"root zone); {PUBLIC}"
        )


def _punycode_ok(label: str) -> bool:
    if not label.startswith("xn--"):
        return True
    import idna

    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        return False
    return True


def spelled_addresses(host: str) -> Iterator[IPAddress]:
    """The addresses a name spells the way wildcard DNS services read it.

    nip.io / sslip.io style: four numeric tokens in a row, separated by dots or hyphens
    (``10.0.0.1``, ``10-0-0-1``, ``ip-10-0-0-1``; decimal, and as ``inet_aton`` reads them),
    a token of eight hex digits (``0a000001``), and a label of hex groups and hyphens that is
    an IPv6 address once the hyphens are colons (``fe80--1``).
    """
    tokens = re.split(r"[.-]", host)
    for i in range(len(tokens) - 3):
        quad = tokens[i : i + 4]
        if all(_OCTET_RE.match(t) for t in quad) and all(int(t) <= 255 for t in quad):
            yield ipaddress.IPv4Address(".".join(str(int(t)) for t in quad))
        if all(_NUMBER_RE.match(t) for t in quad):
            with contextlib.suppress(OSError):
                yield ipaddress.IPv4Address(socket.inet_aton(".".join(quad)))
    for token in tokens:
        if _HEX_IPV4_RE.match(token):
            yield ipaddress.IPv4Address(int(token, 16))
    for label in host.split("."):
        if _DASHED_IPV6_RE.match(label):
            try:
                ip6 = ipaddress.IPv6Address(label.replace("-", ":"))
            except ValueError:
                continue
            yield ip6
            embedded = embedded_ipv4(ip6)
            if embedded is not None:
                yield embedded


@functools.cache
def root_zone_tlds() -> frozenset[str]:
    """The top-level domains of the root zone: the ICANN part of the Public Suffix List that
    the pinned ``publicsuffixlist`` package ships (read as data; the package is not imported)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("publicsuffixlist")
    assert spec is not None and spec.submodule_search_locations is not None
    data = Path(next(iter(spec.submodule_search_locations)), "public_suffix_list.dat")
    text = data.read_text(encoding="utf-8")
    icann = text.partition("// ===BEGIN ICANN DOMAINS===")[2]
    icann = icann.partition("// ===END ICANN DOMAINS===")[0]
    tlds = set()
    for line in icann.splitlines():
        if line and not line.startswith("//"):
            tld = line.rpartition(".")[2].strip().lstrip("!*")
            tlds.add(tld if tld.isascii() else tld.encode("idna").decode("ascii"))
    return frozenset(tlds)


def _ipv4(host: str, raw: str) -> ipaddress.IPv4Address:
    """Read an IPv4 address in every form ``inet_aton`` accepts (short, octal, hex)."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        raise URLRefused(f"'{raw}' is not a valid IPv4 address") from None
    return ipaddress.IPv4Address(packed)


def _check_ipv6(bracketed: str) -> None:
    try:  # a zone index ("%eth0") never gets here: a '%' anywhere in the host is refused
        ip = ipaddress.IPv6Address(bracketed[1:-1])
    except ValueError:
        raise URLRefused(f"'{bracketed}' is not a valid IPv6 address") from None
    if ip.is_loopback or ip.is_unspecified:
        _check_ip(ip, bracketed)
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        _check_ip(embedded, bracketed)
    _check_ip(ip, bracketed)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or ip in _IPV4_COMPAT:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@functools.cache
def _registries() -> dict[str, list[tuple[Any, dict[str, str]]]]:
    """The IANA rows netaddr ships: IPv4 and IPv6 address space, IPv6 unicast assignments."""
    from netaddr.ip.iana import IANA_INFO

    return {name: list(IANA_INFO[name].items()) for name in ("IPv4", "IPv6", "IPv6_unicast")}


def _row(name: str, address: Any) -> dict[str, str]:
    for block, row in _registries()[name]:
        if address in block:
            return row
    return {}


def _netaddr(ip: IPAddress) -> Any:
    import netaddr

    return netaddr.IPAddress(int(ip), ip.version)


def is_public(ip: IPAddress) -> bool:
    """Whether the IANA registries let ``ip`` be reached from the internet (module doc)."""
    address = _netaddr(ip)
    if not address.is_global() or address.is_multicast():
        return False
    if ip.version == 4:
        return _row("IPv4", address).get("status", "").lower() != "reserved"
    return (
        _row("IPv6", address).get("allocation") == "Global Unicast"
        and _row("IPv6_unicast", address).get("status") == "ALLOCATED"
    )


def address_kind(ip: IPAddress) -> str | None:
    """What makes ``ip`` unreachable from the internet (for the message), or None if public."""
    if is_public(ip):
        return None
    address = _netaddr(ip)
    if int(ip) == 0:
        return "an unspecified"
    if address.is_loopback():
        return "a loopback"
    if address.is_link_local():
        return "a link-local"
    if address.is_multicast():
        return "a multicast"
    if ip in _CGNAT:
        return "a shared (CGNAT)"
    if address.is_ipv4_private_use() or address.is_ipv6_unique_local():
        return "a private"
    return "a reserved"


def _check_ip(ip: IPAddress, raw: str) -> None:
    kind = address_kind(ip)
    if kind is None:
        return
    same = raw.strip("[]").lower().rstrip(".") == str(ip)
    shown = str(ip) if same else f"'{raw}' ({ip})"
    raise URLRefused(f"{shown} is {kind} address; {PUBLIC}")
