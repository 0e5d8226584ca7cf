"""Live state → a config document that plans to zero changes against the same workspace.

Read-only fields (member status, secret fingerprints) are left out, and a workspace with an
expired invitation exports ``invitations: {resend_expired: false}`` so the export plans to
zero changes (re-sending is for a person to decide); write-only values cannot
be read back, so a webhook's secret is left unmanaged and reported in ``secrets`` (the YAML
writer turns each into a comment showing the ``${env:…}`` line to add). Integrations are
read-only: :meth:`Export.read_only_section` lists them and their status (the YAML writer adds
it as comments at the end). With a ``base``
document (a template the export will ``extends:``), only what differs from it is written.
"""

from __future__ import annotations

import functools
import re
import typing
from dataclasses import dataclass, field
from typing import Any

from ..model.kinds import KINDS
from .diff import key_order
from .state import LiveState


@dataclass
class Export:
    document: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)  # webhook name -> suggested env var
    integrations: dict[str, str] = field(default_factory=dict)  # name -> status (read-only)

    def read_only_section(self) -> list[str]:
        """Comment lines listing what the platform shows but wscfg never writes."""
        if not self.integrations:
            return []
        out = ["Read-only: integrations are connected in the UI (Settings > Integrations)."]
        out += [f"  {name}: {status}" for name, status in sorted(self.integrations.items())]
        out.append("To require some before a rollout: integrations: {required: [NAME, ...]}")
        return out


def secret_env_name(slug: str, name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"WSCFG_{slug}_{name}_SECRET".upper()).strip("_")


def export_live(live: LiveState, *, base: dict[str, Any] | None = None) -> Export:
    doc: dict[str, Any] = {"version": 1}
    secrets: dict[str, str] = {}
    base = base or {}
    for kind in KINDS:
        items = live.items.get(kind.name)
        if items is None:
            continue
        drop = kind.read_only
        if kind.singleton:
            body = {k: v for k, v in items.get("", {}).items() if k not in drop}
            body = in_model_order(kind.model, body)
            if kind.name == "workspace":
                body = _minus(body, base.get("workspace") or {}, keep=("slug",))
            else:
                body = _minus(body, base.get(kind.name) or {})
            if body:
                doc[kind.name] = body
            continue
        base_items = {kind.key_of(i): i for i in _as_items(base.get(kind.name))}
        out = []
        for key in sorted(items, key=key_order):
            body = {k: v for k, v in items[key].items() if k not in drop}
            ident = kind.identity or ""
            body = in_model_order(kind.model, body)
            if ident in body:  # the identity first: `- name: x`, then the rest
                body = {ident: body.pop(ident)} | body
            if kind.write_only and any(items[key].get(f + "_fingerprint") for f in kind.write_only):
                secrets[key] = secret_env_name(live.slug, key)
            if key in base_items:
                body = _minus(body, base_items[key], keep=(kind.identity or "",))
                if len(body) == 1:
                    continue  # identical to the template's item
            if kind.name == "blocked_callers" and set(body) == {"number"}:
                out.append(body["number"])
            else:
                out.append(body)
        missing = set(base_items) - set(items)
        for key in sorted(missing, key=key_order):
            ident = kind.identity or ""
            out.append({ident: base_items[key][ident], "$remove": True})
        if out or kind.name not in base:
            doc[kind.name] = out
    members = live.items.get("members") or {}
    if any(m.get("status") == "expired" for m in members.values()):
        # Re-sending is a decision for a person, not a side effect of exporting.
        doc["invitations"] = {"resend_expired": False}
    observed = live.items.get("integrations") or {}
    integrations = {k: str(v.get("status") or "unknown") for k, v in observed.items()}
    return Export(doc, secrets, integrations)


def in_model_order(model: Any, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its keys in the order the model declares its fields (the config format's
    order, as docs/config.md shows it), nested models likewise; unknown keys keep their place
    at the end."""
    order = _field_order(model)
    if not order:
        return body
    out: dict[str, Any] = {}
    for key, nested in order:
        if key in body:
            value = body[key]
            if nested is not None and isinstance(value, dict):
                value = in_model_order(nested, value)
            out[key] = value
    if len(out) == len(body):  # every key is a field (the usual case)
        return out
    return out | {k: v for k, v in body.items() if k not in out}


@functools.cache
def _field_order(model: Any) -> tuple[tuple[str, Any], ...]:
    """(key, the model of its value or None) per field of ``model``, in declared order: worked
    out once per model class, as a fleet's export or policy check orders ~100 items per
    workspace with it."""
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ()
    return tuple(
        (info.alias or name, _nested_model(info.annotation)) for name, info in fields.items()
    )


def _nested_model(annotation: Any) -> Any:
    """The model class inside ``Model``, ``Model | None`` or ``Annotated[Model, …]``."""
    if getattr(annotation, "model_fields", None):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _as_items(value: Any) -> list[dict[str, Any]]:
    out = []
    for item in value or []:
        out.append(item if isinstance(item, dict) else {"number": item})
    return out


def _minus(
    body: dict[str, Any], base: dict[str, Any], keep: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``body`` without what ``base`` already says the same way (recursively for mappings)."""
    out: dict[str, Any] = {}
    for k, v in body.items():
        if k in keep or k not in base:
            out[k] = v
        elif isinstance(v, dict) and isinstance(base[k], dict):
            sub = _minus(v, base[k])
            if sub:
                out[k] = sub
        elif base[k] != v:
            out[k] = v
    return out
