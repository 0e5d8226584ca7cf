"""What a sandbox row holds, without a database layer: canonical JSON, ETags, how a pending
invitation reads once expired, API key hashes and the schema version.

Shared by :mod:`.store` (SQLAlchemy, behind the HTTP API) and :mod:`.local` (the embedded
sandbox's in-process read path, on the standard library's ``sqlite3``), so both answer with
the same bytes. Imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model.kinds import BY_NAME

SCHEMA_VERSION = 8  # of the sandbox database (see db.py for the tables and migrations)
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


def finite_text(text: str, *, drop: bool) -> str:
    """``text`` (JSON that may hold ``Infinity``/``NaN``, as older versions stored) with
    every non-finite number dropped from its object (``drop``) or replaced by ``null``."""

    def clean(node: Any) -> Any:
        if isinstance(node, float) and not math.isfinite(node):
            return None
        if isinstance(node, list):
            return [clean(v) for v in node]
        if isinstance(node, dict):
            out = {k: clean(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not None} if drop else out
        return node

    return canonical(clean(json.loads(text)))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def with_etag(text: str, etag: str) -> str:
    """The canonical JSON object text with ``"etag"`` added as its last member."""
    if text == "{}":
        return '{"etag":"' + etag + '"}'
    return text[:-1] + ',"etag":"' + etag + '"}'


# Singletons added after the first release: a workspace made before one existed has no row for
# it and reads this default (with its ETag) everywhere, in GET and in the snapshot alike.
LATER_SINGLETONS: dict[str, dict[str, Any]] = {"security": {"require_2fa": False}}


def default_body(kind: str) -> str | None:
    """The body a workspace with no stored ``kind`` singleton reads; ``None`` when that kind
    has no default (every workspace is created with it)."""
    default = LATER_SINGLETONS.get(kind)
    if default is None:
        return None
    text = canonical(default)
    return with_etag(text, etag_of(text))


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


# --- the audit log ------------------------------------------------------------------------------

SYSTEM = "system"  # actor type of the platform's own writes (provisioning, administration)
ADMIN_NAME = "admin"


def changed_fields(before: str | None, after: str | None) -> list[str]:
    """The changed field names of an audited write, as dotted paths to the leaves that differ
    (``role``, ``system.email``, ``business_profile.company``); lists count as leaves. A
    write-only value is named by its field (``secret``), never by its fingerprint."""
    old = json.loads(before) if before else {}
    new = json.loads(after) if after else {}
    out: list[str] = []
    _walk(old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}, "", out)
    return sorted({name.removesuffix("_fingerprint") for name in out})


def _walk(old: dict[str, Any], new: dict[str, Any], prefix: str, out: list[str]) -> None:
    for name in old.keys() | new.keys():
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            _walk(a, b, f"{prefix}{name}.", out)
        else:
            out.append(prefix + name)


def client_token(user_agent: str | None) -> str | None:
    """The product token of a ``User-Agent`` (``wscfg/0.2.0``): its first word, if sane."""
    if not user_agent:
        return None
    token = user_agent.strip().split(" ", 1)[0][:100]
    if not token or any(not (c.isascii() and c.isprintable()) or c in '"<>' for c in token):
        return None
    return token


def audit_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """An audit row (column name → value) as the API answers it."""
    system = row["actor"] == ADMIN_NAME
    actor: dict[str, Any] = {
        "type": row["actor_type"] or (SYSTEM if system else "api_key"),
        "name": row["actor_name"] or row["actor"],
    }
    if not system:
        actor["key_id"] = row["actor"]
    before, after = row["before"], row["after"]
    return {
        "id": row["id"],
        "at": row["at"],
        "request_id": row["request_id"],
        "client_request_id": row["client_request_id"],
        "actor": actor,
        "via": row["via"] or "api",
        "client": row["client"],
        "action": row["action"],
        "kind": row["kind"],
        "key": row["ident"],
        "fields": json.loads(row["fields"]) if row["fields"] else [],
        "before": None if before is None else json.loads(before),
        "after": None if after is None else json.loads(after),
    }


def audit_filter_problem(
    kinds: Sequence[str], keys: Sequence[str]
) -> tuple[list[str | int], str] | None:
    """Where and why the audit log's filters are refused (a 422), or None: a ``kind`` the API
    does not have, or a ``key`` no item can have (a NUL character: no database stores one in
    text). The API answers the 422; the in-process reader leaves such a read to it."""
    for i, kind in enumerate(kinds):
        if kind not in BY_NAME:
            return ["query", "kind", i], f"not a kind; one of {', '.join(BY_NAME)}"
    for i, key in enumerate(keys):
        if "\x00" in key:
            return ["query", "key", i], "a key cannot contain a NUL character"
    return None
