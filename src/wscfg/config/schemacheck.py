"""``wscfg validate``'s quick answer for a valid document, without pydantic.

Importing pydantic and building the models costs more than the rest of ``wscfg validate`` on
a small file (docs/performance.md has the numbers). Most files a person validates are valid,
and a valid file needs no words, only a verdict; so :func:`conforms` checks the resolved
document against ``document.schema.json`` (generated from the models by
:func:`wscfg.config.schema.check_schema`, kept current by ``wscfg schema --check``) with
jsonschema-rs, running at each marked place the same value checks the models run
(:mod:`wscfg.model.values`).

The answer is one-sided. ``True`` means the models accept the document and no two items of a
collection share an identity once normalized; anything else (``False``) means "ask the
models": the caller then validates with pydantic as before, which finds and words every
problem. So a wrong ``False`` only costs time, and everything here leans that way: strings are
checked as written and as pydantic strips them, and a document holding what JSON cannot say
the same way (a float such as ``60.0`` where an integer may be strict, a non-finite number, a
key that is not text, text with a lone surrogate) is left to the models.
tests/config/test_schemacheck.py checks that ``True`` is never wrong, on generated documents.
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from typing import Any

SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "document.schema.json")
_ASCII_SPACE = " \t\r\n"


@cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_FILE, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def document_keys() -> tuple[str, ...]:
    """The top-level keys a config may have."""
    return tuple(schema()["properties"])


def read_only() -> dict[str, frozenset[str]]:
    """kind -> the fields of its items that the platform sets."""
    return {k: frozenset(v) for k, v in schema()["x-wscfg-read-only"].items()}


class _Checks:
    """The ``x-wscfg-check`` keyword: run the named value checks in order, each on the value
    the one before returned (as pydantic chains validators)."""

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: Any) -> None:
        from ..model.values import CHECKS

        self.checks = [CHECKS[mark] for mark in value]

    def validate(self, instance: Any) -> None:
        for check in self.checks:
            instance = check(instance)


@cache
def _validator() -> Any:
    """The compiled schema, or None without jsonschema-rs (then the models decide)."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.Draft202012Validator(
        schema(), validate_formats=True, keywords={"x-wscfg-check": _Checks}
    )


class _Unsure(Exception):
    """The document holds something JSON and pydantic may read differently."""


def conforms(data: dict[str, Any]) -> bool:
    """True only when the models would accept ``data`` (a resolved document) and its
    collections hold no duplicate identities; False means "ask the models"."""
    try:
        stripped = _stripped(data)
    except _Unsure:
        return False
    validator = _validator()
    if validator is None:
        return False
    try:
        if not validator.is_valid(stripped):
            return False
        if stripped != data and not validator.is_valid(data):
            return False
        return _unique_identities(stripped)
    except Exception:  # a value the Rust side cannot take, a check failing on a wrong type
        return False


def _stripped(value: Any) -> Any:
    """``value`` with every string stripped of surrounding spaces as pydantic strips them."""
    if isinstance(value, str):
        if not value.isascii():
            _unicode(value)
        out = value.strip(_ASCII_SPACE)
        if out != out.strip():  # other whitespace at an end: Python and pydantic may differ
            raise _Unsure
        return out
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value.is_integer():
            raise _Unsure  # JSON's integer takes 60.0; a strict integer field does not
        return value
    if isinstance(value, list):
        return [_stripped(x) for x in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise _Unsure
            if not k.isascii():
                _unicode(k)
        return {k: _stripped(v) for k, v in value.items()}
    raise _Unsure  # not a JSON value


def _unicode(text: str) -> None:
    """Text Python holds but Unicode cannot: a lone surrogate (``os.environ`` decodes bytes that
    are not UTF-8 into them, and ``${env:X}`` brings them in). pydantic refuses such a string;
    jsonschema-rs reads it lossily."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unsure from None


def _unique_identities(data: dict[str, Any]) -> bool:
    from ..model.values import CHECKS

    for kind, marks in schema()["x-wscfg-identities"].items():
        items = data.get(kind)
        if not isinstance(items, list):
            continue
        ident = _IDENTITY[kind]
        seen: set[str] = set()
        for item in items:
            value = item if isinstance(item, str) else item[ident]
            for mark in marks:
                value = CHECKS[mark](value)
            key = str(value)
            if key in seen:
                return False
            seen.add(key)
    return True


def _identity() -> dict[str, str]:
    from ..model.kinds import COLLECTIONS

    return {k.name: k.identity for k in COLLECTIONS if k.identity}


_IDENTITY = _identity()
