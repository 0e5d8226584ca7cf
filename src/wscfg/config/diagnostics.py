"""Plain-language diagnostics: paths, "did you mean", and pydantic errors made readable.

A pydantic error says ``('members', 3, 'role') string_type Input should be a valid string``;
a user should read ``workspace.yaml:14:11: members[3].role: must be text, not a number`` and
see the line. This module maps pydantic locations onto the document (dropping union-branch and
discriminator labels that are not keys of the document), finds the allowed keys and values at
that place in the models, and words the message.
"""

from __future__ import annotations

import difflib
import types
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from .desired import DocPath

if TYPE_CHECKING:
    from pydantic import BaseModel

MAX_LISTED = 20  # list the valid values when there are at most this many


# --- paths and words ---------------------------------------------------------------------------


def format_path(path: DocPath) -> str:
    """``("members", 3, "role")`` -> ``members[3].role``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p.replace("_", "a").replace("-", "a").replace("$", "a").isalnum():
            out += f".{p}" if out else p
        else:
            out += f"[{p!r}]"
    return out


def describe(value: Any) -> str:
    """How a YAML value looks to its author: 'a list', 'the number 3', 'the text "abc"'."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# Words YAML 1.1 reads as booleans (PyYAML and many tools still do); wscfg reads YAML 1.2, where
# they are text, and a boolean setting takes exactly true or false (#21 item 8).
YAML11_BOOLS = {"yes": True, "y": True, "on": True, "no": False, "n": False, "off": False}


def bool_hint(value: Any, allowed: str = "true/false") -> str:
    """What to write instead of a value that is not a boolean where one must stand."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YAML11_BOOLS:
            meant = "true" if YAML11_BOOLS[word] else "false"
            return f" (YAML 1.1's word for {meant}; wscfg reads YAML 1.2): write {allowed}"
        if word in ("true", "false"):
            return f": write {allowed} without quotes"
    return f": write {allowed}"


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and word.lower() != word:
        close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def one_of(values: list[str] | tuple[str, ...], word: str | None = None) -> str:
    """ "; did you mean 'x'?" and/or "valid: a, b, c" (when short enough)."""
    hint = ""
    if word is not None:
        close = did_you_mean(word, values)
        if close:
            hint = f"; did you mean '{close}'?"
    if len(values) <= MAX_LISTED:
        return f"{hint} Valid: {', '.join(values)}" if hint else f"; valid: {', '.join(values)}"
    return hint


# --- the models, seen from a pydantic location -----------------------------------------------


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _tag_of(tp: Any) -> str | None:
    if get_origin(tp) is Annotated:
        for meta in get_args(tp)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                return tag
    return None


def _step(tp: Any, elem: str | int) -> Any:
    from pydantic import BaseModel

    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        f = tp.model_fields.get(str(elem))
        return f.annotation if f is not None else None
    origin = get_origin(tp)
    if origin is list:
        return get_args(tp)[0] if isinstance(elem, int) else None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if _tag_of(arg) == elem:
                return get_args(arg)[0]
        for arg in get_args(tp):
            inner = _unwrap(arg)
            if (
                isinstance(inner, type)
                and issubclass(inner, BaseModel)
                and elem in inner.model_fields
            ):
                return _step(inner, elem)
    return None


def type_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> Any:
    tp: Any = root
    for elem in loc:
        tp = _step(tp, elem)
        if tp is None:
            return None
    return _unwrap(tp)


@cache
def allowed_keys(model: type[BaseModel]) -> tuple[str, ...]:
    from ..model.base import read_only_fields

    ro = read_only_fields(model)
    return tuple(k for k in model.model_fields if k not in ro)


def literal_values(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    if get_origin(tp) is Literal:
        return [str(a) for a in get_args(tp)]
    return []


# --- pydantic errors ----------------------------------------------------------------------------

_NOUN = {
    "string_type": "text",
    "string_sub_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "literal_error": "",
}


def doc_path(loc: tuple[str | int, ...], data: Any) -> tuple[DocPath, tuple[str | int, ...]]:
    """Split a pydantic location into the path that exists in ``data`` and the rest.

    Elements that are not keys of the document (union branches like ``int`` or
    ``constrained-str``, discriminator tags) are skipped while walking.
    """
    path: list[str | int] = []
    cur = data
    for i, elem in enumerate(loc):
        if has(cur, elem):
            cur = cur[elem]
            path.append(elem)
        elif i == len(loc) - 1:
            return tuple(path), (elem,)
    return tuple(path), ()


def has(container: Any, elem: str | int) -> bool:
    if isinstance(container, dict):
        return isinstance(elem, str) and elem in container
    if isinstance(container, list):
        return isinstance(elem, int) and 0 <= elem < len(container)
    return False


def node_at(root: Any, path: DocPath) -> tuple[Any, bool]:
    """The :class:`~wscfg.config.load.Node` at ``path`` below ``root`` (or its deepest
    existing ancestor, and False)."""
    node = root
    for elem in path:
        v = node.value
        if has(v, elem):
            node = v[elem]
        else:
            return node, False
    return node, True


def translate(err: Any, data: Any, root: type[BaseModel]) -> tuple[DocPath, str, bool, bool] | None:
    """(path, message, at_key, is_type_error) for one pydantic error; None to drop it."""
    loc = tuple(err.get("loc", ()))
    typ = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    path, _ = doc_path(loc, data)
    if typ == "missing":
        field = str(loc[-1]) if loc else ""
        return path, f"missing required key '{field}'", False, False
    if typ == "extra_forbidden":
        key = str(loc[-1])
        parent_path = path[:-1] if path and path[-1] == key else path
        return (*parent_path, key), _unknown_key(key, loc, root), True, False
    if typ in ("union_tag_invalid", "union_tag_not_found", "rule_node"):
        return path, str(err.get("msg", "")), False, False
    if typ == "literal_error":
        choices = literal_values(type_at(root, loc))
        if not choices:
            choices = [
                c.strip().strip("'")
                for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")
            ]
        shown = f"'{value}'" if isinstance(value, str) else describe(value)
        return (
            path,
            f"{shown} is not one of the allowed values{one_of(choices, str(value))}",
            False,
            False,
        )
    if typ == "model_type" and ctx.get("class_name") == "BlockedCaller":
        what = describe(value)
        return (
            path,
            f'a blocked caller is a phone number in quotes (e.g. "+1 555 010 0100") or a '
            f"mapping with number and note, not {what}",
            False,
            False,
        )
    noun = _NOUN.get(typ)
    if noun:
        hint = bool_hint(value) if typ in ("bool_type", "bool_parsing") else ""
        return path, f"must be {noun}, not {describe(value)}{hint}", False, True
    if typ == "value_error":
        msg = str(ctx.get("error") or err.get("msg", ""))
        msg = msg.removeprefix("Value error, ")
        if msg.startswith("value is not a valid email address"):
            reason = msg.split(":", 1)[1].strip() if ":" in msg else ""
            msg = f"'{value}' is not a valid email address" + (f": {reason}" if reason else "")
        return path, msg, False, False
    if typ == "string_too_short":
        n = ctx.get("min_length", 1)
        return (
            path,
            "must not be empty" if n == 1 else f"must be at least {n} characters",
            False,
            False,
        )
    if typ == "string_too_long":
        n = ctx.get("max_length")
        got = f" (it has {len(value)})" if isinstance(value, str) else ""
        return path, f"must be at most {n} characters{got}", False, False
    if typ == "too_short":
        n = ctx.get("min_length", 1)
        return path, f"must have at least {n} item{'s' if n != 1 else ''}", False, False
    if typ == "too_long":
        n = ctx.get("max_length")
        return path, f"must have at most {n} items", False, False
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("more than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if typ in bounds:
        word, key = bounds[typ]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)  # "at most 86,400", not "86400.0"
        bound = f"{limit:,}" if isinstance(limit, int) else str(limit)
        return path, f"must be {word} {bound}, not {value}", False, False
    if typ == "assertion_error":
        return path, str(err.get("msg", "")).removeprefix("Assertion failed, "), False, False
    msg = str(err.get("msg", "is not valid"))
    return path, msg[0].lower() + msg[1:] if msg else msg, False, False


def _unknown_key(key: str, loc: tuple[str | int, ...], root: type[BaseModel]) -> str:
    if key == "$remove":
        return (
            "$remove: true is only allowed on an item of roles, members, call_tags, "
            "blocked_callers or webhooks in a file that extends another"
        )
    from pydantic import BaseModel

    from ..model.notifications import EMAIL_ONLY_MESSAGE, EmailOnly

    model = type_at(root, loc[:-1])
    keys: tuple[str, ...] = ()
    if model is EmailOnly and key == "in_app":
        return EMAIL_ONLY_MESSAGE.format(name=str(loc[-2]))
    if isinstance(model, type) and issubclass(model, BaseModel):
        keys = allowed_keys(model)
        if key in model.model_fields:  # a read-only field
            return f"{key} is set by the platform and cannot be configured"
    what = "top-level key" if len(loc) == 1 else "key"
    msg = f"unknown {what} '{key}'"
    if not keys:
        return msg
    close = did_you_mean(key, keys)
    if close:
        return f"{msg}; did you mean '{close}'?"
    if len(keys) <= MAX_LISTED:
        msg = f"{msg}; valid keys here: {', '.join(keys)}"
    if len(loc) == 1:
        msg += " (top-level keys starting with x- are ignored, e.g. to hold YAML anchors)"
    return msg


def combine_type_errors(messages: list[str]) -> str:
    """Errors of several union branches at one place -> one message."""
    nouns: list[str] = []
    got = ""
    for m in messages:
        head, _, tail = m.partition(", not ")
        noun = head.removeprefix("must be ")
        got = tail
        if noun not in nouns:
            nouns.append(noun)
    if "a number" in nouns and "a whole number" in nouns:
        nouns.remove("a whole number")
    joined = nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " or " + nouns[-1]
    return f"must be {joined}" + (f", not {got}" if got else "")
