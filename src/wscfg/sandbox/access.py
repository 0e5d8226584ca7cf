"""Who may do what: the key scope every route needs, the permission a member's role needs for
a key that acts as that member (``wscfg sandbox key --as-user``), and the rule that nothing
grants more than its grantor holds. docs/api.md, "Roles and permissions", is this module in
prose; tests/sandbox/test_access.py checks every route against it.

A key that acts as a member has, on each request, at most what the member's role allows at
that moment: the member must be active (pending, expired, removed or any other status: 403)
and the route's permission must be one of the role's (built-in roles below; a custom role's
``permissions``, read from the workspace on each request). Other keys (the workspace's or an
agency's integrations) are bounded by their scopes only.

Nothing grants more than its grantor holds:

- a key creates, re-scopes or re-issues (``rotation``) a key only with scopes it holds itself
  (for a member's key: the scopes its member's role allows, :data:`PERMISSION_SCOPES`); a key
  created by a member's key acts as that member too;
- a member's key assigns a role, creates or changes a custom role, or changes, re-invites or
  removes a member only when that role's permissions (before and after) are among its own;
  ``owner`` (the pseudo-permission :data:`OWNERSHIP`) is held by owners alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..model.access import PERMISSIONS
from ..model.kinds import COLLECTIONS, OBSERVED
from .problems import ProblemError
from .records import READ, WRITE

OWNERSHIP = "ownership"  # held by the owner role only: making, changing or removing owners

BUILTIN_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(PERMISSIONS) | {OWNERSHIP},
    "admin": frozenset(PERMISSIONS) - {"billing:manage"},
    "member": frozenset(
        {"settings:read", "call_log:read", "contacts:read", "contacts:write", "reports:read"}
    ),
    "client": frozenset({"call_log:read", "reports:read"}),
}

# The API key scopes a role's permission allows a member's key to use and to give.
PERMISSION_SCOPES: dict[str, tuple[str, ...]] = {
    "api_keys:manage": (),
    "billing:manage": ("billing:read", "billing:write"),
    "billing:read": ("billing:read",),
    "blocked_callers:manage": (),
    "call_log:export": ("calls:read",),
    "call_log:read": ("calls:read",),
    "call_rules:manage": (),
    "call_tags:manage": (),
    "contacts:read": ("contacts:read",),
    "contacts:write": ("contacts:write",),
    "integrations:manage": ("integrations:read", "integrations:write"),
    "members:manage": ("members:read", "members:write"),
    "reports:read": ("reports:read",),
    "settings:read": (READ,),
    "settings:write": (WRITE,),
    "webhooks:manage": ("webhooks:read", "webhooks:write"),
}

# The permission a member's role needs to write each collection kind (reads: settings:read).
KIND_WRITE: dict[str, str] = {
    "roles": "members:manage",
    "members": "members:manage",
    "call_tags": "call_tags:manage",
    "webhooks": "webhooks:manage",
    "blocked_callers": "blocked_callers:manage",
    "usage_alerts": "settings:write",
    "api_keys": "api_keys:manage",
}
KIND_READ: dict[str, str] = {"api_keys": "api_keys:manage"}  # others: settings:read

WS = "/v1/workspaces/{ws}"


@dataclass(frozen=True)
class Rule:
    """What a route needs: the key scope, and for a member's key the role permission
    (``None``: the route describes the calling key itself and needs no permission)."""

    scope: str | None
    permission: str | None


def _routes() -> dict[tuple[str, str], Rule]:
    read, write = Rule(READ, "settings:read"), Rule(WRITE, "settings:write")
    table: dict[tuple[str, str], Rule] = {
        ("GET", "/v1/key"): Rule(None, None),
        ("GET", "/v1/workspaces"): read,
        ("POST", "/v1/workspaces"): write,  # agency keys only (a member's key is a workspace's)
        ("GET", WS): read,
        ("PATCH", WS): write,
        ("GET", f"{WS}/settings"): read,
        ("GET", f"{WS}/audit"): read,
        ("GET", f"{WS}/call-rules"): read,
        ("PATCH", f"{WS}/call-rules"): Rule(WRITE, "call_rules:manage"),
        ("GET", f"{WS}/notifications"): read,
        ("PATCH", f"{WS}/notifications"): write,
        ("GET", f"{WS}/security"): read,
        ("PATCH", f"{WS}/security"): write,
        ("POST", f"{WS}/blocked-callers:batch"): Rule(WRITE, "blocked_callers:manage"),
        ("POST", f"{WS}/members/{{email}}/resend"): Rule(WRITE, "members:manage"),
        ("DELETE", f"{WS}/api-keys/{{key}}"): Rule(WRITE, KIND_WRITE["api_keys"]),
        ("GET", f"{WS}/api-keys/{{name}}"): Rule(READ, KIND_READ["api_keys"]),
        ("PATCH", f"{WS}/api-keys/{{name}}"): Rule(WRITE, KIND_WRITE["api_keys"]),
    }
    for kind in COLLECTIONS:
        if kind.name not in KIND_WRITE:
            continue  # no rule: the route-table test fails, and requests are refused (403)
        base = f"{WS}/{kind.path}"
        get = Rule(READ, KIND_READ.get(kind.name, "settings:read"))
        change = Rule(WRITE, KIND_WRITE[kind.name])
        table[("GET", base)] = get
        table[("POST", base)] = change
        if kind.name != "api_keys":  # by name or id: above
            table[("GET", base + "/{key}")] = get
            table[("PATCH", base + "/{key}")] = change
            table[("DELETE", base + "/{key}")] = change
    for kind in OBSERVED:
        table[("GET", f"{WS}/{kind.path}")] = read
        table[("GET", f"{WS}/{kind.path}/{{key}}")] = read
    return table


ROUTES: dict[tuple[str, str], Rule] = _routes()


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of the route ``method path`` (its template, e.g. ``/v1/workspaces/{ws}``)."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def api_routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path template) of every API route of an app's route table (``app.routes``),
    through included routers; HEAD is GET's."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)
            continue
        path = getattr(route, "path_format", "")
        if not path.startswith("/v1"):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, path


def scopes_of_role(permissions: Iterable[str]) -> frozenset[str]:
    """The API key scopes a role with ``permissions`` allows."""
    return frozenset(s for p in permissions for s in PERMISSION_SCOPES.get(p, ()))


def role_permissions(role: str, custom: dict[str, Any] | None) -> frozenset[str]:
    """The permissions of ``role``: built in, else the custom role's stored body (``custom``;
    ``None`` when the role does not exist: nothing)."""
    if role in BUILTIN_PERMISSIONS:
        return BUILTIN_PERMISSIONS[role]
    if custom is None:
        return frozenset()
    return frozenset(p for p in custom.get("permissions") or () if p in PERMISSION_SCOPES)


ROLE_COLUMNS = ("owner", "admin", "member", "client")


def matrix_markdown() -> str:
    """docs/api.md's route-by-route matrix (a test keeps the two equal)."""
    head = "| route | key scope | role permission | " + " | ".join(ROLE_COLUMNS) + " |"
    lines = [head, "|" + "---|" * (3 + len(ROLE_COLUMNS))]
    for (method, path), rule in sorted(ROUTES.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        marks = [
            "✓" if rule.permission is None or rule.permission in BUILTIN_PERMISSIONS[r] else "—"
            for r in ROLE_COLUMNS
        ]
        scope = f"`{rule.scope}`" if rule.scope else "any"
        permission = f"`{rule.permission}`" if rule.permission else "none"
        lines.append(f"| `{method} {path}` | {scope} | {permission} | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"


def check_grant(scopes: Iterable[str], grantable: frozenset[str]) -> None:
    """403 unless a key may give ``scopes`` (a key it creates, re-scopes or re-issues): only
    scopes it holds itself (``Principal.grantable``)."""
    missing = sorted(set(scopes) - grantable)
    if missing:
        raise ProblemError(
            403,
            f"this API key cannot give scopes it does not hold itself: {', '.join(missing)}",
        )


def check_role_write(
    user: str | None,
    held: frozenset[str] | None,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    custom_role: Callable[[str], dict[str, Any] | None],
) -> None:
    """403 when a member's key (``held``: its role's permissions; ``None`` for other keys)
    writes a member or a custom role whose permissions, before or after the write, are not
    all its own: it cannot give, change or take away more than it holds. ``custom_role``
    reads a custom role's stored body by name."""
    if held is None or kind not in ("members", "roles"):
        return
    for data in (before, after):
        if data is None:
            continue
        if kind == "members":
            role = str(data.get("role"))
            needs = role_permissions(role, custom_role(role))
        else:
            role, needs = str(data.get("name")), role_permissions("", data)
        missing = sorted(needs - held)
        if missing:
            raise ProblemError(
                403,
                f"this API key acts as {user}, whose role does not hold {', '.join(missing)} "
                f"(of the role '{role}'): it cannot give, change or take away more than it holds",
            )
