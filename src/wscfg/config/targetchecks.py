"""The checks of a resolved document beyond its models: no platform-set (read-only) field is
configured, and, for a target, every role and call tag it names exists, a member keeps the
owner role, and no two items share an identity once normalized (e.g. two spellings of one
E.164 number). Each problem goes to ``report`` at the path it concerns (see
:func:`wscfg.config.validate.validate_resolved`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .desired import DocPath
from .diagnostics import did_you_mean
from .resolve import IDENTITY, LABEL, Resolved, identity_note


class ReportAt(Protocol):
    """Where a check reports a problem: at ``path`` (``at_key``: at its key, not its value)."""

    def __call__(self, path: DocPath, message: str, *, at_key: bool = False) -> None: ...


def check_read_only(data: dict[str, Any], report: ReportAt) -> None:
    # The models' read-only fields, as the generated schema lists them (no models imported;
    # tests/config/test_schemacheck.py checks they are the models' own).
    from .schemacheck import read_only

    for name, ro in read_only().items():
        value = data.get(name)
        if not ro or value is None:
            continue
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            if not isinstance(item, dict):
                continue
            base: DocPath = (name,) if i is None else (name, i)
            for key in item:
                if key in ro:
                    report(
                        (*base, key),
                        f"{key} is set by the platform and cannot be configured",
                        at_key=True,
                    )


def _names(data: dict[str, Any], kind: str) -> list[str] | None:
    items = data.get(kind)
    if not isinstance(items, list):
        return None
    ident = IDENTITY[kind]
    return [
        i[ident].strip() for i in items if isinstance(i, dict) and isinstance(i.get(ident), str)
    ]


def check_references(data: dict[str, Any], report: ReportAt) -> None:
    from ..model.values import BUILTIN_ROLES

    roles = _names(data, "roles")
    valid_roles = [*BUILTIN_ROLES, *(roles or [])]
    members = data.get("members")
    if isinstance(members, list):
        for i, m in enumerate(members):
            role = m.get("role") if isinstance(m, dict) else None
            if isinstance(role, str) and role.strip() not in valid_roles:
                msg = f"'{role}' is not a role"
                close = did_you_mean(role, valid_roles)
                if close:
                    msg += f"; did you mean '{close}'?"
                elif roles is None:
                    msg += (
                        "; use a built-in role (owner, admin, member, client) or declare it "
                        "under `roles:` in this config"
                    )
                else:
                    msg += f"; valid: {', '.join(valid_roles)}"
                report(("members", i, "role"), msg)
        _check_owner(data, members, report)

    tags = _names(data, "call_tags")
    rules = data.get("call_rules")
    if isinstance(rules, dict) and "rule" in rules:
        for path, tag in _rule_tags(rules["rule"], ("call_rules", "rule")):
            _check_tag(path, tag, tags, report)
    hooks = data.get("webhooks")
    if isinstance(hooks, list):
        for i, h in enumerate(hooks):
            f = h.get("filters") if isinstance(h, dict) else None
            names = f.get("tags") if isinstance(f, dict) else None
            if isinstance(names, list):
                for j, tag in enumerate(names):
                    if isinstance(tag, str):
                        _check_tag(("webhooks", i, "filters", "tags", j), tag, tags, report)


def _check_owner(data: dict[str, Any], members: list[Any], report: ReportAt) -> None:
    manage = data.get("manage")
    ignore = data.get("ignore")
    if isinstance(manage, dict) and manage.get("members") == "additive":
        return
    if isinstance(ignore, dict) and ignore.get("members"):
        return
    if any(isinstance(m, dict) and m.get("role") == "owner" for m in members):
        return
    report(
        ("members",),
        "no member has the owner role; a workspace must keep at least one owner. Add one, or "
        "use `manage: {members: additive}` to leave undeclared live members alone",
        at_key=True,
    )


def _rule_tags(node: Any, path: DocPath) -> Iterator[tuple[DocPath, str]]:
    if not isinstance(node, dict):
        return
    for key in ("all", "any"):
        children = node.get(key)
        if isinstance(children, list):
            for i, child in enumerate(children):
                yield from _rule_tags(child, (*path, key, i))
    for key in ("tag", "not_tag"):
        value = node.get(key)
        if isinstance(value, str):
            yield (*path, key), value


def _check_tag(path: DocPath, tag: str, tags: list[str] | None, report: ReportAt) -> None:
    if tags is not None and tag.strip() in tags:
        return
    msg = f"'{tag}' is not a declared call tag"
    close = did_you_mean(tag, tags or [])
    if close:
        msg += f"; did you mean '{close}'?"
    elif tags:
        msg += f" (declared: {', '.join(tags)})"
    if tags is None:
        msg += "; declare it under `call_tags:` in this config"
    report(path, msg)


def check_duplicates(config: Any, r: Resolved, report: ReportAt, quiet: set[DocPath]) -> None:
    """Identities that differ as written but are equal once normalized (e.g. E.164)."""
    for kind, ident in IDENTITY.items():
        items = getattr(config, kind, None)
        if not items:
            continue
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            key = str(getattr(item, ident))
            if (kind, i) in quiet:
                continue
            if key in first:
                j = first[key]
                src = r.sources.get((kind, j))
                where = f" (same as {kind}[{j}]" + (f" at {src.file}:{src.line})" if src else ")")
                path: DocPath = (kind, i, ident) if (kind, i, ident) in r.sources else (kind, i)
                report(path, f"duplicate {LABEL[kind]} '{key}'{where}{identity_note(kind)}")
            else:
                first[key] = i
