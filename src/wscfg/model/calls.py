"""Call handling: call tags, the qualified-call rule tree and blocked callers."""

from __future__ import annotations

import json
import re
from functools import lru_cache
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

from .base import Name, Resource, Score, Seconds

HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _colour(value: str) -> str:
    if not HEX_RE.match(value):
        raise ValueError("must be a hex colour like '#1f8a70' or '#f80'")
    value = value.lower()
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


Colour = Annotated[str, AfterValidator(_colour), Field(examples=["#1f8a70"])]


class CallTag(Resource):
    """A label applied to calls; call rules and webhook filters can name it."""

    name: Name = Field(description="Tag name.", examples=["new-patient"])
    color: Colour | None = Field(None, description="Hex colour, stored lower-case as #rrggbb.")
    description: str | None = Field(None, max_length=500)


# --- the qualified-call rule tree ------------------------------------------------------------


class Range(Resource):
    """Bounds for a numeric condition; at least one of them."""

    at_least: Seconds | None = Field(None, description="Seconds, 0 to 86,400.")
    at_most: Seconds | None = Field(None, description="Seconds, 0 to 86,400.")

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError("at_least must not be greater than at_most")
        for name in ("at_least", "at_most"):
            v = getattr(self, name)
            if isinstance(v, float) and v.is_integer():
                setattr(self, name, int(v))
        return self


class ScoreRange(Range):
    """AI score bounds, 0 to 100."""

    at_least: Score | None = Field(None, description="Score, 0 to 100.")
    at_most: Score | None = Field(None, description="Score, 0 to 100.")


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
    def _order(cls, v: list[Any]) -> list[Any]:
        return _canonical(v)


class AnyGroup(Resource):
    """At least one child must hold."""

    any: list[RuleNode] = Field(min_length=1)

    @field_validator("any")
    @classmethod
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

    auto_unqualify: bool | None = Field(
        None, description="Flag calls that do not meet the rules as unqualified."
    )
    rule: RuleNode | None = Field(
        None,
        description="A tree of all:/any: groups over duration, ai_score, tag and not_tag.",
        examples=[{"all": [{"duration": {"at_least": 60}}, {"not_tag": "spam"}]}],
    )


# --- blocked callers -------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _prefix_patterns(cc: int) -> tuple[re.Pattern[str], ...] | None:
    """National-prefix patterns the parser may strip for a country code; None if unknown."""
    import phonenumbers

    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not regions:
        return None
    found = set()
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(cc, region)
        if meta is None:
            return None
        if meta.national_prefix_for_parsing:
            found.add(meta.national_prefix_for_parsing)
    patterns = sorted(found)
    if patterns and not any(re.search(r"\\[1-9]", p) for p in patterns):
        # One alternation matches where any of them does: one call per number, not one per
        # region (the +1 plan alone has over a dozen).
        return (re.compile("|".join(f"(?:{p})" for p in patterns)),)
    return tuple(re.compile(p) for p in patterns)


def _e164_fast(value: str) -> str | None:
    """Numbers already written as E.164 skip the full parser (100,000 of them in a config is
    common): split off the country code with the library's own table, make sure no national
    prefix rule of that country applies, then ask the library whether a number of that length
    is possible there. ``None`` means "use the full parser"."""
    if not E164_RE.match(value):
        return None

    digits = value[1:]
    for n in (1, 2, 3):
        cc = int(digits[:n])
        patterns = _prefix_patterns(cc)
        if patterns is None:
            continue
        national = digits[n:]
        if any(p.match(national) for p in patterns) or national.startswith("0"):
            return None
        return value if _possible_length(cc, len(national)) else None
    return None


@lru_cache(maxsize=4096)
def _possible_length(cc: int, length: int) -> bool:
    # The library decides "possible" from the country's possible lengths only, so one
    # representative number per (country code, length) answers for all of them.
    import phonenumbers

    number = phonenumbers.PhoneNumber(country_code=cc, national_number=int("1" * length))
    return bool(phonenumbers.is_possible_number(number))


def e164(value: str) -> str:
    """Normalize a phone number written in international format to E.164."""
    fast = _e164_fast(value)
    if fast is not None:
        return fast
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"'{value}' is not a phone number in international format (e.g. '+1 555 010 0100')"
        ) from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"'{value}' is not a possible phone number (wrong length for its country)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _phone(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write phone numbers as quoted strings starting with '+'")
    return value


PhoneNumber = Annotated[
    str,
    BeforeValidator(_phone),
    AfterValidator(e164),
    Field(examples=["+15550100199"], description="Phone number, normalized to E.164."),
]


class BlockedCaller(Resource):
    """A caller number whose calls are rejected."""

    number: PhoneNumber
    note: str | None = Field(None, max_length=500, description="Why it is blocked.")

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"number": value}
        return value
