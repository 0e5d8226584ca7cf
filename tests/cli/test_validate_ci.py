"""`wscfg validate` in CI: GitHub annotations, SARIF 2.1.0 (checked against the published
schema shipped next to this file), plain JSON, and no secrets needed (an unset ${env:X} is a
located warning in validate and an error in plan)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .runner import invoke

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
SECRETS = ("ACME_WEBHOOK_SECRET", "SMILE_WEBHOOK_SECRET", "HOOK_SECRET")


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a pull request from a fork: no secret is set."""
    monkeypatch.chdir(ROOT)
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nworkspace: {slug: acme, nmae: x}\n"
        "members: [{email: o@acme.example, role: owner}]\n"
        "webhooks:\n  - name: crm\n    url: https://hooks.example.com/x\n"
        "    secret: ${env:HOOK_SECRET}\n"
    )
    return path


def test_examples_validate_with_no_environment_variables() -> None:
    result = invoke("validate", "examples/workspace.yaml", "examples/agency/")
    assert result.exit_code == 0
    assert result.stdout == "5 files valid: 4 targets, 1 template (2 warnings)\n"
    assert result.stderr == (
        "Warning: examples/agency/base.yaml:56:13: webhooks[0].secret: environment variable "
        "SMILE_WEBHOOK_SECRET is not set; plan and apply will need it\n"
        "        secret: ${env:SMILE_WEBHOOK_SECRET}\n"
        "                ^\n"
        "Warning: examples/workspace.yaml:101:13: webhooks[0].secret: environment variable "
        "ACME_WEBHOOK_SECRET is not set; plan and apply will need it\n"
        "        secret: ${env:ACME_WEBHOOK_SECRET}   # write-only: the plan shows only a "
        "fingerprint\n"
        "                ^\n"
    )


def test_an_unset_variable_is_an_error_in_plan(sandbox, workspace, tmp_path, monkeypatch) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text(
        f"version: 1\nworkspace: {{slug: {workspace.slug}}}\n"
        "webhooks:\n  - name: crm\n    url: https://hooks.example.com/x\n"
        "    secret: ${env:HOOK_SECRET}\n"
    )
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    assert invoke("validate", str(path)).exit_code == 0
    result = invoke("plan", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{path}:6:13: webhooks[0].secret: environment variable HOOK_SECRET is not set\n"
    )
    assert result.stderr.endswith("Error: 1 problem found in the configuration\n")


def test_github_annotations(tmp_path: Path) -> None:
    path = bad_file(tmp_path)
    result = invoke("validate", "--format", "github", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"::error file={path},line=2,col=25,title=wscfg validate::workspace.nmae: unknown key "
        "'nmae'; did you mean 'name'?\n"
        f"::warning file={path},line=7,col=13,title=wscfg validate::webhooks[0].secret: "
        "environment variable HOOK_SECRET is not set; plan and apply will need it\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_github_annotations_are_capped_per_step(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"t{i:02d}.yaml").write_text("version: 1\nworkspace: {slug: a, nmae: x}\n")
    result = invoke("validate", "--format", "github", str(tmp_path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert lines[10] == (
        "::notice title=wscfg validate::2 more problem(s) not annotated (GitHub shows 10 per "
        "step and severity); they follow in the log"
    )
    assert lines[11].startswith(f"error: {tmp_path}/t10.yaml:2:22: workspace.nmae: unknown key")
    assert lines[-1] == "Error: 12 problems in 12 files (12 files checked)"


def test_github_escapes_properties_and_data(tmp_path: Path) -> None:
    odd = tmp_path / "a,b:c.yaml"
    odd.write_text("version: 1\nworkspace: {slug: a, nmae: x}\n")
    result = invoke("validate", "--format", "github", str(odd))
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"::error file={tmp_path}/a%2Cb%3Ac.yaml,line=2,col=22,")


def test_sarif_is_valid_sarif_2_1_0(tmp_path: Path) -> None:
    path = bad_file(tmp_path)
    result = invoke("validate", "--format", "sarif", str(path))
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "wscfg"
    assert [(r["ruleId"], r["level"], r["message"]["text"]) for r in run["results"]] == [
        ("config-invalid", "error", "workspace.nmae: unknown key 'nmae'; did you mean 'name'?"),
        (
            "env-unset",
            "warning",
            "webhooks\\[0\\].secret: environment variable HOOK\\_SECRET is not set; "
            "plan and apply will need it",
        ),
    ]
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 25)


def test_sarif_of_valid_files_is_valid_and_empty() -> None:
    result = invoke("validate", "--format", "sarif", "examples/workspace.yaml")
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"examples/workspace.yaml"}  # relative to the checkout, for code scanning


def test_sarif_schema_rejects_what_it_should() -> None:
    """The shipped schema is the real one: a log without `runs` does not pass."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "2.1.0"}, SARIF_SCHEMA)


def test_json_lists_warnings(tmp_path: Path) -> None:
    result = invoke("validate", "--format", "json", str(bad_file(tmp_path)))
    report = json.loads(result.stdout)
    assert report["warnings"] == [
        {
            "file": str(tmp_path / "bad.yaml"),
            "line": 7,
            "column": 13,
            "path": "webhooks[0].secret",
            "message": "environment variable HOOK_SECRET is not set; plan and apply will need it",
        }
    ]
