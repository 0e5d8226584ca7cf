"""A live policy check builds only the top-level keys its policies can look at
(``CompiledPolicy.reads``, from :func:`wscfg.config.policy_schema.top_level_keys`), and finds
exactly the violations the whole export would give: same policies, paths, messages, live values,
in the same order (DESIGN §6 invariant 17, live side)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.config.policies import CompiledPolicy
from wscfg.config.policy_schema import compile_schema, top_level_keys
from wscfg.config.validate import check_paths
from wscfg.engine.state import LiveState
from wscfg.engine.violations import check_live
from wscfg.model.kinds import BY_NAME

from .strategies import workspace_doc


@pytest.mark.parametrize(
    ("schema", "reads"),
    [
        (True, frozenset()),
        ({}, frozenset()),
        ({"properties": {"security": {"const": 1}}}, {"security"}),
        ({"required": ["members"], "properties": {"webhooks": {}}}, {"members", "webhooks"}),
        ({"type": "object", "title": "t", "$defs": {"d": {}}, "required": ["a"]}, {"a"}),
        ({"type": ["object", "null"], "properties": {"b": False}}, {"b"}),
        ({"properties": {"a": {"$ref": "#"}}}, {"a"}),  # below a key: that key's value only
        # each of these looks at the document as a whole, or at keys it does not name
        (False, None),
        ({"type": "array"}, None),
        ({"additionalProperties": False}, None),
        ({"properties": {"a": {}}, "not": {"required": ["b"]}}, None),
        ({"anyOf": [{"required": ["a"]}]}, None),
        ({"$ref": "#/$defs/d", "$defs": {"d": {}}}, None),
        ({"minProperties": 3}, None),
        ({"propertyNames": {"pattern": "^a"}}, None),
        ({"patternProperties": {"^a": {}}}, None),
        ({"unevaluatedProperties": False}, None),
        ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, None),
        ({"x-unknown": 1}, None),
    ],
)
def test_the_keys_a_policy_reads(schema: Any, reads: set[str] | None) -> None:
    assert top_level_keys(schema) == reads


def test_a_loaded_policy_knows_the_keys_it_reads(tmp_path: Path) -> None:
    policies = [
        {"name": "twofa", "description": "d", "schema": {"properties": {"security": {}}}},
        {"name": "open", "description": "d", "schema": {"additionalProperties": True}},
    ]
    (tmp_path / "base.yaml").write_text(
        "version: 1\npolicies:\n" + "".join(f"  - {json.dumps(p)}\n" for p in policies)
    )
    (tmp_path / "t.yaml").write_text(
        "version: 1\nextends: base.yaml\nworkspace: {slug: clinic}\n"
        "members: [{email: o@clinic.example, role: owner}]\n"
    )
    report = check_paths([str(tmp_path / "t.yaml")], environ={})
    assert report.ok, report.diagnostics
    (target,) = report.targets
    assert [(p.name, p.reads) for p in target.policies] == [
        ("twofa", frozenset({"security"})),
        ("open", None),
    ]


# --- the cut-down document finds what the whole one finds ---------------------------------

KEYS = [
    "workspace",
    "roles",
    "members",
    "webhooks",
    "security",
    "blocked_callers",
    "call_tags",
    "call_rules",
    "usage_alerts",
    "api_keys",
    "invitations",
    "version",
    "nothing",
]
SUB = st.sampled_from(
    [
        True,
        False,
        {"maxItems": 1},
        {"minItems": 2},
        {"type": "object"},
        {"items": {"properties": {"email": {"pattern": "@acme\\.example$"}}}},
        {"items": {"anyOf": [{"type": "string"}, {"required": ["note"]}]}},
        {"items": {"properties": {"url": {"pattern": "^https://hooks\\.example\\.com/z"}}}},
        {"properties": {"require_2fa": {"const": True}}},
        {"required": ["name"]},
        {"contains": {"properties": {"role": {"const": "owner"}}}},
        {"$ref": "#/$defs/few"},
        {"$ref": "#"},
    ]
)


@st.composite
def policy_schema(draw: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"$defs": {"few": {"maxItems": 2}}}
    if draw(st.booleans()):
        schema["properties"] = draw(st.dictionaries(st.sampled_from(KEYS), SUB, max_size=4))
    if draw(st.booleans()):
        schema["required"] = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3))
    # top-level keywords besides properties and required: some read only the keys those
    # name, the others the whole document
    extra = st.sampled_from(
        [
            {"type": "object"},
            {"title": "x"},
            {"type": "array"},
            {"additionalProperties": {"type": "array"}},
            {"not": {"required": ["roles"]}},
            {"not": {"required": ["members"]}},
            {"maxProperties": 4},
            {"propertyNames": {"pattern": "^[a-v]"}},
        ]
    )
    for more in draw(st.lists(extra, max_size=2)):
        schema.update(more)
    return schema


def compiled(name: str, schema: Any) -> CompiledPolicy:
    validator, problem = compile_schema(schema)
    assert problem is None, problem
    return CompiledPolicy(name, "d", "error", "base.yaml", 1, 1, validator, top_level_keys(schema))


@st.composite
def live_state(draw: Any) -> LiveState:
    """A live workspace as the snapshot gives it: every kind of a random config, with the
    read-only fields the platform adds (member status, a webhook's secret fingerprint)."""
    doc = draw(workspace_doc("clinic"))
    live = LiveState("clinic")
    for kind, value in doc.items():
        if kind not in BY_NAME:
            continue
        k = BY_NAME[kind]
        if k.singleton:
            live.items[kind] = {"": dict(value)}
            continue
        items: dict[str, dict[str, Any]] = {}
        for raw in value:
            body = dict(raw) if isinstance(raw, dict) else {"number": raw}
            if kind == "members":
                status = st.sampled_from(["active", "invited", "expired"])
                body |= {"status": draw(status), "two_factor": draw(st.booleans())}
            if kind == "webhooks" and body.pop("secret", None):
                body["secret_fingerprint"] = "sha256:abc"
            assert k.identity is not None
            items[str(body[k.identity])] = body
        live.items[kind] = items
    return live


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live=live_state(), schemas=st.lists(policy_schema(), min_size=1, max_size=3))
def test_a_live_check_finds_what_the_whole_document_gives(
    live: LiveState, schemas: list[dict[str, Any]]
) -> None:
    policies = [compiled(f"p{i}", s) for i, s in enumerate(schemas)]
    whole = [dataclasses.replace(p, reads=None) for p in policies]
    assert check_live("clinic", policies, live) == check_live("clinic", whole, live)
