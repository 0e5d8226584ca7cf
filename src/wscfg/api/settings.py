"""Where the API is and which key to use: ``--server`` / ``WSCFG_SERVER`` and ``WSCFG_TOKEN``.

Imports neither httpx nor anything heavy, so the CLI may use it on every start.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wscfg.errors import SetupError

SERVER_ENV = "WSCFG_SERVER"
TOKEN_ENV = "WSCFG_TOKEN"
# The ids (key_…) of the other keys wscfg applies with (a deploy key, when plan and drift run
# with a read key): their writes are wscfg's, not drift (docs/drift.md, "Which writes are
# wscfg's").
APPLY_KEYS_ENV = "WSCFG_APPLY_KEY_IDS"
_KEY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


def apply_keys_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The key ids of :data:`APPLY_KEYS_ENV` (separated by commas or spaces); a
    :class:`SetupError` that names the variable, never its value, when one is not an id."""
    env = os.environ if environ is None else environ
    ids = [part for part in re.split(r"[\s,]+", env.get(APPLY_KEYS_ENV, "")) if part]
    if any(_KEY_ID.fullmatch(i) is None for i in ids):
        raise SetupError(
            f"{APPLY_KEYS_ENV} must list API key ids (key_…) separated by commas or spaces"
        )
    return frozenset(ids)


@dataclass(frozen=True)
class ServerSettings:
    """A configured server. ``token`` never appears in ``repr``/``str``."""

    url: str
    token: str = field(repr=False)

    @property
    def plaintext(self) -> bool:
        """True when the key would cross a network unencrypted (http:// to a non-loopback host).

        wscfg does not refuse this (a sandbox on a LAN is legitimate); the CLI may warn.
        """
        parts = urlsplit(self.url)
        return parts.scheme == "http" and not _is_loopback(parts.hostname or "")


def server_from_env(
    server: str | None = None, environ: Mapping[str, str] | None = None
) -> ServerSettings | None:
    """The server to talk to, or ``None`` for the embedded sandbox.

    ``server`` (from ``--server``) wins over ``WSCFG_SERVER``. A server without ``WSCFG_TOKEN``
    is a :class:`SetupError`; so is a URL that is not ``http(s)://host[:port][/prefix]``.
    """
    env = os.environ if environ is None else environ
    url = (server or "").strip() or env.get(SERVER_ENV, "").strip()
    if not url:
        return None
    url = validate_base_url(url)
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise SetupError(
            f"a server is configured ({url}) but {TOKEN_ENV} is not set; export the workspace "
            f"or agency API key as {TOKEN_ENV} (unset {SERVER_ENV} and drop --server to use the "
            "embedded sandbox instead)"
        )
    validate_token(token)
    return ServerSettings(url=url, token=token)


API_PREFIX = "/v1"  # what every API path starts with; the base URL stops before it


def validate_base_url(url: str) -> str:
    """``url`` without a trailing slash or ``/v1``, or :class:`SetupError` saying what is wrong.

    ``http://127.0.0.1:8787/v1`` (what ``wscfg sandbox serve`` prints) and
    ``http://127.0.0.1:8787/v1/`` name the same server as ``http://127.0.0.1:8787``: every
    request path starts with ``/v1`` itself.

    Messages show the URL without any user info, query or fragment (they might hold secrets).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SetupError(
            f"bad server URL {_shown(text)!r}: not a URL with a valid host and port"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise SetupError(
            "bad server URL: it must not contain a user name or password; put the key in "
            f"{TOKEN_ENV}"
        )
    if parts.query or parts.fragment:
        raise SetupError(f"bad server URL {_shown(text)!r}: no query string or fragment allowed")
    if parts.scheme not in ("http", "https"):
        raise SetupError(f"bad server URL {_shown(text)!r}: use http:// or https://")
    if not parts.hostname:
        raise SetupError(f"bad server URL {_shown(text)!r}: no host name")
    base = text.rstrip("/")
    if parts.path.rstrip("/").lower().endswith(API_PREFIX):
        base = base[: -len(API_PREFIX)].rstrip("/")
    return base


def _shown(url: str) -> str:
    """The URL minus user info, query and fragment (safe to show)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else netloc + parts.path


def validate_token(token: str) -> None:
    """Refuse a key that cannot be sent as a header (without ever echoing it)."""
    if not token or any(ord(c) < 0x21 or ord(c) > 0x7E for c in token):
        raise SetupError(
            f"the API key (from {TOKEN_ENV}) is empty or contains spaces, control or non-ASCII "
            "characters; check how it was exported"
        )


def _is_loopback(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
