"""The two states a plan compares, as plain JSON data keyed by kind and identity.

``LiveState`` comes from the API's snapshot (already normalized by the platform, which
validates every write with the same models), so reading 100,000 items costs no per-item model
validation. ``DesiredState`` comes from a validated config: each item is dumped with
``exclude_unset`` so that only what the user wrote is managed. Secret values never enter either
state: a write-only field holds ``{"env": NAME, "fingerprint": "sha256:…"}`` and the value
itself waits in ``DesiredState.secret_values`` until apply builds the request body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import KINDS, fingerprint
from ..model.kinds import BY_NAME, Kind

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ..config.desired import Desired, Source

Items = dict[str, dict[str, Any]]  # key -> fields


@dataclass
class LiveState:
    slug: str
    items: dict[str, Items] = field(default_factory=dict)  # kind -> key -> fields (no etag)
    etags: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> key -> etag

    @classmethod
    def from_snapshot(cls, slug: str, snapshot: dict[str, Any]) -> LiveState:
        state = cls(slug)
        for kind in KINDS:
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
                    body = dict(entry)
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


@dataclass
class DesiredState:
    slug: str
    file: str = ""
    items: dict[str, Items] = field(default_factory=dict)  # only managed kinds are present
    modes: dict[str, str] = field(default_factory=dict)  # kind -> exact | additive
    ignore: dict[str, list[str]] = field(default_factory=dict)  # kind -> globs
    sources: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, key) -> "f:12"
    field_sources: dict[tuple[str, str, str], str] = field(default_factory=dict)
    secret_values: dict[tuple[str, str, str], SecretStr] = field(default_factory=dict, repr=False)

    def mode(self, kind: str) -> str:
        return self.modes.get(kind, "exact")


def secret_marker(env: str | None, value: str) -> dict[str, Any]:
    """What a write-only value looks like in a plan: where it comes from and its fingerprint."""
    return {"env": env, "fingerprint": fingerprint(value)}


def desired_state(desired: Desired) -> DesiredState:
    """Flatten a validated config into per-kind items, remembering where each came from."""
    config = desired.config
    assert config.workspace is not None
    state = DesiredState(slug=config.workspace.slug, file=desired.file)
    if config.manage is not None:
        state.modes = {k: v for k, v in config.manage.model_dump(exclude_none=True).items()}
    if config.ignore is not None:
        state.ignore = {k: v for k, v in config.ignore.model_dump(exclude_none=True).items()}
    for kind in KINDS:
        value = getattr(config, kind.name)
        if value is None:
            continue
        entries = [(None, value)] if kind.singleton else list(enumerate(value))
        items: Items = {}
        for index, model in entries:
            body = model.model_dump(mode="json", exclude_unset=True)
            key = kind.key_of(body)
            path: tuple[str | int, ...] = (kind.name,) if index is None else (kind.name, index)
            for name in kind.write_only:
                secret = getattr(model, name, None)
                if secret is None:
                    continue
                plain = secret.get_secret_value()
                env = desired.secret_refs.get((*path, name))
                body[name] = secret_marker(env, plain)
                state.secret_values[(kind.name, key, name)] = secret
            items[key] = body
            src = desired.source_of(path)
            if src is not None:
                state.sources[(kind.name, key)] = str(src)
            for name in body:
                fsrc = desired.source_of((*path, name))
                if fsrc is not None:
                    state.field_sources[(kind.name, key, name)] = str(fsrc)
        state.items[kind.name] = items
    return state


def kind_of(name: str) -> Kind:
    return BY_NAME[name]


def source_str(source: Source | None) -> str | None:
    return None if source is None else str(source)
