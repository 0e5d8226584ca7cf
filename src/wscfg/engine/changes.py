"""The changes a plan is made of: small classes sharing one interface.

Each change knows its kind and key, the live value before, the desired value after, the ETag it
was planned against, and where the desired value was written. Its class says what it does and
when it runs: creates, updates and re-sent invitations go in the registry's ascending order
(roles before the members that use them, tags before the rules that name them); deletes come
last, in descending order, so nothing is deleted while something still refers to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..model.kinds import BY_NAME
from .fields import overlay

CONFIG = "config"
DRIFT = "drift"
DEFAULT = "default"  # the platform's own value: nobody has written it


@dataclass(frozen=True)
class Origin:
    """Where a difference came from; for drift, the write that made it (if any is known)."""

    attribution: str  # config | drift | default
    actor_type: str | None = None  # api_key | user | system
    actor_name: str | None = None
    via: str | None = None  # api | ui
    at: str | None = None  # RFC 3339 UTC
    client: str | None = None
    action: str | None = None  # the audited action: create, update, delete…

    @property
    def drift(self) -> bool:
        return self.attribution == DRIFT

    @property
    def default(self) -> bool:
        return self.attribution == DEFAULT

    @property
    def known(self) -> bool:
        return self.actor_name is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.attribution}
        if self.attribution == DRIFT:
            actor = None
            if self.actor_name is not None:
                actor = {"type": self.actor_type, "name": self.actor_name}
            out.update(actor=actor, via=self.via, at=self.at, client=self.client)
            out["action"] = self.action
        return out

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Origin:
        actor = data.get("actor") or {}
        return Origin(
            str(data.get("source", CONFIG)),
            actor.get("type"),
            actor.get("name"),
            data.get("via"),
            data.get("at"),
            data.get("client"),
            data.get("action"),
        )

    def who(self) -> str:
        """``jane@acme.example``, ``API key "zapier"``, ``the platform``, ``someone``."""
        if self.actor_name is None:
            return "someone"
        if self.actor_type == "api_key":
            return f'API key "{self.actor_name}"'
        if self.actor_type == "system":
            return "the platform"
        return self.actor_name

    def when(self) -> str:
        """``2026-11-27 14:03 UTC`` from ``2026-11-27T14:03:09Z``."""
        at = self.at or ""
        if len(at) >= 16 and at[10] == "T":
            return f"{at[:10]} {at[11:16]} UTC"
        return at or "at an unknown time"

    def note(self) -> str:
        """``reverts a UI change by jane@acme.example, 2026-11-27 14:03 UTC``; ``replaces the
        platform's default`` for a value nobody wrote; empty for config."""
        if self.default:
            return "replaces the platform's default"
        if not self.drift:
            return ""
        if not self.known:
            return "made outside wscfg; no audit entry says by whom"
        if self.actor_type == "system":  # a drift origin from an older plan file
            return f"replaces the platform's default, set {self.when()}"
        channel = "a UI" if self.via == "ui" else "an API"
        return f"reverts {channel} change by {self.who()}, {self.when()}"


@dataclass(frozen=True)
class FieldChange:
    path: str  # e.g. "role", "business_profile.company"
    before: Any
    after: Any
    source: str | None = None  # where the desired value was written, e.g. "base.yaml:12"
    origin: Origin | None = None  # where the difference came from (see Origin)

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after}
        if self.source is not None:
            out["source"] = self.source
        if self.origin is not None:
            out["origin"] = self.origin.to_dict()
        return out


@dataclass
class Change:
    kind: str
    key: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    etag: str | None = None
    source: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    origin: Origin | None = None  # config or drift (see Origin); None: not attributed

    action: ClassVar[str] = ""
    symbol: ClassVar[str] = ""
    phase: ClassVar[int] = 0

    @property
    def label(self) -> str:
        kind = BY_NAME[self.kind]
        return f"{kind.label} {self.key}" if self.key else kind.label

    @property
    def address(self) -> str:
        """A stable name for the item, e.g. ``members[a@b.example]`` or ``call_rules``."""
        return f"{self.kind}[{self.key}]" if self.key else self.kind

    def sort_key(self) -> tuple[Any, ...]:
        order = BY_NAME[self.kind].order
        return (
            self.phase,
            order if self.phase == 0 else -order,
            self._within(),
            key_order(self.key),
        )

    def _within(self) -> int:
        return 0

    def body(self) -> dict[str, Any]:
        """The request body for this change (write-only fields still as references)."""
        return dict(self.after or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "kind": self.kind, "key": self.key}
        if self.before is not None:
            out["before"] = self.before
        if self.after is not None:
            out["after"] = self.after
        if self.etag is not None:
            out["etag"] = self.etag
        if self.source is not None:
            out["source"] = self.source
        if self.fields:
            out["fields"] = [f.to_dict() for f in self.fields]
        if self.origin is not None:
            out["origin"] = self.origin.to_dict()
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Change:
        cls = ACTIONS[data["action"]]
        return cls(
            kind=data["kind"],
            key=data["key"],
            before=data.get("before"),
            after=data.get("after"),
            etag=data.get("etag"),
            source=data.get("source"),
            fields=[
                FieldChange(
                    f["path"],
                    f["before"],
                    f["after"],
                    source=_text(f.get("source")),
                    origin=_origin(f.get("origin")),
                )
                for f in data.get("fields", [])
            ],
            origin=_origin(data.get("origin")),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _origin(data: Any) -> Origin | None:
    return Origin.from_dict(data) if isinstance(data, dict) else None


class Create(Change):
    action = "create"
    symbol = "+"
    phase = 0


class Update(Change):
    action = "update"
    symbol = "~"
    phase = 0

    def _within(self) -> int:
        # Promote new owners before demoting old ones, so the platform never sees zero owners.
        if self.kind == "members" and (self.after or {}).get("role") == "owner":
            return 0
        return 1

    def body(self) -> dict[str, Any]:
        """Only the top-level fields that change; nested objects sent whole (live merged with
        desired), so the result does not depend on how deeply the server merges a PATCH."""
        model = BY_NAME[self.kind].model
        after = self.after or {}
        changed = set()
        for f in self.fields:
            name = f.path.split(".", 1)[0]
            base = name.removesuffix("_fingerprint")  # a write-only value compared by fingerprint
            changed.add(base if base in after else name)
        before = self.before or {}
        out: dict[str, Any] = {}
        for name in changed:
            if name not in after:
                continue
            out[name] = overlay({name: before.get(name)}, {name: after[name]}, model)[name]
        return out


class Resend(Change):
    """An expired invitation of a declared member is sent again."""

    action = "resend"
    symbol = "~"
    phase = 0

    def _within(self) -> int:
        return 2


class Delete(Change):
    action = "delete"
    symbol = "-"
    phase = 1


ACTIONS: dict[str, type[Change]] = {c.action: c for c in (Create, Update, Resend, Delete)}


def key_order(key: str) -> tuple[int, str]:
    """Numeric identities (usage alert thresholds) in numeric order, text in text order."""
    return (int(key), "") if key.isascii() and key.isdigit() else (-1, key)
