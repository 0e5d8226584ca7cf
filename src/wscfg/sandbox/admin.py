"""Administration of a sandbox database without HTTP: agencies, workspaces, API keys.

Used by ``wscfg sandbox init``, by tests and by the embedded sandbox. Every function takes a
database URL (or a SQLite file path) and creates the schema on first use. Keys are returned
once and stored only hashed.

A new workspace starts with one active owner, ``owner@<slug>.example`` unless ``owner`` is
given, notifications on for every category and channel, and call rules
``{"auto_unqualify": false}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, insert, select, update

from ..errors import Worded, WscfgError
from ..model import CATEGORIES, HELPDESK, Member, Workspace
from ..model.values import single_line
from . import store
from .auth import SCOPES, WorkspaceRef, hash_key
from .db import (
    agencies,
    api_keys,
    get_engine,
    lock_workspace,
    new_uid,
    transaction,
    workspaces,
)
from .keyrows import active_key_count, forget, insert_key
from .records import LATER_SINGLETONS

ADMIN_ACTOR = "admin"
MAX_API_KEYS = 10


class SandboxError(WscfgError):
    """A sandbox administration request cannot be done (duplicate slug, unknown agency…)."""


def default_owner(slug: str) -> str:
    return f"owner@{slug}.example"


def default_notifications() -> dict[str, Any]:
    out: dict[str, Any] = {c: {"email": True, "in_app": True} for c in CATEGORIES}
    return out | {c: {"email": True} for c in HELPDESK}


DEFAULT_SECURITY: dict[str, Any] = LATER_SINGLETONS["security"]


def _now() -> str:
    return store.iso(datetime.now(UTC))


# --- library functions -----------------------------------------------------------------------


def create_agency(db_url: str, name: str) -> str:
    """Create an agency; return a new agency API key with read and write scopes."""
    name = name.strip()
    if not name:
        raise SandboxError("an agency needs a name")
    engine = get_engine(db_url)
    with transaction(engine, write=True) as conn:
        if conn.execute(select(agencies.c.id).where(agencies.c.name == name)).first():
            raise SandboxError(f"agency {name!r} already exists")
        now = _now()
        agency_id = conn.execute(
            insert(agencies).values(name=name, created_at=now).returning(agencies.c.id)
        ).scalar_one()
        return insert_key(conn, None, agency_id, SCOPES, "initial agency key", now)[1]


def create_workspace(
    db_url: str,
    slug: str,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    agency: str | None = None,
    owner: str | None = None,
) -> str:
    """Create a workspace (a sub-account of ``agency``, given by name or agency key, if set);
    return a new workspace API key with read and write scopes."""
    engine = get_engine(db_url)
    try:
        profile = Workspace(slug=slug, name=name or slug, timezone=timezone)
        owner_email = Member(email=owner or default_owner(slug), role="owner").email
    except ValidationError as exc:
        raise SandboxError(_first_error(exc)) from None
    with transaction(engine, write=True) as conn:
        agency_id = _agency_id(conn, agency) if agency else None
        if conn.execute(select(workspaces.c.id).where(workspaces.c.slug == slug)).first():
            raise SandboxError(f"workspace {slug!r} already exists")
        now = _now()
        ref = provision(conn, profile, owner_email, agency_id, now)
        store.record(
            conn,
            ref.id,
            [store.AuditedWrite("create", "workspace", "", None, store.canonical(_dump(profile)))],
            actor=store.admin_actor(),
            request_id=None,
            now=now,
        )
        return insert_key(conn, ref.id, None, SCOPES, "initial workspace key", now)[1]


@dataclass(frozen=True)
class KeyRequest:
    """What a new key is for: a workspace (by slug) or an agency (by name or one of its keys),
    its scopes and an optional display name. (``wscfg sandbox key`` builds one from its
    options; a new property of keys is a new field here.)"""

    workspace: str | None = None
    agency: str | None = None
    scopes: tuple[str, ...] = SCOPES  # every scope (a key gives only what it holds)
    name: str | None = None
    as_user: str | None = None  # a member's email: the key's writes are that person's, via the UI


@dataclass(frozen=True)
class IssuedKey:
    id: str  # key_…: how lists and the audit log name it, and what `revoke` takes
    secret: str  # the key itself, shown once
    scopes: tuple[str, ...]


def new_key(db_url: str, request: KeyRequest) -> IssuedKey:
    """Issue a key as ``request`` says; a workspace's key creation lands in its audit log."""
    if (request.workspace is None) == (request.agency is None):
        raise SandboxError("issue a key for exactly one of a workspace or an agency")
    wanted = tuple(sorted(set(request.scopes)))
    bad = [s for s in wanted if s not in SCOPES]
    if bad or not wanted:
        raise SandboxError(f"scopes must be among the catalog (docs/api.md); got {bad}")
    name = request.name.strip() if request.name is not None else None
    if name is not None and not 0 < len(name) <= 100:
        raise SandboxError("a key's name has 1 to 100 characters")
    if name is not None:
        try:
            single_line(name)
        except ValueError as exc:
            raise SandboxError(f"a key's name {exc}") from None
    engine = get_engine(db_url)
    with transaction(engine, write=True) as conn:
        now = _now()
        if request.workspace is None:
            assert request.agency is not None
            if request.as_user is not None:
                raise SandboxError(
                    Worded(
                        "{as_user} issues a key of one workspace, not of an agency",
                        {"as_user": "as_user"},
                    )
                )
            agency_id = _agency_id(conn, request.agency)
            key_id, secret = insert_key(conn, None, agency_id, wanted, name, now)
            return IssuedKey(key_id, secret, wanted)
        ref = workspace_ref(conn, request.workspace)
        lock_workspace(conn, ref.id)
        user = _member_email(conn, ref, request.as_user, now)
        if active_key_count(conn, ref.id) >= MAX_API_KEYS:
            raise SandboxError(
                f"workspace {request.workspace!r} already has {MAX_API_KEYS} active API keys; "
                "revoke one first"
            )
        key_id, secret = insert_key(conn, ref.id, None, wanted, name, now, as_user=user)
        public = {"id": key_id, "scopes": list(wanted), **({"name": name} if name else {})}
        if user is not None:
            public["as_user"] = user
        store.record(
            conn,
            ref.id,
            [store.AuditedWrite("create", "api_keys", key_id, None, store.canonical(public))],
            actor=store.admin_actor(),
            request_id=None,
            now=now,
        )
        return IssuedKey(key_id, secret, wanted)


def issue_key(
    db_url: str,
    *,
    workspace: str | None = None,
    agency: str | None = None,
    scopes: Iterable[str] = SCOPES,
    name: str | None = None,
) -> str:
    """A new API key for a workspace (by slug) or an agency (by name or one of its keys)."""
    request = KeyRequest(workspace, agency, tuple(scopes), name)
    return new_key(db_url, request).secret


def revoke_key(db_url: str, key: str) -> str:
    """Revoke a key (given as the secret or as its ``key_…`` id); revoked keys answer 401.
    Returns the key's id; a workspace key's revocation lands in its audit log."""
    engine = get_engine(db_url)
    cond = (
        api_keys.c.id == key if key.startswith("key_") else api_keys.c.secret_hash == hash_key(key)
    )
    with transaction(engine, write=True) as conn:
        row = conn.execute(
            select(api_keys.c.id, api_keys.c.workspace_id, api_keys.c.scopes).where(
                cond, api_keys.c.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            raise SandboxError("no such active API key")
        if row.workspace_id is not None:  # as every write to a workspace: its lock first
            lock_workspace(conn, row.workspace_id)
        now = _now()
        conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=now))
        if row.workspace_id is not None:
            before = store.canonical({"id": row.id, "scopes": row.scopes.split()})
            changes = [store.AuditedWrite("revoke", "api_keys", row.id, before, None)]
            gone = forget(conn, row.workspace_id, row.id, now)
            store.record(
                conn,
                row.workspace_id,
                changes + ([gone] if gone else []),
                actor=store.admin_actor(),
                request_id=None,
                now=now,
            )
        return str(row.id)


def accept_invitation(db_url: str, workspace: str, email: str) -> None:
    """Make a pending (or expired) member active, as if they accepted the invitation."""
    engine = get_engine(db_url)
    with transaction(engine, write=True) as conn:
        ref = workspace_ref(conn, workspace)
        lock_workspace(conn, ref.id)
        now = _now()
        item = store.get(conn, ref.id, "members", email.lower(), now)
        if item is None:
            raise SandboxError(f"{email} is not a member of {workspace!r}")
        data = item.data
        for field in ("status", "invited_at", "expires_at"):
            data.pop(field, None)
        data["status"] = "active"
        row = store.row_values(ref.id, "members", item.ident, data, now, ref=data["role"])
        store.update_rows(conn, [row])
        store.record(
            conn,
            ref.id,
            [store.AuditedWrite("accept", "members", item.ident, item.text, row["data"])],
            actor=store.Actor(ADMIN_ACTOR, "user", item.ident, "ui"),
            request_id=None,
            now=now,
        )
        store.bump(conn, ref.id)


def set_two_factor(db_url: str, workspace: str, email: str, enabled: bool) -> None:
    """Mark a member as having set up two-factor authentication (or not), as if they did it
    in the UI. The flag is the member's read-only ``two_factor`` field."""
    engine = get_engine(db_url)
    with transaction(engine, write=True) as conn:
        ref = workspace_ref(conn, workspace)
        lock_workspace(conn, ref.id)
        now = _now()
        item = store.get(conn, ref.id, "members", email.strip().lower(), now)
        if item is None:
            raise SandboxError(f"{email} is not a member of {workspace!r}")
        data = item.data
        if data.get("status", "active") != "active":
            raise SandboxError(f"{email} has not accepted their invitation yet")
        data.pop("two_factor", None)
        if enabled:
            data["two_factor"] = True
        row = store.row_values(ref.id, "members", item.ident, data, now, ref=data["role"])
        if row["data"] == item.text:
            return
        store.update_rows(conn, [row])
        store.record(
            conn,
            ref.id,
            [store.AuditedWrite("update", "members", item.ident, item.text, row["data"])],
            actor=store.Actor(ADMIN_ACTOR, "user", item.ident, "ui"),  # the member, in the UI
            request_id=None,
            now=now,
        )
        store.bump(conn, ref.id)


def set_integration(db_url: str, workspace: str, name: str, status: str) -> None:
    """Set an integration's status as if someone connected (OAuth), half-set-up or
    disconnected it in the UI; wscfg itself never writes integrations."""
    from ..model import Integration

    try:
        obj = Integration.model_validate({"name": name, "status": status})
    except ValidationError as exc:
        raise SandboxError(_first_error(exc)) from None
    engine = get_engine(db_url)
    with transaction(engine, write=True) as conn:
        ref = workspace_ref(conn, workspace)
        lock_workspace(conn, ref.id)
        now = _now()
        item = store.get(conn, ref.id, "integrations", obj.name, now)
        row = store.row_values(ref.id, "integrations", obj.name, _dump(obj), now)
        if item is not None and row["data"] == item.text:
            return
        if item is None:
            store.insert_rows(conn, [row])
        else:
            store.update_rows(conn, [row])
        before = None if item is None else item.text
        action = "create" if item is None else "update"
        store.record(
            conn,
            ref.id,
            [store.AuditedWrite(action, "integrations", obj.name, before, row["data"])],
            actor=store.admin_actor(),
            request_id=None,
            now=now,
        )
        store.bump(conn, ref.id)


# --- building blocks shared with the HTTP routes -----------------------------------------------


def provision(
    conn: Connection, profile: Workspace, owner_email: str, agency_id: int | None, now: str
) -> WorkspaceRef:
    """Insert a workspace with its default settings; the caller checked the slug is free."""
    ws_id = conn.execute(
        insert(workspaces)
        .values(slug=profile.slug, agency_id=agency_id, created_at=now, version=0, uid=new_uid())
        .returning(workspaces.c.id)
    ).scalar_one()
    owner = {"email": owner_email, "role": "owner", "status": "active"}
    store.insert_rows(
        conn,
        [
            store.row_values(ws_id, "workspace", store.SINGLETON, _dump(profile), now),
            store.row_values(ws_id, "call_rules", store.SINGLETON, {"auto_unqualify": False}, now),
            store.row_values(ws_id, "notifications", store.SINGLETON, default_notifications(), now),
            store.row_values(ws_id, "security", store.SINGLETON, DEFAULT_SECURITY, now),
            store.row_values(ws_id, "members", owner_email, owner, now, ref="owner"),
        ],
    )
    return WorkspaceRef(ws_id, profile.slug, agency_id)


def _member_email(conn: Connection, ref: WorkspaceRef, email: str | None, now: str) -> str | None:
    """The stored email of the member ``email`` of ``ref`` (``None`` for ``None``)."""
    if email is None:
        return None
    found = store.get(conn, ref.id, "members", email.strip().lower(), now)
    if found is None:
        raise SandboxError(f"{email} is not a member of {ref.slug!r}; invite them first")
    return found.ident


def item_rows(db_url: str, slug: str) -> dict[tuple[str, str], str]:
    """Every stored item of a workspace, straight from the table: ``(kind, identity)`` →
    the stored body (canonical JSON with its ETag), singletons under identity ``""``.

    For tests that compare a whole workspace before and after a run, byte for byte."""
    from .db import items

    with transaction(get_engine(db_url)) as conn:
        ws = workspace_ref(conn, slug)
        rows = conn.execute(
            select(items.c.kind, items.c.ident, items.c.body).where(items.c.workspace_id == ws.id)
        ).all()
    return {(r.kind, r.ident): r.body for r in rows}


def workspace_ref(conn: Connection, slug: str) -> WorkspaceRef:
    row = conn.execute(
        select(workspaces.c.id, workspaces.c.slug, workspaces.c.agency_id).where(
            workspaces.c.slug == slug
        )
    ).first()
    if row is None:
        raise SandboxError(f"no workspace {slug!r}")
    return WorkspaceRef(row.id, row.slug, row.agency_id)


def _agency_id(conn: Connection, agency: str) -> int:
    if agency.startswith("wscfg_"):
        row = conn.execute(
            select(api_keys.c.agency_id).where(api_keys.c.secret_hash == hash_key(agency))
        ).first()
        if row is None or row.agency_id is None:
            raise SandboxError("that key is not an agency key")
        return int(row.agency_id)
    found = conn.execute(select(agencies.c.id).where(agencies.c.name == agency)).first()
    if found is None:
        raise SandboxError(f"no agency {agency!r}")
    return int(found.id)


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])
