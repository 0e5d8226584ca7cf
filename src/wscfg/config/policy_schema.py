"""The JSON Schema side of policies: refuse what must never run, compile, word violations.

- :func:`shape_problems` refuses references that leave the schema (``http:``, ``file:``, a
  relative file name: nothing is ever fetched or read), ``$id``, another ``$schema``,
  reference cycles and schemas whose local references expand past
  :data:`MAX_EXPANDED_NODES` nodes (which bounds the work of one check);
- :func:`meta_problems` checks a schema jsonschema-rs refused against the 2020-12 meta-schema
  with the Python ``jsonschema`` library, which lists every problem with its path
  (jsonschema-rs reports only the first; a valid schema never imports the Python library);
- :func:`compile_schema` compiles it with jsonschema-rs: a linear-time regular expression
  engine (no lookaround, no backreferences, a size limit), format assertion on, and a
  retriever that refuses every URI (a second line of defence behind :func:`shape_problems`);
- :func:`describe` words one jsonschema-rs error from the keyword and the policy's own values,
  never from the checked value (it may come from a secret or the environment).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from .desired import DocPath

DRAFT = "https://json-schema.org/draft/2020-12/schema"
MAX_EXPANDED_NODES = 20_000  # schema nodes of one policy, its local references expanded
REGEX_SIZE_LIMIT = 1 << 20  # bytes of one compiled pattern (linear-time engine)
# Keywords whose values are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
_REF_KEYWORDS = ("$ref", "$dynamicRef")


def shape_problems(schema: Any, at: DocPath) -> Iterator[tuple[DocPath, str]]:
    """References that leave the schema, ``$id``, another ``$schema``, reference cycles and
    schemas too big once their references are expanded."""
    refs: list[tuple[DocPath, str]] = []
    bad = False
    for p, key, value in _keywords(schema, at):
        if key == "$schema" and value != DRAFT:
            bad = True
            yield (*p, key), f"policies use JSON Schema 2020-12; `$schema` may only be {DRAFT}"
        elif key == "$id":
            bad = True
            yield (
                (*p, key),
                "`$id` is not allowed in a policy (it would change where references point)",
            )
        elif key in _REF_KEYWORDS:
            if not isinstance(value, str) or not value.startswith("#"):
                bad = True
                yield (
                    (*p, key),
                    "a policy may only refer inside its own schema (`#/$defs/NAME`); wscfg never "
                    "fetches a schema from a URL or reads one from a file",
                )
            else:
                refs.append(((*p, key), value))
    if bad:
        return
    size = _Expanded(schema)
    for p, ref in refs:
        if size.pointer(ref) is _MISSING:
            yield p, f"`{ref}` points at nothing in this schema"
            return
    try:
        total = size.weight(schema)
    except _Cycle as c:
        yield (
            (*at, *c.at),
            "the references of this schema form a cycle; a policy cannot refer to itself",
        )
        return
    if total > MAX_EXPANDED_NODES:
        yield (
            (),
            f"too large: {MAX_EXPANDED_NODES:,} nodes at most, counting each reference as the "
            "schema it points at",
        )


def _keywords(schema: Any, at: DocPath) -> Iterator[tuple[DocPath, str, Any]]:
    """(path of the mapping, keyword, value) of every keyword of every subschema."""
    stack: list[tuple[Any, DocPath]] = [(schema, at)]
    while stack:
        node, p = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                yield p, k, v
                if k not in _DATA_KEYWORDS:
                    stack.append((v, (*p, k)))
        elif isinstance(node, list):
            stack.extend((v, (*p, i)) for i, v in enumerate(node))


_MISSING = object()


class _Cycle(Exception):
    def __init__(self, at: DocPath) -> None:
        self.at = at


class _Expanded:
    """The size of a schema with every local reference replaced by what it points at."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.memo: dict[int, int] = {}
        self.active: set[int] = set()
        self.anchors: dict[str, Any] = {}
        self.paths: dict[int, DocPath] = {}  # where each mapping and list is in the schema
        self._collect_anchors(root)

    def _collect_anchors(self, node: Any) -> None:
        stack: list[tuple[Any, DocPath]] = [(node, ())]
        while stack:
            n, at = stack.pop()
            if isinstance(n, (dict, list)):
                self.paths.setdefault(id(n), at)
            if isinstance(n, dict):
                for key in ("$anchor", "$dynamicAnchor"):
                    if isinstance(n.get(key), str):
                        self.anchors[n[key]] = n
                stack.extend((v, (*at, k)) for k, v in n.items() if k not in _DATA_KEYWORDS)
            elif isinstance(n, list):
                stack.extend((v, (*at, i)) for i, v in enumerate(n))

    def pointer(self, ref: str) -> Any:
        frag = ref[1:]
        if frag and not frag.startswith("/"):
            return self.anchors.get(frag, _MISSING)
        node = self.root
        for raw in frag.split("/")[1:]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return _MISSING
        return node

    def weight(self, node: Any, at: DocPath = ()) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            raise _Cycle(at)
        self.active.add(key)
        total = 1
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            if isinstance(node, dict) and k in _DATA_KEYWORDS:
                total += 1
            elif isinstance(node, dict) and k in _REF_KEYWORDS and isinstance(v, str):
                target = self.pointer(v)
                if id(target) in self.active:  # this reference closes the cycle: name it
                    raise _Cycle((*self.paths.get(id(node), at), k))
                total += self.weight(target, (*at, k))
            elif isinstance(node, dict) and k == "$defs":
                total += 1  # counted where they are used
            else:
                total += self.weight(v, (*at, k))
            if total > MAX_EXPANDED_NODES:
                break
        self.active.discard(key)
        self.memo[key] = total
        return total


def meta_problems(schema: Any) -> list[tuple[DocPath, str]]:
    """Every way ``schema`` breaks the 2020-12 meta-schema (Python jsonschema lists them all)."""
    from jsonschema import Draft202012Validator

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    out: list[tuple[DocPath, str]] = []
    for err in first(meta.iter_errors(schema), 20):
        out.append((tuple(err.absolute_path), _meta_message(err)))
    return sorted(out, key=lambda x: [str(e) for e in x[0]])


def _meta_message(err: Any) -> str:
    keyword = err.validator
    if keyword == "anyOf" and err.absolute_path and err.absolute_path[-1] == "type":
        return (
            "must be a JSON type (array, boolean, integer, null, number, object or string) "
            "or a list of them"
        )
    if keyword == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"must be {want} here"
    if keyword in ("minimum", "exclusiveMinimum"):
        return "must be a number of at least 0 here"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "minItems":
        return "must not be empty"
    return f"not a valid JSON Schema 2020-12 value ({keyword})"


def _refuse(uri: str) -> Any:
    raise ValueError("wscfg policies never fetch or read external schemas")


def compile_schema(schema: Any) -> tuple[Any, tuple[DocPath, str] | None]:
    import jsonschema_rs

    try:
        validator = jsonschema_rs.Draft202012Validator(
            schema,
            validate_formats=True,
            retriever=_refuse,
            pattern_options=jsonschema_rs.RegexOptions(
                size_limit=REGEX_SIZE_LIMIT, dfa_size_limit=REGEX_SIZE_LIMIT
            ),
        )
    except jsonschema_rs.ValidationError as exc:
        at = tuple(exc.instance_path)
        if at and (at[-1] == "pattern" or "patternProperties" in at):
            return None, (at, _pattern_problem(schema, at))
        return None, (at, "not a schema wscfg can compile")
    except Exception:
        return None, ((), "not a schema wscfg can compile")
    return validator, None


def _pattern_problem(schema: Any, at: DocPath) -> str:
    """Why jsonschema-rs refused the pattern at ``at``: not a regular expression at all (as
    far as Python's engine can tell), or one the linear-time engine cannot run."""
    import re

    node: Any = schema
    for part in at:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    pattern = node if at[-1] == "pattern" else at[-1]
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError):
            return "this pattern is not a valid regular expression"
    return (
        "this pattern cannot be used: policies run regular expressions in linear time "
        "(no lookaround, no backreferences, at most 1 MB compiled)"
    )


# --- describing a violation ------------------------------------------------------------------


def first(it: Any, n: int) -> Iterator[Any]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def describe(err: Any) -> tuple[DocPath, DocPath, str]:
    """(path named, path located, what is wrong), from the keyword and the policy's own
    values only: the document's value is never quoted (it may come from a secret)."""
    at: DocPath = tuple(err.instance_path)
    kind = err.kind
    name = kind.name
    d = kind.as_dict()
    if name == "required":
        return (*at, str(d.get("property"))), at, "is missing (the policy requires it)"
    if name == "const":
        return at, at, f"must be {_value(d.get('expected_value'))}"
    if name == "enum":
        options = d.get("options") or []
        return at, at, "must be one of " + ", ".join(_value(o) for o in options)
    if name == "pattern":
        return at, at, f"must match the pattern `{d.get('pattern')}`"
    if name == "type":
        types = d.get("types") or []
        return at, at, "must be " + " or ".join(str(t) for t in types)
    if name == "falseSchema":
        return at, at, "is not allowed"
    if name == "format":
        return at, at, f"must be a valid {d.get('format')}"
    limits = {
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be more than {}",
        "exclusiveMaximum": "must be less than {}",
        "minItems": "must have at least {} item(s)",
        "maxItems": "must have at most {} item(s)",
        "minLength": "must be at least {} character(s) long",
        "maxLength": "must be at most {} character(s) long",
        "minProperties": "must have at least {} key(s)",
        "maxProperties": "must have at most {} key(s)",
        "multipleOf": "must be a multiple of {}",
    }
    if name in limits:
        limit = d.get("limit", d.get("multiple_of"))
        return at, at, limits[name].format(_value(limit))
    words = {
        "not": "must not match the policy's `not` schema",
        "anyOf": "matches none of the policy's alternatives (anyOf)",
        "oneOfNotValid": "matches none of the policy's alternatives (oneOf)",
        "oneOf": "must match exactly one of the policy's alternatives (oneOf)",
        "oneOfMultipleValid": "matches more than one of the policy's alternatives (oneOf)",
        "contains": "has no item the policy asks for (contains)",
        "uniqueItems": "must not repeat an item",
        "additionalProperties": "has a key the policy does not allow",
        "unevaluatedProperties": "has a key the policy does not allow",
        "unevaluatedItems": "has an item the policy does not allow",
        "propertyNames": "has a key name the policy does not allow",
        "dependentRequired": "is missing a key the policy requires with another",
    }
    return at, at, words.get(name, f"does not satisfy the policy ({name})")
