"""The registry of resource kinds: declared once, used by every stage.

Each kind says which model describes it, how its items are identified, where it lives in the
API, in which order changes apply, and which fields are write-only (never read back) or
read-only (set by the platform). Diff, plan, render, apply, export and the sandbox are generic
over this table; adding a kind is one model, one entry here and its server routes (then
`wscfg schema` regenerates the JSON documents, including the one `wscfg validate` checks with;
a validator the model adds needs a mark from wscfg.model.values: see docs/performance.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Resource

# a write-only field NAME is read back as NAME_fingerprint: its secret fingerprint
FINGERPRINT_SUFFIX = "_fingerprint"


@dataclass(frozen=True)
class Kind:
    name: str  # the config key, e.g. "blocked_callers"
    model_ref: str  # "module:Class" below wscfg.model, imported on first use of .model
    path: str  # below /v1/workspaces/{ws}; "" is the workspace itself
    identity: str | None  # None for singletons
    order: int  # creates and updates run in ascending order, deletes in descending
    label: str  # singular noun for messages, e.g. "blocked caller"
    write_only: frozenset[str] = frozenset()
    depends_on: tuple[str, ...] = ()  # kinds whose items this kind's items may name
    bulk: bool = False  # writes go through the batch endpoint

    @property
    def singleton(self) -> bool:
        return self.identity is None

    @cached_property
    def model(self) -> type[Resource]:
        """The pydantic model of one item (imported on first use: the registry itself does not
        import pydantic, so loading a config and its JSON Schema check need no models)."""
        module, name = self.model_ref.split(":")
        model: type[Resource] = getattr(importlib.import_module(f"wscfg.model.{module}"), name)
        return model

    @cached_property
    def read_only(self) -> frozenset[str]:
        from .base import read_only_fields

        return read_only_fields(self.model)

    def key_of(self, item: dict[str, object]) -> str:
        """The identity of an item (its natural key); singletons have the empty key."""
        if self.identity is None:
            return ""
        return str(item[self.identity])


KINDS: tuple[Kind, ...] = (
    Kind("workspace", "workspace:Workspace", "", None, 0, "workspace"),
    Kind("roles", "access:Role", "roles", "name", 10, "role"),
    Kind("call_tags", "calls:CallTag", "call-tags", "name", 20, "call tag"),
    Kind("members", "access:Member", "members", "email", 30, "member", depends_on=("roles",)),
    Kind(
        "call_rules",
        "calls:CallRules",
        "call-rules",
        None,
        40,
        "call rules",
        depends_on=("call_tags",),
    ),
    Kind(
        "webhooks",
        "webhooks:Webhook",
        "webhooks",
        "name",
        50,
        "webhook",
        write_only=frozenset({"secret"}),
        depends_on=("call_tags",),
    ),
    Kind(
        "blocked_callers",
        "calls:BlockedCaller",
        "blocked-callers",
        "number",
        60,
        "blocked caller",
        bulk=True,
    ),
    Kind(
        "notifications", "notifications:Notifications", "notifications", None, 70, "notifications"
    ),
    Kind("security", "security:Security", "security", None, 80, "security policy"),
    Kind(
        "usage_alerts",
        "alerts:UsageAlert",
        "usage-alerts",
        "threshold",
        90,
        "usage alert",
        depends_on=("roles", "members"),
    ),
    # Creating or re-issuing one returns its secret once (see wscfg.engine.apply); the kind
    # lists managed keys only: keys the platform issued itself are never touched.
    Kind("api_keys", "apikeys:ApiKey", "api-keys", "name", 95, "API key"),
)

# Kinds the platform shows but wscfg never writes: they are in the snapshot and in export (as a
# read-only section), never diffed or applied. The config says only what it requires of them.
OBSERVED: tuple[Kind, ...] = (
    Kind("integrations", "integrations:Integration", "integrations", "name", 100, "integration"),
)
SNAPSHOT_KINDS: tuple[Kind, ...] = KINDS + OBSERVED

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
BY_PATH: dict[str, Kind] = {k.path: k for k in KINDS if k.path}
COLLECTIONS: tuple[Kind, ...] = tuple(k for k in KINDS if not k.singleton)
SINGLETONS: tuple[Kind, ...] = tuple(k for k in KINDS if k.singleton)


def get(name: str) -> Kind:
    return BY_NAME[name]
