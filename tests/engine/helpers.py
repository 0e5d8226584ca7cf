"""Build desired and live states from plain dicts, through the real models."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from wscfg.config.desired import Source, TargetConfig
from wscfg.engine.state import DesiredState, LiveState, desired_state
from wscfg.model import KINDS, WorkspaceConfig, secret_fingerprint


def desired(doc: dict[str, Any], *, secret_env: str | None = "HOOK_SECRET") -> DesiredState:
    body = {"version": 1, **doc}
    body.setdefault("workspace", {"slug": "acme"})
    config = WorkspaceConfig.model_validate(body)
    refs = {}
    for i, hook in enumerate(config.webhooks or []):
        if hook.secret is not None and secret_env:
            refs[("webhooks", i, "secret")] = secret_env
    sources = {
        ("members", i): Source("ws.yaml", 10 + i, 5) for i in range(len(config.members or []))
    }
    return desired_state(TargetConfig("ws.yaml", config, sources=sources, secret_refs=refs))


def live(doc: dict[str, Any], slug: str = "acme") -> LiveState:
    """A snapshot as the server would send it: every item normalized, with an etag."""
    snap: dict[str, Any] = {
        "workspace": {"slug": slug, "name": slug, "timezone": "UTC", "etag": "w0"}
    }
    for kind in KINDS:
        if kind.name == "workspace" and "workspace" not in doc:
            continue
        value = doc.get(kind.name, {} if kind.singleton else [])
        if kind.singleton:
            snap[kind.name] = {**value, "etag": f"{kind.name}-etag"}
        else:
            items = []
            for i, item in enumerate(value):
                item = dict(item)
                if kind.name == "webhooks" and "secret" in item:
                    item["secret_fingerprint"] = secret_fingerprint(item.pop("secret"))
                item.setdefault("etag", f"{kind.name}-{i}")
                items.append(item)
            snap[kind.name] = items
    return LiveState.from_snapshot(slug, snap)


def secret(value: str) -> SecretStr:
    return SecretStr(value)
