"""Where each difference of a plan came from: ``config``, ``drift`` or ``default``, from the
audit log.

A difference comes from the **config** when the live value is what wscfg last wrote (so the
config changed since); it is **drift** when someone else wrote it after wscfg did; it is the
platform's **default** when nobody wrote it since the platform set it (a brand-new workspace's
name, time zone, notification defaults: an audit entry of the ``system`` actor, or no entry at
all touching the field), which is not drift: nobody changed anything. A write is wscfg's when
it came through the API with one of wscfg's keys: the ``key_id`` the server recorded with the
write is one of ``writers`` (the key of the run and the other keys wscfg applies with). The
entry's ``client`` (the caller's User-Agent, its own word) is shown, never trusted.

For each changed field the newest audit entry of the item that touched it decides: an update
touches the fields it names (dotted paths match by prefix, ``system`` covers ``system.email``),
a create or delete touches every field. A create (the item is missing) is decided by the
item's newest entry, a delete (the item is undeclared) by the newest entry that created it; an
item with no entry at all is config for a create (it never existed), the platform's default
for a field of an update (nobody ever wrote it), and drift for a delete (made outside wscfg).

Pure: :func:`attribute` takes a plan and the entries :func:`audit_query` asked for (the CLI
and fleet code read them, one filtered request per workspace with differences).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ..model.kinds import FINGERPRINT_SUFFIX
from .changes import CONFIG, DEFAULT, DRIFT, Change, Create, Delete, FieldChange, Origin, Update

MAX_AUDIT_KEYS = 100  # more changed items than this: read the kinds' log without a key filter
MAX_AUDIT_KEY_CHARS = 4000  # likewise past this many characters of keys (a URL stays short)
WHOLE_ITEM = ("create", "delete")


def origin_of(entry: Mapping[str, Any], writers: Collection[str] = frozenset()) -> Origin:
    """The origin of the write ``entry`` records: wscfg's own (config), the platform's
    (default) or someone else's (drift, naming who, how and when)."""
    if is_wscfg(entry, writers):
        return Origin(CONFIG)
    actor = entry.get("actor") or {}
    if actor.get("type") == "system":  # the platform itself (a new workspace's defaults)
        return Origin(DEFAULT)
    return Origin(
        DRIFT,
        _text(actor.get("type")),
        _text(actor.get("name")),
        _text(entry.get("via")),
        _text(entry.get("at")),
        _text(entry.get("client")),
        _text(entry.get("action")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def is_wscfg(entry: Mapping[str, Any], writers: Collection[str]) -> bool:
    """A write wscfg made: through the API with one of wscfg's keys (``writers``: key ids),
    as the server recorded it (``actor.key_id``); the User-Agent plays no part."""
    actor = entry.get("actor")
    key_id = actor.get("key_id") if isinstance(actor, Mapping) else None
    return entry.get("via", "api") == "api" and isinstance(key_id, str) and key_id in writers


def audit_query(changes: Sequence[Change]) -> tuple[list[str], list[str] | None]:
    """The kinds and keys whose audit entries explain ``changes`` (keys ``None``: every key
    of those kinds, when there are too many to name)."""
    kinds = sorted({c.kind for c in changes})
    keys = sorted({c.key for c in changes})
    named = len(keys) <= MAX_AUDIT_KEYS and sum(len(k) for k in keys) <= MAX_AUDIT_KEY_CHARS
    return kinds, (keys if named else None)


def attribute(
    changes: Iterable[Change],
    entries: Iterable[Mapping[str, Any]],
    writers: Collection[str] = frozenset(),
) -> None:
    """Set ``origin`` on each change and on each field of an update, from ``entries`` (the
    audit log of the workspace, any order; entries of other items are ignored); a write
    with a key of ``writers`` (key ids) is wscfg's."""
    by_item: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for e in entries:
        kind, key = e.get("kind"), e.get("key")
        if isinstance(kind, str) and isinstance(key, str):
            by_item.setdefault((kind, key), []).append(e)
    for history in by_item.values():
        history.sort(key=_order, reverse=True)  # newest first
    for change in changes:
        history = by_item.get((change.kind, change.key), [])
        if isinstance(change, Update):
            change.fields = [
                _with_origin(f, _field_origin(history, f.path, writers)) for f in change.fields
            ]
            drifted = [f.origin for f in change.fields if f.origin is not None and f.origin.drift]
            if drifted:
                change.origin = max(drifted, key=lambda o: o.at or "")
            elif any(f.origin is not None and f.origin.default for f in change.fields):
                change.origin = Origin(DEFAULT)
            else:
                change.origin = Origin(CONFIG)
        elif isinstance(change, Create):
            change.origin = origin_of(history[0], writers) if history else Origin(CONFIG)
        elif isinstance(change, Delete):
            made = [e for e in history if e.get("action") == "create"]
            change.origin = origin_of(made[0], writers) if made else Origin(DRIFT)
        else:  # a re-sent invitation: whoever last wrote the member
            change.origin = origin_of(history[0], writers) if history else Origin(DRIFT)


def _order(entry: Mapping[str, Any]) -> tuple[str, int]:
    at, ident = entry.get("at"), entry.get("id")
    return (at if isinstance(at, str) else "", ident if isinstance(ident, int) else 0)


def _with_origin(field: FieldChange, origin: Origin) -> FieldChange:
    return FieldChange(field.path, field.before, field.after, field.source, origin)


def _field_origin(
    history: Sequence[Mapping[str, Any]], path: str, writers: Collection[str]
) -> Origin:
    name = path.removesuffix(FINGERPRINT_SUFFIX)
    for entry in history:
        if entry.get("action") in WHOLE_ITEM or _touches(entry.get("fields"), name):
            return origin_of(entry, writers)
    return Origin(DEFAULT)  # nobody ever wrote it: the platform's default


def _touches(fields: Any, path: str) -> bool:
    if not isinstance(fields, list):
        return False
    for f in fields:
        if not isinstance(f, str):
            continue
        if f == path or f.startswith(path + ".") or path.startswith(f + "."):
            return True
    return False
