"""Platform rules and the stored form of items.

Writes are validated with the shared models (``wscfg.model``); the stored form drops
write-only fields (a webhook's secret becomes its fingerprint, the secret itself is never
stored, returned or audited) and keeps the read-only fields the platform owns (member status,
invitation times). Cross-item rules answer 422 (a reference to something missing) or 409 (a
write that would break something that exists).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import Connection

from ..model import BUILTIN_ROLES, Kind, e164, rule_tags, secret_fingerprint
from . import store
from .problems import ProblemError, field_errors, invalid

MEMBERS = "members"


def ident_from_url(kind: Kind, raw: str) -> str | None:
    """The stored identity an URL segment names, or ``None`` when it cannot name one."""
    if kind.name == MEMBERS:
        return raw.strip().lower()
    if kind.name == "blocked_callers":
        try:
            return e164(raw.strip())
        except ValueError:
            return None
    return raw


def split_current(kind: Kind, current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(writable fields, platform-owned fields) of a stored item."""
    owned = {k: v for k, v in current.items() if k in kind.read_only}
    writable = {k: v for k, v in current.items() if k not in kind.read_only}
    return writable, owned


def sent_fields(body: BaseModel) -> dict[str, Any]:
    """The fields a request body set, in Python form (secrets stay ``SecretStr``)."""
    return body.model_dump(exclude_unset=True)


def reject_read_only(kind: Kind, body: BaseModel) -> None:
    bad = sorted(body.model_fields_set & kind.read_only)
    if bad:
        raise ProblemError(
            422,
            "the request is invalid",
            errors=[
                {"loc": ["body", f], "msg": "read-only field; set by the platform"} for f in bad
            ],
        )


def merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Top-level merge: each field sent replaces the stored one; ``null`` clears it."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def validate(kind: Kind, data: dict[str, Any]) -> BaseModel:
    try:
        return kind.model.model_validate(data)
    except ValidationError as exc:
        raise field_errors(exc) from None


def stored_form(
    kind: Kind, obj: BaseModel, owned: dict[str, Any], patch: dict[str, Any]
) -> dict[str, Any]:
    """What is stored for a validated item: no write-only values, platform fields kept."""
    data: dict[str, Any] = obj.model_dump(
        mode="json", exclude_none=True, exclude=set(kind.write_only | kind.read_only)
    )
    data.update({k: v for k, v in owned.items() if v is not None})
    if "secret" in kind.write_only:
        secret = getattr(obj, "secret", None)
        if isinstance(secret, SecretStr):
            data["secret_fingerprint"] = secret_fingerprint(secret.get_secret_value())
        elif "secret" in patch:  # explicitly cleared
            data.pop("secret_fingerprint", None)
    return data


def check_identity(kind: Kind, obj: BaseModel, ident: str) -> None:
    assert kind.identity is not None
    if str(getattr(obj, kind.identity)) != ident:
        raise invalid(
            ["body", kind.identity],
            f"the {kind.identity} of an existing {kind.label} cannot change; "
            "delete it and create a new one",
        )


def invitation(now: datetime, ttl: float) -> dict[str, str]:
    return {
        "status": "pending",
        "invited_at": store.iso(now),
        "expires_at": store.iso(now + timedelta(seconds=ttl)),
    }


def check_references(
    conn: Connection, ws_id: int, kind: Kind, data: dict[str, Any], now: str
) -> None:
    """422 when an item names a role or call tag that does not exist."""
    if kind.name == MEMBERS:
        role = data["role"]
        if role not in BUILTIN_ROLES and store.get(conn, ws_id, "roles", role, now) is None:
            raise invalid(
                ["body", "role"],
                f"no role '{role}': use a built-in role ({', '.join(BUILTIN_ROLES)}) "
                "or create the custom role first",
            )
    elif kind.name == "call_rules":
        _tags_exist(conn, ws_id, rule_tags(data.get("rule")), ["body", "rule"], now)
    elif kind.name == "webhooks":
        tags = (data.get("filters") or {}).get("tags") or []
        _tags_exist(conn, ws_id, tags, ["body", "filters", "tags"], now)


def _tags_exist(conn: Connection, ws_id: int, tags: list[str], loc: list[str], now: str) -> None:
    wanted = sorted(set(tags))
    if not wanted:
        return
    found = store.get_many(conn, ws_id, "call_tags", wanted, now)
    missing = [t for t in wanted if t not in found]
    if missing:
        raise invalid(loc, f"no call tag {', '.join(repr(t) for t in missing)}; create it first")


def ref_of(kind: Kind, data: dict[str, Any]) -> str | None:
    return str(data["role"]) if kind.name == MEMBERS else None


def expiry_of(kind: Kind, data: dict[str, Any]) -> str | None:
    if kind.name == MEMBERS and data.get("status") in ("pending", "expired"):
        return str(data.get("expires_at") or "")
    return None


def check_builtin_role(kind: Kind, ident: str) -> None:
    if kind.name == "roles" and ident in BUILTIN_ROLES:
        raise ProblemError(409, f"'{ident}' is a built-in role; built-in roles are read-only")


def check_owner_kept(conn: Connection, ws_id: int, item: store.Item, new_role: str | None) -> None:
    """409 when the write would leave the workspace without an active owner."""
    if item.ref != "owner" or item.expires_at is not None or new_role == "owner":
        return
    if store.count_ref(conn, ws_id, MEMBERS, "owner", active_only=True) < 2:
        action = "removed" if new_role is None else "demoted"
        raise ProblemError(
            409,
            f"{item.ident} is the last active owner and cannot be {action}; make another "
            "member an active owner first",
        )


def check_delete(conn: Connection, ws_id: int, kind: Kind, item: store.Item, now: str) -> None:
    """409 when something still uses the item."""
    if kind.name == "roles":
        users = store.refs_of(conn, ws_id, MEMBERS, item.ident)
        if users:
            raise ProblemError(
                409, f"role '{item.ident}' is held by {', '.join(users)}; change their role first"
            )
    elif kind.name == "call_tags":
        users = []
        rules = store.get(conn, ws_id, "call_rules", store.SINGLETON, now)
        if rules is not None and item.ident in rule_tags(rules.data.get("rule")):
            users.append("the call rules")
        page, _ = store.page(conn, ws_id, "webhooks", None, 10_000, now)
        for hook in page:
            if item.ident in ((hook.data.get("filters") or {}).get("tags") or []):
                users.append(f"webhook '{hook.ident}'")
        if users:
            raise ProblemError(
                409, f"call tag '{item.ident}' is used by {', '.join(users)}; change them first"
            )
    elif kind.name == MEMBERS:
        check_owner_kept(conn, ws_id, item, None)
