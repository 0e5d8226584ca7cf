"""Bounds on everything a request may send, checked before the body reaches pydantic.

The request-context middleware reads a write's body (after authenticating it, counting bytes
as they stream in) and hands it to :func:`inspect_body`, which refuses, in this order and
without building the document first:

1. too many JSON values (commas and brackets outside strings, counted at C speed): so a
   batch of a million entries costs a scan of its bytes, not a parse;
2. nesting deeper than ``max_depth``;

then parses it with hooks that refuse non-finite numbers (``NaN``, ``Infinity``, ``1e400``)
and integers beyond ±(2**53 − 1), and walks the document for string lengths, array lengths
and object sizes, plus per-route shapes (a call rule tree's nodes and depth). Every refusal is
a 422 problem naming where (``["body", "rule", "all", 3]``).

:class:`Limits` also holds the number of items a workspace may hold per kind and the number
of sub-accounts an agency may hold, checked by :func:`check_room` when a write adds items.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.requests import Request

from .db import items, workspaces
from .problems import ProblemError, invalid

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON client reads exactly

DEFAULT_ITEMS: Mapping[str, int] = MappingProxyType(
    {
        "roles": 200,
        "call_tags": 1_000,
        "members": 10_000,
        "webhooks": 100,
        "blocked_callers": 200_000,
        "usage_alerts": 100,
    }
)


@dataclass(frozen=True)
class Limits:
    """The bounds of one sandbox server. Documented in docs/api.md ("Limits")."""

    max_values: int = 50_000  # JSON values (scalars and containers) in one body
    max_depth: int = 32  # nesting of arrays and objects in one body
    max_string: int = 4_096  # characters in any string value
    max_key: int = 256  # characters in any object key
    max_array: int = 10_000  # entries in any array (a batch's add or remove)
    max_members: int = 10_000  # members of any object (a batch's if_match)
    rule_nodes: int = 200  # nodes of a call rule tree (groups and conditions)
    rule_depth: int = 10  # nesting of all:/any: groups in a call rule tree
    items: Mapping[str, int] = field(default_factory=lambda: DEFAULT_ITEMS)
    agency_workspaces: int = 10_000  # sub-accounts of one agency

    def max_items(self, kind: str) -> int | None:
        return self.items.get(kind)


DEFAULT_LIMITS = Limits()

# A JSON string (escapes included, unrolled so a long string is one linear scan) or one
# structural character: the tokens that count values and nesting without parsing.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[,\[\]{}]', re.DOTALL)
_QUOTE, _OPEN, _CLOSE = ord('"'), frozenset(b"[{"), frozenset(b"]}")
_TOKENS_PER_VALUE = 6  # a value costs at most: its key, itself, a comma, two brackets
_BYTES_PER_CHAR = 12  # the longest spelling of one character in a JSON string: \uD83D\uDE00


class _Refused(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def inspect_body(body: bytes | bytearray, path: str, limits: Limits) -> None:
    """Refuse (``ProblemError`` 422) a body that breaks a bound; do nothing otherwise.

    A body that is not JSON at all is left to the route, which answers its usual 422."""
    if not body.strip():
        return
    _count(body, limits)
    try:
        doc = json.loads(
            body,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_safe_int,
            object_pairs_hook=_unique_keys,
        )
    except _Refused as exc:
        raise invalid(["body"], exc.msg) from None
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parser answers 422
    _walk(doc, ["body"], limits)
    for suffix, check in SHAPES.items():
        if path.endswith(suffix):
            check(doc, limits)


def _count(body: bytes | bytearray, limits: Limits) -> None:
    """Values and nesting of a JSON text, by a scan that stops at the first bound passed."""
    too_many = invalid(
        ["body"],
        f"the body holds more than {limits.max_values} JSON values; send at most "
        f"{limits.max_array} entries per list",
    )
    values, depth, tokens = 1, 0, 0
    budget = _TOKENS_PER_VALUE * limits.max_values
    longest = _BYTES_PER_CHAR * max(limits.max_string, limits.max_key) + 2  # escapes, quotes
    for match in _TOKEN.finditer(body):
        tokens += 1
        if tokens > budget:
            raise too_many
        start = match.start()
        char = body[start]
        if char == _QUOTE:
            if match.end() - start > longest:
                raise invalid(
                    ["body"], f"a string in the body is longer than {limits.max_string} characters"
                )
            continue
        if char in _CLOSE:
            depth -= 1
            continue
        values += 1
        if values > limits.max_values:
            raise too_many
        if char in _OPEN:
            depth += 1
            if depth > limits.max_depth:
                raise invalid(["body"], f"the body nests deeper than {limits.max_depth} levels")


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text[:32]} is out of range; send a finite number")
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise _Refused(f"{text[:32]} is too small to be told from 0; send 0 or a larger number")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different (a repeated key is refused: JSON parsers
    disagree on which one wins, so the body would mean different things to different readers)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"the key {json.dumps(key[:64])} appears twice in one object")
        out[key] = value
    return out


def _safe_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > 16 or abs(int(text)) > MAX_SAFE_INTEGER:
        raise _Refused(f"integers must lie within ±{MAX_SAFE_INTEGER}")
    return int(text)


def _walk(node: Any, loc: list[str | int], limits: Limits) -> None:
    if isinstance(node, str):
        if len(node) > limits.max_string:
            raise invalid(loc, f"at most {limits.max_string} characters; got {len(node)}")
    elif isinstance(node, list):
        if len(node) > limits.max_array:
            raise invalid(loc, f"at most {limits.max_array} entries; got {len(node)}")
        for i, child in enumerate(node):
            if not isinstance(child, int | float | bool) and child is not None:
                _walk(child, [*loc, i], limits)
    elif isinstance(node, dict):
        if len(node) > limits.max_members:
            raise invalid(loc, f"at most {limits.max_members} members; got {len(node)}")
        for key, child in node.items():
            if len(key) > limits.max_key:
                raise invalid(loc, f"keys have at most {limits.max_key} characters")
            if not isinstance(child, int | float | bool) and child is not None:
                _walk(child, [*loc, key], limits)


def _rule_shape(doc: Any, limits: Limits) -> None:
    """A call rule tree: at most ``rule_nodes`` nodes and ``rule_depth`` nested groups."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rule"), dict):
        return
    count = 0
    stack: list[tuple[Any, int, list[str | int]]] = [(doc["rule"], 1, ["body", "rule"])]
    while stack:
        node, depth, loc = stack.pop()
        count += 1
        if count > limits.rule_nodes:
            raise invalid(["body", "rule"], f"a rule tree has at most {limits.rule_nodes} nodes")
        if depth > limits.rule_depth:
            raise invalid(loc, f"a rule tree nests at most {limits.rule_depth} groups deep")
        if not isinstance(node, dict):
            continue
        for group in ("all", "any"):
            children = node.get(group)
            if isinstance(children, list):
                stack.extend(
                    (child, depth + 1, [*loc, group, i]) for i, child in enumerate(children)
                )


# Path suffix -> a check of the parsed body that the generic bounds do not cover.
SHAPES: Mapping[str, Callable[[Any, Limits], None]] = MappingProxyType({"/call-rules": _rule_shape})


def check_room(conn: Connection, ws_id: int, kind: str, adding: int, limits: Limits) -> None:
    """409 when ``adding`` more items of ``kind`` would pass the workspace's limit."""
    cap = limits.max_items(kind)
    if cap is None or adding <= 0:
        return
    held = conn.execute(
        select(func.count())
        .select_from(items)
        .where(items.c.workspace_id == ws_id, items.c.kind == kind)
    ).scalar_one()
    if held + adding > cap:
        raise ProblemError(
            409,
            f"a workspace holds at most {cap} {kind.replace('_', ' ')}; it holds {held} and "
            f"this request adds {adding}",
        )


def check_agency_room(conn: Connection, agency_id: int, limits: Limits) -> None:
    held = conn.execute(
        select(func.count()).select_from(workspaces).where(workspaces.c.agency_id == agency_id)
    ).scalar_one()
    if held >= limits.agency_workspaces:
        raise ProblemError(409, f"an agency holds at most {limits.agency_workspaces} sub-accounts")


async def known_query_only(request: Request) -> None:
    """422 for a query parameter the route does not declare (a typo must not be ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ProblemError(
            422,
            "the request is invalid",
            errors=[
                {"loc": ["query", name[:64]], "msg": "unknown query parameter"}
                for name in unknown[:20]
            ],
        )


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
