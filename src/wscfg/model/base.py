"""The base model every resource shares, and small reusable field types."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StrictBool

from .values import NAME_RE as NAME_RE  # the API client and the sandbox use both
from .values import SLUG_RE as SLUG_RE
from .values import name as _name
from .values import not_null as _not_null
from .values import prose as _prose
from .values import single_line as _single_line
from .values import slug as _slug


class Resource(BaseModel):
    """Base of every settings model: unknown keys are errors, strings are stripped.

    Fields marked ``readOnly`` in their JSON schema extra are set by the platform (status,
    fingerprints) and may not be written in a config file; see :func:`read_only_fields`.
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        validate_default=False,
        populate_by_name=True,
        defer_build=True,
    )


def read_only_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names of the fields the platform sets and a config file may not."""
    out = set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("readOnly"):
            out.add(name)
    return frozenset(out)


def read_only(**kwargs: Any) -> Any:
    """A field the platform sets (shown in live state, refused in config files)."""
    extra = dict(kwargs.pop("json_schema_extra", {}) or {})
    extra["readOnly"] = True
    return Field(default=None, json_schema_extra=extra, **kwargs)


MAX_SECONDS = 86_400  # one day: the longest call duration or filter a rule may name
MAX_SCORE = 100


# Numbers in settings: strict (true or "60" is not a number), finite, and bounded. JSON Schema
# and the OpenAPI document carry the bounds; docs/config.md lists them.
def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _bounded(top: int) -> Any:
    """A number from 0 to ``top``: whole or not, never a boolean, text or non-finite value
    (strict float takes whole numbers too; they are written back as whole numbers)."""
    return Annotated[
        float,
        Field(strict=True, allow_inf_nan=False, ge=0, le=top),
        PlainSerializer(_whole, return_type=int | float),
    ]


Seconds = _bounded(MAX_SECONDS)
Score = _bounded(MAX_SCORE)


# An optional boolean or number setting: absent (or not sent) leaves it alone, but an explicit
# ``null`` is refused: such a setting has no empty value (#21 item 8). Written
# ``Annotated[T | None, NotNull] = Field(None, …)``: pydantic validates a value that was given,
# never the default.
NotNull = AfterValidator(_not_null)

# A boolean setting: exactly true or false (never yes/on/1/"true"), and never null.
Flag = Annotated[StrictBool | None, NotNull]


Slug = Annotated[str, AfterValidator(_slug), Field(examples=["acme-north"])]
Name = Annotated[str, AfterValidator(_name)]
# Free text: one line (names, descriptions, notes) or several (a business's audience). Both refuse
# control characters, line/paragraph separators and bidi controls (wscfg.escape.UNSAFE).
# The length bound goes before the check (pydantic then keeps it a plain string constraint).
Text = Annotated[str, AfterValidator(_single_line)]
ShortText = Annotated[str, Field(max_length=100), AfterValidator(_single_line)]
Text200 = Annotated[str, Field(max_length=200), AfterValidator(_single_line)]
Text500 = Annotated[str, Field(max_length=500), AfterValidator(_single_line)]
Prose2000 = Annotated[str, Field(max_length=2000), AfterValidator(_prose)]


def submodels(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Fields holding one nested model (e.g. ``business_profile``): those are managed field by
    field. Every other value (lists, rule trees, scalars) is compared and replaced whole."""
    from typing import get_args

    out: dict[str, type[BaseModel]] = {}
    for name, info in model.model_fields.items():
        args = get_args(info.annotation) or (info.annotation,)
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        others = [a for a in args if a is not type(None) and a not in models]
        if len(models) == 1 and not others:
            out[name] = models[0]
    return out
