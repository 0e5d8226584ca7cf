"""What a sandbox row holds, without a database layer: canonical JSON, ETags, how a pending
invitation reads once expired, API key hashes and the schema version.

Shared by :mod:`.store` (SQLAlchemy, behind the HTTP API) and :mod:`.local` (the embedded
sandbox's in-process read path, on the standard library's ``sqlite3``), so both answer with
the same bytes. Imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 3  # of the sandbox database (see db.py for the tables and migrations)
KEY_PREFIX = "wscfg_"
READ = "settings:read"  # the scopes of an API key
WRITE = "settings:write"


def hash_key(key: str) -> str:
    """How an API key is stored: its SHA-256 (a fast hash is right for random secrets)."""
    return hashlib.sha256(key.encode()).hexdigest()


SINGLETON = ""  # identity of a singleton item
_PENDING = '"status":"pending"'
_EXPIRED = '"status":"expired"'


def canonical(data: Any) -> str:
    """The stored text of ``data``; a non-finite number is a ``ValueError`` (never stored:
    ``Infinity`` is not JSON, and every read would answer invalid JSON)."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


ETAG_HEX = 16  # 64 bits: ample to tell two versions of one item apart, and compact


def etag_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:ETAG_HEX]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def with_etag(text: str, etag: str) -> str:
    """The canonical JSON object text with ``"etag"`` added as its last member."""
    if text == "{}":
        return '{"etag":"' + etag + '"}'
    return text[:-1] + ',"etag":"' + etag + '"}'


def without_etag(body: str, etag: str) -> str:
    """The inverse of :func:`with_etag`."""
    if body.startswith('{"etag":'):
        return "{}"
    return body[: -(len(etag) + 11)] + "}"


@dataclass(frozen=True)
class Item:
    """One stored item as it reads *now* (a pending invitation past its expiry reads
    ``expired``, with the ETag of that representation). ``body`` is the item's canonical
    JSON with its ``etag`` as the last member: exactly what the API answers."""

    ident: str
    body: str
    etag: str
    ref: str | None = None
    expires_at: str | None = None

    @property
    def text(self) -> str:
        """The canonical JSON without the ETag (what is hashed and audited)."""
        return without_etag(self.body, self.etag)

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.text)
        return value


def effective(ident: str, body: str, etag: str, ref: Any, expires_at: Any, now: str) -> Item:
    """The item as it reads at ``now`` (ISO UTC)."""
    if expires_at is not None and expires_at <= now and _PENDING in body:
        text = without_etag(body, etag).replace(_PENDING, _EXPIRED, 1)
        etag = etag_of(text)
        body = with_etag(text, etag)
    return Item(ident, body, etag, ref, expires_at)
