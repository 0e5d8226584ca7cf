"""The JSON Schema of a config file as written (schemas/workspace.schema.json).

Generated from :class:`wscfg.model.WorkspaceConfig`, then adjusted to describe the file a
person writes rather than the validated object:

- fields the platform sets (``readOnly``) are removed, so an editor flags them;
- ``null`` is not offered anywhere (an empty value is an error: absent means unmanaged);
- ``workspace.slug`` is optional (a template has none);
- a blocked caller may be a bare string; a collection item may be ``{<identity>, $remove: true}``;
- a secret must be written as ``${env:NAME}``;
- wherever ``${var.…}`` / ``${env:…}`` may stand (a text value with a format, pattern or fixed
  choices: an email, a date, a colour, a role), the text with the reference is accepted too
  (``anyOf: [{format: email}, {pattern: "\\$\\{(var\\.|env:)"}]``), so an editor does
  not flag ``frontdesk@${var.domain}``; the value is checked after resolution by
  ``wscfg validate`` against the strict document schema (:func:`check_schema`).

Draft 2020-12, with the models' titles, descriptions and examples, so that yaml-language-server
gives completion and hover help.
"""

from __future__ import annotations

import copy
import json
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SECRET_PATTERN = r"^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$"
REFERENCE_PATTERN = r"\$\{(var\.|env:)"  # text holding a ${var.…} / ${env:…} reference
TEMPLATED = {
    "type": "string",
    "pattern": REFERENCE_PATTERN,
    "description": "Text with a ${var.name} or ${env:NAME} reference, checked once resolved.",
}
_STRICT_STRING = ("format", "pattern", "enum", "const")
EXAMPLE = {
    "version": 1,
    "workspace": {"slug": "acme-north", "name": "Acme Dental North", "timezone": "America/Chicago"},
    "members": [{"email": "owner@acme.example", "role": "owner"}],
}


def workspace_schema() -> dict[str, Any]:
    """The Draft 2020-12 schema of a wscfg config file."""
    from ..model import WorkspaceConfig
    from ..model.base import read_only_fields
    from ..model.kinds import COLLECTIONS, KINDS

    schema = WorkspaceConfig.model_json_schema(mode="validation")
    defs: dict[str, Any] = schema["$defs"]

    # read-only fields: out of every model that has them
    for model in _models(WorkspaceConfig):
        ro = read_only_fields(model)
        d = defs.get(model.__name__)
        if not ro or d is None:
            continue
        for name in ro:
            d.get("properties", {}).pop(name, None)
        if "required" in d:
            d["required"] = [r for r in d["required"] if r not in ro]

    _drop_nulls(schema)
    _allow_references(schema)

    ws = defs["Workspace"]
    ws["required"] = [r for r in ws.get("required", []) if r != "slug"]
    if not ws["required"]:
        del ws["required"]
    ws["properties"]["slug"]["description"] += (
        " Required in a target; a template (used through extends) has none."
    )

    hook = defs["Webhook"]["properties"]["secret"]
    hook.pop("anyOf", None)  # a secret is a reference to the environment and nothing else
    hook.update(type="string", pattern=SECRET_PATTERN)

    props = schema["properties"]
    blocked = props["blocked_callers"]["items"]
    number = copy.deepcopy(defs["BlockedCaller"]["properties"]["number"])
    number.pop("title", None)
    props["blocked_callers"]["items"] = {"anyOf": [number, blocked]}

    kinds = {k.name: k for k in KINDS}
    for kind in COLLECTIONS:
        assert kind.identity is not None
        items = props[kind.name]["items"]
        ident = {"type": "string", "description": f"The {kind.label} to remove."}
        removal = {
            "type": "object",
            "title": f"Remove an inherited {kind.label}",
            "description": (
                f"In a file that extends another: drop the inherited {kind.label} with this "
                f"{kind.identity}."
            ),
            "properties": {
                kind.identity: ident,
                "$remove": {"const": True, "description": "Remove the inherited item."},
            },
            "required": [kind.identity, "$remove"],
            "additionalProperties": False,
        }
        branches = items.get("anyOf", [items])
        props[kind.name]["items"] = {"anyOf": [*branches, removal]}
        if kind.name in kinds and not props[kind.name].get("description"):
            props[kind.name]["description"] = f"The workspace's {kind.label}s."

    out: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": "workspace.schema.json",
        "title": "wscfg workspace configuration",
        "description": (
            "One workspace's settings (a target, with workspace.slug) or a template for them. "
            "An absent top-level key is not managed; a present collection is exact unless "
            "manage: says additive. Text may use ${var.name} and ${env:NAME}."
        ),
        "examples": [EXAMPLE],
    }
    for key, value in schema.items():
        if key not in ("title", "description"):
            out[key] = value
    return out


def _models(root: Any) -> list[Any]:
    """Every model class reachable from ``root``'s fields."""
    from typing import get_args

    from pydantic import BaseModel

    seen: list[Any] = []
    todo = [root]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.append(m)
        for f in m.model_fields.values():
            stack = [f.annotation]
            while stack:
                tp = stack.pop()
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    todo.append(tp)
                stack.extend(get_args(tp))
    return seen


def _allow_references(node: Any) -> None:
    """Every text value with a format, pattern or fixed choices also takes text holding a
    ``${var.…}`` / ``${env:…}`` reference (see the module docstring)."""
    if isinstance(node, list):
        for x in node:
            _allow_references(x)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _allow_references(value)
    if node.get("type") == "string" and any(k in node for k in _STRICT_STRING):
        strict = {"type": node.pop("type")}
        for key in _STRICT_STRING:
            if key in node:
                strict[key] = node.pop(key)
        node["anyOf"] = [strict, dict(TEMPLATED)]


def _drop_nulls(node: Any) -> None:
    """Remove ``{"type": "null"}`` branches and ``"default": null`` everywhere."""
    if isinstance(node, list):
        for x in node:
            _drop_nulls(x)
        return
    if not isinstance(node, dict):
        return
    for value in list(node.values()):
        _drop_nulls(value)
    if node.get("default", 0) is None:
        del node["default"]
    branches = node.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1:
            del node["anyOf"]
            for k, v in kept[0].items():
                node.setdefault(k, v)
        elif len(kept) != len(branches):
            node["anyOf"] = kept


def dump_json(document: dict[str, Any]) -> str:
    """How schemas/*.json are written: 2-space indent, UTF-8, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- the schema `wscfg validate` checks a resolved document against ---------------------------

CHECK_KEY = "x-wscfg-check"  # the checks (wscfg.model.values.CHECKS) to run on a value, in order
_ANNOTATIONS = ("title", "description", "examples", "default")


def check_schema() -> dict[str, Any]:
    """The JSON Schema of a *resolved* document (after extends, vars and env), as the models
    validate it, for :mod:`wscfg.config.schemacheck`: ``wscfg/config/document.schema.json``.

    Every validator function the models run is marked at its place with ``x-wscfg-check`` (the
    names in :data:`wscfg.model.values.CHECKS`, in the order pydantic runs them); a validator
    without a mark is an error here, so the schema cannot silently check less than the models.
    A ``date`` carries the ``date`` check too (pydantic reads fewer dates than JSON Schema's
    ``format: date``), and a type whose format pydantic reads differently (datetime, time,
    URL, ...) is an error until it has one. Also: a blocked caller may be its bare number (what
    ``BlockedCaller``'s before-validator accepts); ``x-wscfg-identities`` gives the checks that
    normalize each collection's identity (to find duplicates) and ``x-wscfg-read-only`` the
    fields the platform sets.
    """
    from ..model import WorkspaceConfig
    from ..model.kinds import COLLECTIONS, KINDS

    schema = WorkspaceConfig.model_json_schema(
        mode="validation", schema_generator=marking_generator()
    )
    defs: dict[str, Any] = schema["$defs"]
    _drop_annotations(schema)

    def item_def(kind_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        (array,) = [b for b in schema["properties"][kind_name]["anyOf"] if b.get("type") == "array"]
        ref: str = array["items"]["$ref"]
        return array, defs[ref.rsplit("/", 1)[-1]]

    identities: dict[str, list[str]] = {}
    for kind in COLLECTIONS:
        assert kind.identity is not None
        _, d = item_def(kind.name)
        identities[kind.name] = list(d["properties"][kind.identity].get(CHECK_KEY, []))
    schema["x-wscfg-identities"] = identities

    array, caller = item_def("blocked_callers")
    number = copy.deepcopy(caller["properties"]["number"])
    array["items"] = {"anyOf": [number, array["items"]]}
    schema["x-wscfg-read-only"] = {k.name: sorted(k.read_only) for k in KINDS if k.read_only}
    return {"$schema": DRAFT, **schema}


def marking_generator() -> Any:
    """A pydantic JSON Schema generator that puts each validator's mark where it runs."""
    from pydantic.json_schema import GenerateJsonSchema

    from ..model.values import CHECKS

    class Marking(GenerateJsonSchema):
        def _mark(self, core: Any, out: Any, *, before: bool) -> Any:
            fn = core["function"]["function"]
            mark = getattr(fn, "__wscfg_check__", None)
            if mark not in CHECKS:
                name = getattr(fn, "__qualname__", repr(fn))
                raise RuntimeError(
                    f"validator {name} has no check mark: decorate it with "
                    "wscfg.model.values.marked(NAME) and give NAME a check in CHECKS"
                )
            marks = out.setdefault(CHECK_KEY, [])
            marks.insert(0, mark) if before else marks.append(mark)
            return out

        def function_after_schema(self, schema: Any) -> Any:
            return self._mark(schema, super().function_after_schema(schema), before=False)

        def function_before_schema(self, schema: Any) -> Any:
            return self._mark(schema, super().function_before_schema(schema), before=True)

        def date_schema(self, schema: Any) -> Any:
            # JSON Schema's format: date takes year 0000; pydantic's date does not.
            out = super().date_schema(schema)
            out[CHECK_KEY] = ["date"]
            return out

        def _unchecked(self, schema: Any) -> Any:
            raise RuntimeError(
                f"a {schema['type']} field: pydantic reads it differently from JSON Schema's "
                "format; give it a check in CHECKS (as date_schema does) before using it"
            )

        datetime_schema = time_schema = timedelta_schema = _unchecked
        uuid_schema = decimal_schema = url_schema = multi_host_url_schema = _unchecked

        def function_wrap_schema(self, schema: Any) -> Any:
            raise RuntimeError("a wrap validator has no check on plain values")

        def function_plain_schema(self, schema: Any) -> Any:
            raise RuntimeError("a plain validator has no check on plain values")

    return Marking


def _drop_annotations(node: Any) -> None:
    """Titles, descriptions, examples and defaults: not checks, and most of the file."""
    if isinstance(node, list):
        for x in node:
            _drop_annotations(x)
    elif isinstance(node, dict):
        for key in _ANNOTATIONS:
            if key in node and not isinstance(node[key], dict):
                del node[key]
        for key, value in node.items():
            if key not in ("properties", "$defs"):
                _drop_annotations(value)
            else:
                for sub in value.values():
                    _drop_annotations(sub)
