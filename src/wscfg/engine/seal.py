"""Secrets in plan files: enough to notice "the secret changed since the plan", nothing to
test guesses against.

In memory a write-only value is ``{"env": NAME, "fingerprint": …}`` where the fingerprint is
the platform's (what live state shows, needed to diff). A plan *file* (``-o plan.json`` and
``--format json``) carries neither that fingerprint nor the live ones: each secret becomes
``{"env": NAME, "hmac": "hmac-sha256:…"}``, an HMAC-SHA256 of the value keyed by the **plan
key**, which the plan file does not hold (``WSCFG_PLAN_KEY``, else the API key), and live
fingerprints become ``"(hidden)"``. Whoever holds only the plan file cannot check a guess;
``apply plan.json`` recomputes the HMAC with the same key from the environment's value.
The document records a key id (an HMAC of a fixed label) so that apply can tell "another plan
key" from "another secret".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..model.kinds import BY_NAME
from .changes import Change

HMAC_PREFIX = "hmac-sha256:"
HIDDEN = "(hidden)"
FINGERPRINT_SUFFIX = "_fingerprint"

SecretLookup = Callable[[Change, str, dict[str, Any]], str]


def is_secret_marker(value: Any) -> bool:
    """A write-only value as a plan holds it: in memory, or sealed in a plan file."""
    return (
        isinstance(value, dict) and "env" in value and set(value) <= {"env", "fingerprint", "hmac"}
    )


def plan_hmac(key: bytes, value: str) -> str:
    return HMAC_PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    return hmac.new(key, b"wscfg plan key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Sealer:
    """The plan key and where secret values come from: ``values(slug)`` is the secret lookup
    of that workspace's plan (the desired states of this run)."""

    key: bytes
    values: Callable[[str], SecretLookup]

    @property
    def key_id(self) -> str:
        return key_id(self.key)


def seal_change(
    change: Change, data: dict[str, Any], value_of: SecretLookup | None, key: bytes | None
) -> dict[str, Any]:
    """``change.to_dict()`` as written to a plan file: secrets sealed, fingerprints hidden."""
    kind = BY_NAME[change.kind]
    if not kind.write_only:
        return data
    for side in ("before", "after"):
        item = data.get(side)
        if isinstance(item, dict):
            data[side] = _seal_item(change, item, kind.write_only, value_of, key)
    hidden = {name + FINGERPRINT_SUFFIX for name in kind.write_only}
    for f in data.get("fields", []):
        if f["path"] in hidden:
            f["before"] = None if f["before"] is None else HIDDEN
            f["after"] = None if f["after"] is None else HIDDEN
    return data


def _seal_item(
    change: Change,
    item: dict[str, Any],
    names: Iterable[str],
    value_of: SecretLookup | None,
    key: bytes | None,
) -> dict[str, Any]:
    out = dict(item)
    for name in names:
        if out.get(name + FINGERPRINT_SUFFIX) is not None:
            out[name + FINGERPRINT_SUFFIX] = HIDDEN
        marker = out.get(name)
        if isinstance(marker, dict) and "fingerprint" in marker:
            sealed: dict[str, Any] = {"env": marker.get("env")}
            if value_of is not None and key is not None:
                sealed["hmac"] = plan_hmac(key, value_of(change, name, marker))
            out[name] = sealed
    return out
