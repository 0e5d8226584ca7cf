"""Wire shapes the sandbox documents in its OpenAPI: items with ETags, pages, patches, the
snapshot, batch, API keys and audit entries. Items themselves are the shared models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..model import KINDS, SNAPSHOT_KINDS, BlockedCaller, Kind
from ..model.access import Email
from ..model.apikeys import MAX_ROTATION, ApiScope, Expires, KeyMode
from ..model.base import NotNull, Resource, ShortText, Text500
from ..model.calls import PhoneNumber
from ..model.workspace import Workspace

STRICT = ConfigDict(extra="forbid")


def _list_of(model: Any) -> Any:
    """``list[model]`` for a model only known at run time."""
    return list.__class_getitem__(model)


def _item_model(kind: Kind) -> type[BaseModel]:
    return create_model(
        f"{kind.model.__name__}Item",
        __base__=kind.model,
        __doc__=f"A {kind.label} as stored, with its ETag.",
        etag=(str, Field(description="Strong ETag of this item (no quotes).")),
    )


def _patch_model(kind: Kind) -> type[BaseModel]:
    """Every writable field optional: a PATCH body. The merged result is validated with the
    kind's model, so field validators still apply."""
    fields: dict[str, Any] = {}
    for name, info in kind.model.model_fields.items():
        if name in kind.read_only:
            continue
        annotation: Any = info.annotation
        if annotation is None:
            annotation = Any
        elif info.is_required():
            annotation = annotation | None
        elif NotNull in info.metadata:  # a boolean or number setting: null stays refused
            annotation = Annotated[annotation, NotNull]
        fields[name] = (
            annotation,
            Field(None, description=info.description, json_schema_extra=info.json_schema_extra),
        )
    return create_model(
        f"{kind.model.__name__}Patch",
        __base__=Resource,
        __doc__=f"Fields of a {kind.label} to change; fields not sent stay as they are.",
        **fields,
    )


ITEM: dict[str, type[BaseModel]] = {k.name: _item_model(k) for k in SNAPSHOT_KINDS}
PATCH: dict[str, type[BaseModel]] = {k.name: _patch_model(k) for k in KINDS}


def _page_model(kind: Kind) -> type[BaseModel]:
    return create_model(
        f"{kind.model.__name__}Page",
        __config__=STRICT,
        __doc__=f"One page of {kind.label} items, sorted by {kind.identity}.",
        items=(_list_of(ITEM[kind.name]), ...),
        next_cursor=(str | None, Field(description="Pass as ?cursor= for the next page.")),
    )


PAGE: dict[str, type[BaseModel]] = {
    k.name: _page_model(k) for k in SNAPSHOT_KINDS if not k.singleton
}


class ApiKeyUse(BaseModel):
    """How the workspace's keys stand, for a plan: the limit and the calling key."""

    model_config = STRICT

    caller: str | None = Field(
        None, description="The name of the managed key making the request, if it is one."
    )
    unmanaged: int = Field(description="Active keys outside the api_keys kind.")
    limit: int = Field(description="Active keys a workspace may have.")


def _snapshot_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for kind in SNAPSHOT_KINDS:
        if kind.singleton:
            fields[kind.name] = (ITEM[kind.name], ...)
        else:
            fields[kind.name] = (_list_of(ITEM[kind.name]), ...)
    fields["api_key_use"] = (ApiKeyUse | None, None)
    fields["workspace_id"] = (
        str | None,
        Field(
            None,
            description="The workspace's stable identity (ws_ + 16 hex digits): unlike its "
            "slug, never given to another workspace. Saved plans are bound to it.",
        ),
    )
    return create_model(
        "Snapshot",
        __config__=STRICT,
        __doc__="Every kind of a workspace in one response; collections sorted by identity.",
        **fields,
    )


Snapshot = _snapshot_model()


class WorkspaceCreate(Workspace):
    """A new sub-account: the workspace profile plus its first (active) owner."""

    owner: Email | None = Field(
        None, description="Email of the first owner; default owner@<slug>.example."
    )


WorkspacePage = create_model(
    "WorkspacePage",
    __config__=STRICT,
    __doc__="The workspaces a key reaches, sorted by slug.",
    items=(_list_of(ITEM["workspace"]), ...),
    next_cursor=(str | None, None),
)


class Batch(Resource):
    """Add numbers (or update their notes) and remove numbers, up to 10,000 entries."""

    add: list[BlockedCaller] = Field(
        default_factory=list, description="Numbers to block; an existing number gets the note."
    )
    remove: list[PhoneNumber] = Field(default_factory=list, description="Numbers to unblock.")
    if_match: dict[PhoneNumber, str | None] = Field(
        default_factory=dict,
        description="Per number: the ETag it must still have, or null for 'must not exist'. "
        "A number whose precondition fails is left as it is and listed in `conflicts`.",
    )


class BatchResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    added: int
    updated: int
    unchanged: int
    removed: int
    conflicts: list[str] = Field(
        default_factory=list, description="Numbers left alone: their if_match did not hold."
    )


SCOPES: tuple[str, ...] = ("settings:read", "settings:write")


class ApiKeyCreate(Resource):
    """A new key. With a ``mode`` it is a managed key (the api_keys kind: ``name`` is its
    identity and required, as are ``scopes``); without one, an unmanaged key as the platform
    issues them (name optional, free text)."""

    name: ShortText | None = Field(None, description="What the key is for.")
    scopes: list[ApiScope] = Field(
        default_factory=lambda: list(SCOPES),
        min_length=1,
        description="resource:read or resource:write (settings:read and/or settings:write "
        "reach this API).",
        examples=[["settings:read"]],
    )
    mode: KeyMode | None = Field(None, description="live or test: makes the key a managed one.")
    description: Text500 | None = Field(None)
    expires: Expires | None = Field(
        None, description="The last day the key works (YYYY-MM-DD, after today in UTC)."
    )
    rotation: int | None = Field(None, strict=True, ge=0, le=MAX_ROTATION)


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = None
    prefix: str = Field(description="The first characters of the key, to recognize it.")
    scopes: list[str]
    created_at: str
    managed: bool | None = Field(None, description="true for a key of the api_keys kind.")
    mode: KeyMode | None = None
    description: str | None = None
    expires: str | None = None
    rotation: int | None = None


class ApiKeyCreated(ApiKey):
    secret: str | None = Field(
        None,
        description="The API key: in the first answer only (absent from an idempotent replay).",
    )
    etag: str | None = Field(None, description="The managed key's ETag.")


class KeyInfo(BaseModel):
    """The key making the request: what it may do and what it reaches (never its secret)."""

    model_config = STRICT

    id: str = Field(description="The key's id (key_…).")
    name: str | None = Field(None, description="The key's name, when it was given one.")
    scopes: list[str] = Field(description="The key's scopes (resource:read|write).")
    workspace: str | None = Field(None, description="The workspace of a workspace key.")
    agency: str | None = Field(None, description="The agency of an agency key.")


class ApiKeyPage(BaseModel):
    model_config = STRICT

    items: list[ApiKey]
    next_cursor: str | None = None


class AuditActor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["api_key", "user", "system"] = Field(
        description="api_key: a key by its name (its id when unnamed); user: a member by email; "
        "system: the platform itself (provisioning, administration)."
    )
    name: str
    key_id: str | None = Field(None, description="The API key the write came with.")


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: str = Field(description="When, RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ).")
    request_id: str | None = Field(
        None, description="The server's id of the request that wrote (its X-Request-Id)."
    )
    client_request_id: str | None = Field(
        None,
        description="The X-Request-Id the caller sent, if any (1-64 of A-Za-z0-9._:-).",
    )
    actor: AuditActor
    via: Literal["api", "ui"] = Field(description="api: an integration; ui: a person clicking.")
    client: str | None = Field(
        None, description="The User-Agent product token of the writer, e.g. wscfg/0.2.0."
    )
    action: str = Field(description="create, update, delete, resend, accept, revoke.")
    kind: str
    key: str = Field(description="The item's identity; empty for singletons.")
    fields: list[str] = Field(
        description="The changed field names, dotted to the leaves (system.email); a "
        "write-only field by its name only, never its value."
    )
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditPage(BaseModel):
    model_config = STRICT

    items: list[AuditEntry]
    next_cursor: str | None = None
