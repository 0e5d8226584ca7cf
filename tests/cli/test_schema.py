"""`wscfg schema` and schemas/workspace.schema.json: in sync, valid Draft 2020-12, useful."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from wscfg.cli import cli
from wscfg.config.load import read_file
from wscfg.config.schema import dump_json, workspace_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "workspace.schema.json"


def validator() -> Draft202012Validator:
    schema = workspace_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def raw(path: Path) -> Any:
    loaded = read_file(str(path))
    assert loaded.root is not None
    return loaded.root.to_plain()


def test_committed_schema_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == dump_json(workspace_schema()), (
        "schemas/workspace.schema.json is stale: run `wscfg schema`"
    )


def test_schema_basics() -> None:
    schema = workspace_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "wscfg workspace configuration"
    assert schema["additionalProperties"] is False
    member = schema["$defs"]["Member"]
    assert set(member["properties"]) == {"email", "role", "notifications"}
    assert "status" not in json.dumps(member)
    assert "secret_fingerprint" not in schema["$defs"]["Webhook"]["properties"]
    assert member["properties"]["email"]["description"]
    assert '"type": "null"' not in json.dumps(schema)


@pytest.mark.parametrize(
    "name",
    [
        "examples/workspace.yaml",
        "examples/agency/base.yaml",
        "examples/agency/north.yaml",
        "examples/agency/lakeside.yaml",
        "examples/agency/harbor.yaml",
    ],
)
def test_examples_validate_as_written(name: str) -> None:
    errors = list(validator().iter_errors(raw(ROOT / name)))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize(
    ("doc", "where", "rule"),
    [
        (
            {"version": 1, "members": [{"email": "a@b.c", "role": "owner", "status": "active"}]},
            ["members", 0],
            "additionalProperties",  # status is the platform's, not the config's
        ),
        (
            {"version": 1, "webhooks": [{"name": "h", "secret": "plain"}]},
            ["webhooks", 0, "secret"],
            "pattern",
        ),
        ({"version": 1, "workspace": {"slug": "a", "name": None}}, ["workspace", "name"], "type"),
        ({"version": 1, "memebers": []}, [], "additionalProperties"),
        ({"version": 2}, ["version"], "const"),
        (
            {"version": 1, "webhooks": [{"name": "h", "events": ["call.done"]}]},
            ["webhooks", 0, "events", 0],
            "enum",
        ),
    ],
)
def test_schema_rejects(doc: dict[str, Any], where: list[Any], rule: str) -> None:
    """The schema refuses each document at the place and by the rule meant (the schema
    library's wording of the message is its own)."""
    found = set()
    todo = list(validator().iter_errors(doc))
    while todo:  # the errors and, under anyOf (a reference allowed beside a choice), theirs
        e = todo.pop()
        found.add((tuple(e.absolute_path), e.validator))
        todo += e.context or []
    assert (tuple(where), rule) in found, found


def test_schema_accepts_file_forms() -> None:
    doc = {
        "version": 1,
        "extends": ["../base.yaml"],
        "vars": {"a": 1, "b": "x", "c": True},
        "workspace": {"name": "template without a slug"},
        "members": [{"email": "x@y.example", "$remove": True}],
        "blocked_callers": ["+1 555 010 0100", {"number": "+15550100199", "note": "n"}],
        "webhooks": [{"name": "h", "secret": "${env:HOOK_SECRET}"}],
    }
    assert list(validator().iter_errors(doc)) == []


def test_schema_command_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "schemas"
    result = runner.invoke(cli, ["schema", "--check", "--dir", str(out), "workspace"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{out}/workspace.schema.json is missing; run `wscfg schema` to regenerate it\n"
    )
    result = runner.invoke(cli, ["schema", "--dir", str(out), "workspace"])
    assert (result.exit_code, result.stdout) == (0, f"wrote {out}/workspace.schema.json\n")
    result = runner.invoke(cli, ["schema", "--check", "--dir", str(out), "workspace"])
    assert (result.exit_code, result.stdout) == (0, f"{out}/workspace.schema.json is up to date\n")
    (out / "workspace.schema.json").write_text("{}\n")
    result = runner.invoke(cli, ["schema", "--check", "--dir", str(out), "workspace"])
    assert result.exit_code == 1
    assert "is out of date; run `wscfg schema`" in result.stderr


def test_schema_check_of_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed documents (workspace schema, OpenAPI, the packaged check schema) are
    current."""
    pytest.importorskip("fastapi")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["schema", "--check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "schemas/workspace.schema.json is up to date\nschemas/openapi.json is up to date\n"
        "src/wscfg/config/document.schema.json is up to date\n"
    )
