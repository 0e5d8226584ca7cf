"""Post-processing of the generated OpenAPI document: problem+json errors, stable output."""

from __future__ import annotations

from typing import Any

from .problems import PROBLEM_JSON, Problem

_TITLES = {
    "401": "Missing, unknown or revoked API key",
    "403": "The key lacks the scope (or is not an agency key)",
    "404": "No such workspace or item, or not reachable with this key",
    "409": "A platform rule refused the write",
    "412": "If-Match does not match the current ETag",
    "413": "The body is too large",
    "422": "The request is invalid; see errors[]",
    "429": "Rate limited; see Retry-After",
    "503": "Busy: the write lock was not free in time, or the write ran past its time budget "
    "and was rolled back; see Retry-After",
    "default": "Unexpected error",
}
_READ = ("401", "403", "404", "422", "429", "503")
_WRITE = ("401", "403", "404", "409", "413", "422", "429", "503")
_CONDITIONAL = ("412",)


def _problem(code: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": _TITLES[code],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in ("429", "503"):
        out["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return out


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's validation errors with problem+json answers on every operation."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in problem.pop("$defs", {}).items():
        schemas[name] = sub
    schemas["Problem"] = problem
    for methods in doc.get("paths", {}).values():
        for method, op in methods.items():
            responses = op.setdefault("responses", {})
            codes = list(_READ if method == "get" else _WRITE)
            if method in ("patch", "delete"):
                codes += list(_CONDITIONAL)
            for code in [*codes, "default"]:
                responses[code] = _problem(code)
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc
