"""The shipped examples are clean in an editor: the RAW files (before extends, vars and env are
resolved) checked against schemas/workspace.schema.json as yaml-language-server checks them,
with its own `email` and `date` rules (and its other format rules), give no diagnostic; and
wherever a `${var.…}` / `${env:…}` reference may stand, the editor schema takes it. The
document schema `wscfg validate` checks a resolved file with stays strict."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
EDITOR_SCHEMA = json.loads((ROOT / "schemas" / "workspace.schema.json").read_text())
DOCUMENT_SCHEMA = json.loads((ROOT / "src/wscfg/config/document.schema.json").read_text())
EXAMPLES = sorted(
    p
    for p in (ROOT / "examples").rglob("*.y*ml")
    if "ci" not in p.relative_to(ROOT / "examples").parts  # pipeline recipes, not configs
)

# yaml-language-server 1.25's format rules (out/server/src/languageservice/parser/
# schemaValidation/baseValidator.js, `formats`): a string is checked with these regexes.
YLS_FORMATS = {
    "email": re.compile(
        r"^(([^<>()\[\]\\.,;:\s@\"]+(\.[^<>()\[\]\\.,;:\s@\"]+)*)|(\".+\"))@((\[[0-9]{1,3}\."
        r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$"
    ),
    "date": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", re.I),
    "date-time": re.compile(
        r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):"
        r"([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)([01][0-9]|2[0-3]):([0-5][0-9]))$",
        re.I,
    ),
    "time": re.compile(
        r"^([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?"
        r"(Z|(\+|-)([01][0-9]|2[0-3]):([0-5][0-9]))$",
        re.I,
    ),
    "color-hex": re.compile(r"^#([0-9A-Fa-f]{3,4}|([0-9A-Fa-f]{2}){3,4})$"),
}


def yls_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    for name, pattern in YLS_FORMATS.items():
        # as the server does: a string that does not match is a diagnostic
        checker.checks(name)(
            lambda value, p=pattern: not isinstance(value, str) or bool(p.match(value))
        )
    return checker


def editor_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=yls_format_checker())


def raw(path: Path) -> Any:
    """The file as an editor sees it: YAML 1.2 data, nothing resolved; a date-like scalar the
    YAML library reads as a date is the text the editor checks."""
    data = YAML(typ="safe").load(path.read_text())

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {str(k): plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        if isinstance(node, datetime.date):
            return node.isoformat()
        return node

    return plain(data)


def diagnostics(schema: dict[str, Any], document: Any) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in editor_validator(schema).iter_errors(document)
    )


def test_there_are_examples() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in EXAMPLES}
    assert {"examples/workspace.yaml", "examples/agency/base.yaml"} <= names
    assert all(p.read_text().startswith("# yaml-language-server: $schema=") for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_raw_examples_give_no_editor_diagnostic(path: Path) -> None:
    assert diagnostics(EDITOR_SCHEMA, raw(path)) == []


def test_the_editor_check_flags_what_the_editor_flags() -> None:
    """The check is strict: a bad email or date is still a diagnostic (the reference is
    accepted, not everything)."""
    doc = {
        "version": 1,
        "workspace": {"slug": "acme"},
        "members": [{"email": "not-an-email", "role": "owner"}],
        "api_keys": [
            {"name": "k", "mode": "live", "scopes": ["contacts:read"], "expires": "2026-13-45"}
        ],
    }
    found = diagnostics(EDITOR_SCHEMA, doc)
    assert len(found) == 2
    assert found[0].startswith("api_keys/0")
    assert found[1].startswith("members/0")
    assert diagnostics(EDITOR_SCHEMA, {**doc, "members": [], "api_keys": []}) == []


def strict_strings(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every string schema with a format, pattern or fixed choices, with its place."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "string" and any(
            k in node for k in ("format", "pattern", "enum", "const")
        ):
            found.append((where, node))
        for key, value in node.items():
            found += strict_strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += strict_strings(value, f"{where}/{i}")
    return found


def test_every_checked_text_takes_a_reference() -> None:
    """Wherever the editor schema checks a text's format, pattern or choices, a text holding
    `${var.…}` or `${env:…}` is accepted beside it (a secret takes `${env:NAME}` only)."""
    places = strict_strings(EDITOR_SCHEMA)
    assert len(places) > 10
    for where, node in places:
        if node.get("pattern") in (r"\$\{(var\.|env:)", r"^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$"):
            continue
        parent = where.rsplit("/", 2)
        assert parent[-2] == "anyOf", where
        holder: Any = EDITOR_SCHEMA
        for step in parent[0].strip("/").split("/") if parent[0] else []:
            holder = holder[int(step)] if isinstance(holder, list) else holder[step]
        sub = {**holder, "$defs": EDITOR_SCHEMA["$defs"]}
        for text in ("${var.x}", "a@${var.domain}", "${env:X}-1"):
            assert editor_validator(sub).is_valid(text), (where, text)


def test_the_document_schema_stays_strict() -> None:
    """After resolution a reference is never valid: validate's schema has no escape hatch."""
    assert r"\$\{(var\.|env:)" not in json.dumps(DOCUMENT_SCHEMA)
    doc = {"version": 1, "workspace": {"slug": "acme"}, "members": [{"email": "a@${var.d}"}]}
    validator = jsonschema.Draft202012Validator(
        DOCUMENT_SCHEMA, format_checker=yls_format_checker()
    )
    assert not validator.is_valid(doc)
