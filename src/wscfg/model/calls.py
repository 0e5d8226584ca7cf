"""Call handling: call tags, the qualified-call rule tree and blocked callers."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from .base import Flag, Name, NotNull, Resource, Score, Seconds, Text500
from .values import E164_RE as E164_RE
from .values import bounds, colour, e164, marked, phone_not_number

Colour = Annotated[str, AfterValidator(colour), Field(examples=["#1f8a70"])]


class CallTag(Resource):
    """A label applied to calls; call rules and webhook filters can name it."""

    name: Name = Field(description="Tag name.", examples=["new-patient"])
    color: Colour | None = Field(None, description="Hex colour, stored lower-case as #rrggbb.")
    description: Text500 | None = Field(None)


# --- the qualified-call rule tree ------------------------------------------------------------


class Range(Resource):
    """Bounds for a numeric condition; at least one of them."""

    at_least: Annotated[Seconds | None, NotNull] = Field(None, description="Seconds, 0 to 86,400.")
    at_most: Annotated[Seconds | None, NotNull] = Field(None, description="Seconds, 0 to 86,400.")

    @model_validator(mode="after")
    @marked("range")
    def _bounds(self) -> Range:
        bounds(self.at_least, self.at_most)
        for name in ("at_least", "at_most"):
            v = getattr(self, name)
            if isinstance(v, float) and v.is_integer():
                setattr(self, name, int(v))
        return self


class ScoreRange(Range):
    """AI score bounds, 0 to 100."""

    at_least: Annotated[Score | None, NotNull] = Field(None, description="Score, 0 to 100.")
    at_most: Annotated[Score | None, NotNull] = Field(None, description="Score, 0 to 100.")


class DurationCondition(Resource):
    """Call duration in seconds."""

    duration: Range


class ScoreCondition(Resource):
    """AI score of the call, 0-100."""

    ai_score: ScoreRange


class TagCondition(Resource):
    """The call carries this tag."""

    tag: Name


class NotTagCondition(Resource):
    """The call does not carry this tag."""

    not_tag: Name


def _canonical(children: list[Any]) -> list[Any]:
    return sorted(children, key=lambda c: json.dumps(c.model_dump(mode="json"), sort_keys=True))


class AllGroup(Resource):
    """Every child must hold."""

    all: list[RuleNode] = Field(min_length=1)

    @field_validator("all")
    @classmethod
    @marked("rule-order")
    def _order(cls, v: list[Any]) -> list[Any]:
        return _canonical(v)


class AnyGroup(Resource):
    """At least one child must hold."""

    any: list[RuleNode] = Field(min_length=1)

    @field_validator("any")
    @classmethod
    @marked("rule-order")
    def _order(cls, v: list[Any]) -> list[Any]:
        return _canonical(v)


NODE_KEYS = ("all", "any", "duration", "ai_score", "tag", "not_tag")


def _node_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in value if k in NODE_KEYS]
        return keys[0] if len(keys) == 1 else None
    if isinstance(value, Resource):
        return next(iter(type(value).model_fields))
    return None


RuleNode = Annotated[
    (
        Annotated[AllGroup, Tag("all")]
        | Annotated[AnyGroup, Tag("any")]
        | Annotated[DurationCondition, Tag("duration")]
        | Annotated[ScoreCondition, Tag("ai_score")]
        | Annotated[TagCondition, Tag("tag")]
        | Annotated[NotTagCondition, Tag("not_tag")]
    ),
    Discriminator(
        _node_tag,
        custom_error_type="rule_node",
        custom_error_message=(
            "a rule node is a mapping with exactly one of: all, any, duration, ai_score, "
            "tag, not_tag"
        ),
    ),
]

AllGroup.model_rebuild()
AnyGroup.model_rebuild()


def rule_tags(node: Any) -> list[str]:
    """Every tag name a rule tree (as a model or a plain dict) refers to."""
    if node is None:
        return []
    if isinstance(node, Resource):
        node = node.model_dump(mode="json")
    out: list[str] = []
    if "all" in node or "any" in node:
        for child in node.get("all") or node.get("any") or []:
            out.extend(rule_tags(child))
    for key in ("tag", "not_tag"):
        if key in node:
            out.append(node[key])
    return out


class CallRules(Resource):
    """Which calls count as qualified (a singleton)."""

    auto_unqualify: Flag = Field(
        None, description="Flag calls that do not meet the rules as unqualified."
    )
    rule: RuleNode | None = Field(
        None,
        description="A tree of all:/any: groups over duration, ai_score, tag and not_tag.",
        examples=[{"all": [{"duration": {"at_least": 60}}, {"not_tag": "spam"}]}],
    )


# --- blocked callers -------------------------------------------------------------------------


PhoneNumber = Annotated[
    str,
    BeforeValidator(phone_not_number),
    AfterValidator(e164),
    Field(examples=["+15550100199"], description="Phone number, normalized to E.164."),
]


class BlockedCaller(Resource):
    """A caller number whose calls are rejected."""

    number: PhoneNumber
    note: Text500 | None = Field(None, description="Why it is blocked.")

    @model_validator(mode="before")
    @classmethod
    @marked("bare-caller")
    def _bare(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"number": value}
        return value
