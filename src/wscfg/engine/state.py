"""The two states a plan compares, as plain JSON data keyed by kind and identity.

``LiveState`` comes from the API's snapshot (already normalized by the platform, which
validates every write with the same models), so reading 100,000 items costs no per-item model
validation. ``DesiredState`` comes from a target config (validated): each item is dumped with
``exclude_unset`` so that only what the user wrote is managed. Secret values never enter either
state: a write-only field holds ``{"env": NAME, "fingerprint": "sha256:…"}`` and the value
itself waits in ``DesiredState.secret_values`` until apply builds the request body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import KINDS, SNAPSHOT_KINDS, secret_fingerprint

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ..config.desired import TargetConfig

Items = dict[str, dict[str, Any]]  # key -> fields


@dataclass
class LiveState:
    slug: str
    items: dict[str, Items] = field(default_factory=dict)  # kind -> key -> fields (no etag)
    etags: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> key -> etag
    # the snapshot's api_key_use: {caller: name of the managed key making the request or None,
    # unmanaged: active keys outside the kind, limit: active keys a workspace may have}
    key_use: dict[str, Any] = field(default_factory=dict)
    # the snapshot's workspace_id: the server-side identity, which a slug is not (None: the
    # server does not say)
    workspace_id: str | None = None

    @classmethod
    def from_snapshot(cls, slug: str, snapshot: dict[str, Any], owned: bool = False) -> LiveState:
        """The state of a snapshot (``GET …/settings``). ``owned``: the caller gives up the
        snapshot, whose items then become the state's own (their ``etag`` taken out of
        them) instead of being copied."""
        state = cls(slug)
        uid = snapshot.get("workspace_id")
        state.workspace_id = uid if isinstance(uid, str) and uid else None
        use = snapshot.get("api_key_use")
        if isinstance(use, dict):
            state.key_use = {
                "caller": use["caller"] if isinstance(use.get("caller"), str) else None,
                "unmanaged": _count(use.get("unmanaged")),
                "limit": _count(use.get("limit")) if use.get("limit") is not None else None,
            }
        for kind in SNAPSHOT_KINDS:  # observed kinds (integrations) too: plans read them
            raw = snapshot.get(kind.name)
            items: Items = {}
            etags: dict[str, str] = {}
            if raw is None:
                pass
            elif kind.singleton:
                body = dict(raw)
                etag = body.pop("etag", None)
                items[""] = body
                if etag:
                    etags[""] = etag
            else:
                ident = kind.identity
                assert ident is not None
                for entry in raw:
                    body = entry if owned and type(entry) is dict else dict(entry)
                    etag = body.pop("etag", None)
                    key = str(body[ident])
                    items[key] = body
                    if etag:
                        etags[key] = etag
            state.items[kind.name] = items
            state.etags[kind.name] = etags
        return state

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.items.get(kind, {}).get(key)

    def etag(self, kind: str, key: str) -> str | None:
        return self.etags.get(kind, {}).get(key)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


@dataclass
class DesiredState:
    slug: str
    file: str = ""
    items: dict[str, Items] = field(default_factory=dict)  # only managed kinds are present
    modes: dict[str, str] = field(default_factory=dict)  # kind -> exact | additive
    ignore: dict[str, list[str]] = field(default_factory=dict)  # kind -> globs
    resend_expired: bool = True  # invitations.resend_expired
    required_integrations: list[str] = field(default_factory=list)  # integrations.required
    secret_values: dict[tuple[str, str, str], SecretStr] = field(default_factory=dict, repr=False)
    target_config: TargetConfig | None = field(default=None, repr=False)  # sources, read lazily
    positions: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def mode(self, kind: str) -> str:
        return self.modes.get(kind, "exact")

    def first_owner(self) -> str | None:
        """The first owner the config declares: who a new workspace is created for."""
        members = self.items.get("members", {})
        return next((k for k, m in members.items() if m.get("role") == "owner"), None)

    def source(self, kind: str, key: str, field: str = "") -> str | None:
        """Where the item (or one of its fields, ``"business_profile.company"``) was written,
        e.g. ``base.yaml:12``. Looked up only for changed items."""
        if self.target_config is None:
            return None
        path: tuple[str | int, ...] = (kind,)
        if kind in self.positions and key in self.positions[kind]:
            path += (self.positions[kind][key],)
        if field:
            path += tuple(field.removesuffix("_fingerprint").split("."))
        src = self.target_config.source_of(path)
        return None if src is None else str(src)


def secret_marker(env: str | None, value: str) -> dict[str, Any]:
    """What a write-only value looks like in a plan: where it comes from and its fingerprint."""
    return {"env": env, "fingerprint": secret_fingerprint(value)}


def desired_state(target: TargetConfig) -> DesiredState:
    """Flatten a target config into per-kind items (one dump of the whole document)."""
    config = target.config
    assert config.workspace is not None
    state = DesiredState(slug=config.workspace.slug, file=target.file, target_config=target)
    data = config.model_dump(mode="json", exclude_unset=True)
    state.modes = {k: v for k, v in (data.get("manage") or {}).items() if v is not None}
    state.ignore = {k: v for k, v in (data.get("ignore") or {}).items() if v is not None}
    state.resend_expired = (data.get("invitations") or {}).get("resend_expired", True)
    state.required_integrations = list((data.get("integrations") or {}).get("required") or [])
    for kind in KINDS:
        if kind.name not in data or data[kind.name] is None:
            continue
        if kind.singleton:
            state.items[kind.name] = {"": data[kind.name]}
            continue
        ident = kind.identity
        assert ident is not None
        bodies = data[kind.name]
        items: Items = {str(body[ident]): body for body in bodies}
        state.positions[kind.name] = {str(body[ident]): i for i, body in enumerate(bodies)}
        for name in kind.write_only:
            for index, model in enumerate(getattr(config, kind.name)):
                secret = getattr(model, name, None)
                if secret is None:
                    continue
                key = kind.key_of(bodies[index])
                env = target.secret_refs.get((kind.name, index, name))
                items[key][name] = secret_marker(env, secret.get_secret_value())
                state.secret_values[(kind.name, key, name)] = secret
        state.items[kind.name] = items
    return state
