"""Desired state × live state → changes. Pure: no I/O, no clock.

Items are matched on their natural key with set operations (creates and deletes); each pair
present on both sides is compared on the fields the config sets (an unset field is unmanaged).
Inside one changed item, :func:`field_changes` names the changed fields.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..model.base import submodels
from ..model.kinds import FINGERPRINT_SUFFIX, KINDS, Kind
from .changes import Change, Create, Delete, FieldChange, Resend, Update, key_order
from .fields import project, submodels_of
from .state import DesiredState, LiveState


@dataclass
class KindReport:
    """What the diff decided about one kind, beyond its changes."""

    live: int = 0  # live items before the plan
    kept: int = 0  # undeclared live items kept because the kind is additive
    ignored: int = 0  # live items matching an ignore glob
    declared_ignored: list[str] = field(default_factory=list)  # declared AND ignored: skipped


def diff(desired: DesiredState, live: LiveState) -> tuple[list[Change], dict[str, KindReport]]:
    changes: list[Change] = []
    reports: dict[str, KindReport] = {}
    for kind in KINDS:
        if kind.name not in desired.items:
            continue
        want = desired.items[kind.name]
        have = live.items.get(kind.name, {})
        report = KindReport(live=len(have))
        reports[kind.name] = report
        if kind.singleton:
            change = _compare(kind, "", want.get("", {}), have.get("", {}), desired, live)
            if change is not None:
                changes.append(change)
            continue
        globs = desired.ignore.get(kind.name, [])
        ignored = _matcher(globs)
        for key in sorted(want.keys() - have.keys(), key=key_order):
            if globs and ignored(key):
                report.declared_ignored.append(key)
                continue
            changes.append(
                Create(kind.name, key, after=want[key], source=desired.source(kind.name, key))
            )
        both = want.keys() & have.keys()
        if globs:
            keys: Iterable[str] = sorted(both, key=key_order)
        else:
            # Most pairs are equal: compare them in any order, and put in key order only the
            # keys that changed (a stable sort of the same set: the order sorting them all
            # first gives).
            keys = sorted(_differing(kind, both, want, have, desired), key=key_order)
        for key in keys:
            if globs and ignored(key):
                report.declared_ignored.append(key)
                continue
            change = _compare(kind, key, want[key], have[key], desired, live)
            if change is not None:
                changes.append(change)
            if (
                kind.name == "members"
                and have[key].get("status") == "expired"
                and desired.resend_expired
            ):
                changes.append(
                    Resend(
                        kind.name,
                        key,
                        before=have[key],
                        after=want[key],
                        etag=live.etag(kind.name, key),
                        source=desired.source(kind.name, key),
                    )
                )
        undeclared = sorted(have.keys() - want.keys(), key=key_order)
        report.ignored = sum(1 for k in have if ignored(k)) if globs else 0
        for key in undeclared:
            if globs and ignored(key):
                continue
            if desired.mode(kind.name) == "additive":
                report.kept += 1
                continue
            changes.append(Delete(kind.name, key, before=have[key], etag=live.etag(kind.name, key)))
    changes.sort(key=Change.sort_key)
    return changes, reports


def _differing(
    kind: Kind,
    keys: Iterable[str],
    want: dict[str, dict[str, Any]],
    have: dict[str, dict[str, Any]],
    desired: DesiredState,
) -> list[str]:
    """The ``keys`` (in the order given) whose pair :func:`_compare` may find changed, or
    that carry a Resend: all but those :func:`_unchanged` decides equal at once."""
    resend = kind.name == "members" and desired.resend_expired
    if kind.write_only:
        return list(keys)
    model, skip = kind.model, _skipped(kind)
    return [
        key
        for key in keys
        if not _unchanged(have[key], want[key], model, skip)
        or (resend and have[key].get("status") == "expired")
    ]


def comparable(kind: Kind, desired_item: dict[str, Any]) -> dict[str, Any]:
    """The desired item as it would read back: write-only values become their fingerprints."""
    out = dict(desired_item)
    for name in kind.write_only:
        marker = out.pop(name, None)
        if isinstance(marker, dict):
            out[name + FINGERPRINT_SUFFIX] = marker.get("fingerprint")
    return out


def _compare(
    kind: Kind,
    key: str,
    want: dict[str, Any],
    have: dict[str, Any],
    desired: DesiredState,
    live: LiveState,
) -> Change | None:
    if not kind.write_only and _unchanged(have, want, kind.model, _skipped(kind)):
        return None  # the common case, decided without building the projection
    target = comparable(kind, want)
    if kind.identity:
        target.pop(kind.identity, None)
    if kind.name == "workspace":
        target.pop("slug", None)
    current = project(have, target, kind.model)
    if current == target:
        return None
    fields = [
        FieldChange(f.path, f.before, f.after, desired.source(kind.name, key, f.path))
        for f in field_changes(current, target, kind.model)
    ]
    return Update(
        kind.name,
        key,
        before=have,
        after=want,
        etag=live.etag(kind.name, key),
        source=desired.source(kind.name, key),
        fields=fields,
    )


def _skipped(kind: Kind) -> tuple[str, ...]:
    """Fields of a desired item that are not compared: its identity (the workspace's slug)."""
    skip: tuple[str, ...] = (kind.identity,) if kind.identity else ()
    return (*skip, "slug") if kind.name == "workspace" else skip


def _unchanged(
    have: dict[str, Any], want: dict[str, Any], model: type[BaseModel], skip: tuple[str, ...]
) -> bool:
    """``project(have, want) == want`` (minus ``skip``), without building the projection."""
    subs = submodels_of(model)
    for k, v in want.items():
        if k in skip:
            continue
        got = have.get(k)
        if k in subs and isinstance(v, dict):
            if not _unchanged(got if isinstance(got, dict) else {}, v, subs[k], ()):
                return False
        elif got is not v and got != v:
            return False
    return True


def field_changes(
    before: dict[str, Any], after: dict[str, Any], model: type[BaseModel]
) -> list[FieldChange]:
    """Name each changed field inside one item; lists and rule trees are values.

    Nested models are descended into, field by field; any other value that differs in any way
    (a type change such as ``1`` → ``1.0`` included) is one changed field. This is what
    deepdiff (``threshold_to_diff_deeper=0``) reports once its paths are cut at the first
    value that is not a nested model — tests/engine/test_field_changes.py checks the two agree
    — without importing it: the walk is a few lines, the import a tenth of a second.
    """
    paths = sorted(_changed_paths(before, after, model, ""))
    return [FieldChange(p, _walk(before, p), _walk(after, p)) for p in paths]


_MISSING = object()


def _changed_paths(
    before: dict[str, Any], after: dict[str, Any], model: type[BaseModel], prefix: str
) -> set[str]:
    subs = submodels(model)
    out: set[str] = set()
    for key in before.keys() | after.keys():
        b, a = before.get(key, _MISSING), after.get(key, _MISSING)
        if _same(b, a):
            continue
        path = f"{prefix}{key}"
        if key in subs and isinstance(b, dict) and isinstance(a, dict):
            out |= _changed_paths(b, a, subs[key], path + ".")
        else:
            out.add(path)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal with equal types all the way down (``1 == 1.0 == True`` are three values here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _walk(value: Any, path: str) -> Any:
    for name in path.split(".") if path else []:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _matcher(globs: list[str]) -> Any:
    if not globs:
        return lambda key: False
    lowered = [g.lower() for g in globs]
    return lambda key: any(fnmatch.fnmatchcase(key.lower(), g) for g in lowered)
