"""The one rule for URLs wscfg lets a workspace send data to (webhook endpoints).

Config validation and the sandbox server both call :func:`check_public_https`, so a URL the
client accepts is a URL the server accepts, in any spelling. The host is normalized first,
the way a resolver or an HTTP client would read it, and only then judged:

1. names: IDNA / UTS-46 mapping (full-width digits and dots become ASCII, letters are
   lower-cased), one trailing dot dropped;
2. a host whose last label is a number is an IPv4 address in any of the forms ``inet_aton``
   accepts (``127.1``, ``0x7f.1``, ``0177.0.0.1``, ``2130706433``);
3. IPv6 addresses that carry an IPv4 address (``::a.b.c.d``, ``::ffff:a.b.c.d``, NAT64
   ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo) are judged by that IPv4 address too.

Refused: anything but ``https``, user info (even an empty ``:@``), ports outside 1-65535,
loopback, private, link-local, shared (CGNAT), multicast, reserved, documentation and
unspecified addresses, and the special-use names (``localhost``, ``*.localhost``, ``*.local``,
``*.internal``, ``*.lan``, ``*.home.arpa``) and single-label names.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

SPECIAL_NAMES = ("localhost", "localhost.localdomain")
SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")

_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_NUMBER_RE = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_BAD_CHARS_RE = re.compile(r"[\x00-\x20\x7f\\]")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPAT = ipaddress.ip_network("::/96")

PUBLIC = "webhooks must reach a public address"


class URLRefused(ValueError):
    """A URL wscfg will not send data to; the message says why, in plain words."""


def check_public_https(url: str) -> str:
    """Return ``url`` unchanged when it is an https URL of a public host; raise otherwise."""
    if _BAD_CHARS_RE.search(url):
        raise URLRefused("the URL contains spaces, control characters or '\\'; write it plainly")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise URLRefused("not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise URLRefused("webhook URLs must use https://")
    netloc = parts.netloc
    if "@" in netloc:
        raise URLRefused("webhook URL must not carry a user name or password")
    if "%" in netloc:
        raise URLRefused("the host of a webhook URL cannot be percent-encoded; write it plainly")
    host_text, port_text = _split_host_port(netloc)
    if port_text is not None and not _valid_port(port_text):
        raise URLRefused(f"port '{port_text}' is not a port number from 1 to 65535")
    if not host_text:
        raise URLRefused("webhook URL has no host")
    if host_text.startswith("["):
        _check_ipv6(host_text)
    else:
        _check_host(host_text)
    return url


def _valid_port(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,5}", text) is not None and 1 <= int(text) <= 65535


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


def _check_host(raw: str) -> None:
    host = normalize_host(raw)
    labels = host.split(".")
    if not host or "" in labels:
        raise URLRefused(f"'{raw}' is not a valid host name")
    if _NUMBER_RE.match(labels[-1]):
        ip = _ipv4(host, raw)
        _check_ip(ip, raw)
        return
    if not all(_LABEL_RE.match(label) for label in labels):
        raise URLRefused(f"'{raw}' is not a valid host name")
    if host in SPECIAL_NAMES or host.endswith(SPECIAL_SUFFIXES):
        raise URLRefused(f"'{raw}' is a private host name; {PUBLIC}")
    if len(labels) < 2:
        raise URLRefused(f"'{raw}' is not a public host name; {PUBLIC}")


def _ipv4(host: str, raw: str) -> ipaddress.IPv4Address:
    """Read an IPv4 address in every form ``inet_aton`` accepts (short, octal, hex)."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        raise URLRefused(f"'{raw}' is not a valid IPv4 address") from None
    return ipaddress.IPv4Address(packed)


def _check_ipv6(bracketed: str) -> None:
    text = bracketed[1:-1]
    if "%" in text:
        raise URLRefused(f"'{bracketed}' carries a zone index; {PUBLIC}")
    try:
        ip = ipaddress.IPv6Address(text)
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


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes ``ip`` unreachable from the internet, or None for a public address."""
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_multicast:
        return "a multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("100.64.0.0/10"):
        return "a shared (CGNAT)"
    if ip.is_reserved:
        return "a reserved"
    if ip.is_private:
        return "a private"
    if not ip.is_global:
        return "a reserved"
    return None


def _check_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, raw: str) -> None:
    kind = _kind(ip)
    if kind is None:
        return
    same = raw.strip("[]").lower().rstrip(".") == str(ip)
    shown = str(ip) if same else f"'{raw}' ({ip})"
    raise URLRefused(f"{shown} is {kind} address; {PUBLIC}")
