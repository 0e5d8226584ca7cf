"""API keys: generation, hashing, look-up, and which workspaces a key reaches.

A key is ``wscfg_`` plus 40 random URL-safe characters (240 bits), shown once and stored only
as its SHA-256 (a fast hash is right for random high-entropy secrets). A key belongs to one
workspace or to one agency; an agency key reaches the agency's own sub-accounts only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from ..model.apikeys import API_SCOPES
from . import access, store
from .db import api_keys, workspaces
from .records import KEY_PREFIX as KEY_PREFIX
from .records import READ as READ
from .records import WRITE as WRITE
from .records import hash_key as hash_key

# What the platform's own keys hold (a new workspace's or agency's first key, `wscfg sandbox
# key` without --read-only): every scope of the catalog, since a key gives only scopes it
# holds (sandbox.access) and these are the owner's keys.
SCOPES: tuple[str, ...] = API_SCOPES


def generate_key() -> tuple[str, str]:
    """A new (key id, secret key)."""
    return "key_" + secrets.token_hex(8), KEY_PREFIX + secrets.token_urlsafe(30)


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 4]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, what it belongs to and its scopes."""

    key_id: str
    workspace_id: int | None
    agency_id: int | None
    scopes: frozenset[str]
    name: str | None = None  # the key's display name
    user: str | None = None  # the member the key writes as, through the UI (``--as-user``)
    # For a member's key, read on each request (:func:`with_member`): the member's status and
    # role, and that role's permissions (``sandbox.access``).
    status: str | None = None
    role: str | None = None
    permissions: frozenset[str] | None = None

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def grantable(self) -> frozenset[str]:
        """The scopes this key may give a key it creates or re-issues: its own, and for a
        member's key only those its member's role allows too."""
        if self.permissions is None:
            return self.scopes
        return self.scopes & access.scopes_of_role(self.permissions)

    def holds(self, permission: str) -> bool:
        """True when a member's key's role has ``permission``; other keys are bounded by
        their scopes only."""
        return self.permissions is None or permission in self.permissions


@dataclass(frozen=True)
class WorkspaceRef:
    id: int
    slug: str
    agency_id: int | None


# the columns of a key that say who calls (principal_of takes them in this order)
KEY_COLUMNS: tuple[str, ...] = (
    "id",
    "workspace_id",
    "agency_id",
    "scopes",
    "revoked_at",
    "name",
    "as_user",
    "expires",
)


def principal_for(conn: Connection, key: str) -> Principal | None:
    """The active key matching ``key``, or ``None``."""
    if not well_formed(key):
        return None
    row = conn.execute(
        select(*(api_keys.c[name] for name in KEY_COLUMNS)).where(
            api_keys.c.secret_hash == hash_key(key)
        )
    ).first()
    return None if row is None else principal_of(tuple(row))


def well_formed(key: str) -> bool:
    """Could ``key`` be one of ours (else it is unknown without a look-up)?"""
    return key.startswith(KEY_PREFIX) and len(key) <= 200


def principal_of(row: tuple[Any, ...]) -> Principal | None:
    """The caller of a key's row (:data:`KEY_COLUMNS`), or ``None`` when the key is revoked
    or past the last day it works."""
    key_id, ws_id, agency_id, scopes, revoked_at, name, as_user, expires = row
    if revoked_at is not None:
        return None
    if expires is not None and expires < datetime.now(UTC).date().isoformat():
        return None  # past the last day it works
    return Principal(key_id, ws_id, agency_id, frozenset(scopes.split()), name, as_user)


def with_member(conn: Connection, who: Principal, now: str) -> Principal:
    """``who`` with its member's status, role and permissions as they are ``now`` (a key
    that acts as no member is returned as it is). A member who is gone reads as status
    ``removed`` and holds nothing."""
    if who.user is None or who.workspace_id is None:
        return who
    member = store.get(conn, who.workspace_id, "members", who.user, now)
    if member is None:
        return replace(who, status="removed", permissions=frozenset())
    role = str(member.data.get("role"))
    custom = None
    if role not in access.BUILTIN_PERMISSIONS:
        found = store.get(conn, who.workspace_id, "roles", role, now)
        custom = None if found is None else found.data
    return replace(
        who,
        status=str(member.data.get("status")),
        role=role,
        permissions=access.role_permissions(role, custom),
    )


def reachable(conn: Connection, who: Principal, slug: str) -> WorkspaceRef | None:
    """The workspace ``slug`` if ``who`` may reach it; ``None`` otherwise (or if missing)."""
    row = conn.execute(
        select(workspaces.c.id, workspaces.c.slug, workspaces.c.agency_id).where(
            workspaces.c.slug == slug
        )
    ).first()
    if row is None:
        return None
    ref = WorkspaceRef(row.id, row.slug, row.agency_id)
    return ref if reaches(who, ref.id, ref.agency_id) else None


def reaches(who: Principal, ws_id: int, agency_id: int | None) -> bool:
    """May ``who`` reach the workspace ``ws_id`` (of the agency ``agency_id``)?"""
    if who.workspace_id is not None and who.workspace_id == ws_id:
        return True
    return who.agency_id is not None and who.agency_id == agency_id
