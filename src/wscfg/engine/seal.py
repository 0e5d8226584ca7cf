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

The whole document is sealed too (:func:`seal_document`): ``"seal"`` holds the key id and an
HMAC-SHA256, under the plan key, of the canonical form of every other member (format version,
server, allowances, the ``--only`` selection, each workspace with its server-side identity and
every change). :func:`check_seal` refuses a document whose HMAC does not match before anything
in it is used, and names the cause when the key id shows the key differs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import PlanFileError
from ..model.kinds import BY_NAME, FINGERPRINT_SUFFIX
from .changes import Change

HMAC_PREFIX = "hmac-sha256:"
HIDDEN = "(hidden)"

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


# --- the seal over a whole plan document ---------------------------------------------------

SEAL = "seal"
CHANGED = "the plan file was changed after it was written"
SEAL_LABEL = b"wscfg plan seal v1\0"


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes the seal covers: every member but the seal, keys sorted, no spacing; numbers
    keep their type (``1`` and ``1.0`` differ)."""
    body = {k: v for k, v in doc.items() if k != SEAL}
    try:
        text = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError):
        raise PlanFileError(f"{CHANGED} (it holds a value JSON cannot carry)") from None
    return text.encode()


def document_hmac(key: bytes, doc: dict[str, Any]) -> str:
    return HMAC_PREFIX + hmac.new(key, SEAL_LABEL + canonical(doc), hashlib.sha256).hexdigest()


def seal_document(doc: dict[str, Any], key: bytes) -> dict[str, Any]:
    """``doc`` with its seal as the last member (any seal it had is replaced)."""
    body = {k: v for k, v in doc.items() if k != SEAL}
    return {**body, SEAL: {"key_id": key_id(key), "hmac": document_hmac(key, body)}}


@dataclass(frozen=True)
class SealCheck:
    """What checking a document's seal found: ``verified``; ``no_key`` (none to check with);
    ``other_key`` (sealed with another plan key: ``sealed_with`` and ``here`` are the key
    ids); ``missing`` (no seal: an older wscfg, or removed); ``changed`` (damaged or not
    matching)."""

    status: str
    sealed_with: str | None = None
    here: str | None = None

    def message(self) -> str:
        if self.status == "verified":
            return f"the plan file's seal verified (plan key id {self.sealed_with})"
        if self.status == "no_key":
            return (
                "the plan file's seal could not be checked: no plan key here (set "
                "WSCFG_PLAN_KEY, or WSCFG_TOKEN, as in the job that made the plan)"
            )
        if self.status == "other_key":
            return (
                f"the plan file was sealed with another plan key (key id {self.sealed_with}; "
                f"this job's is {self.here}): set the same WSCFG_PLAN_KEY in the plan and the "
                f"apply job. If the keys are the same, {CHANGED}"
            )
        if self.status == "missing":
            return (
                f"the plan file is not sealed: it was written by an older wscfg, or {CHANGED}; "
                "make the plan again"
            )
        return f"{CHANGED}; make the plan again and review it"


def inspect_seal(doc: dict[str, Any], key: bytes | None) -> SealCheck:
    """Check ``doc``'s seal under ``key`` (``None``: no key available)."""
    if SEAL not in doc:
        return SealCheck("missing")
    seal = doc[SEAL]
    if (
        not isinstance(seal, dict)
        or set(seal) != {"key_id", "hmac"}
        or not all(isinstance(v, str) for v in seal.values())
    ):
        return SealCheck("changed")
    sealed_with = seal["key_id"]
    if key is None:
        return SealCheck("no_key", sealed_with)
    here = key_id(key)
    if not hmac.compare_digest(sealed_with, here):
        return SealCheck("other_key", sealed_with, here)
    if not hmac.compare_digest(seal["hmac"], document_hmac(key, doc)):
        return SealCheck("changed", sealed_with, here)
    return SealCheck("verified", sealed_with, here)


def check_seal(doc: dict[str, Any], key: bytes) -> None:
    """Refuse (:class:`PlanFileError`) a document whose seal does not verify under ``key``."""
    found = inspect_seal(doc, key)
    if found.status != "verified":
        raise PlanFileError(found.message())
