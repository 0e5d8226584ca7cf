"""`wscfg validate` with policies: every output format names the policy (its name is the rule
id), an error policy exits 1, a warning policy only reports."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .runner import invoke

SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())

BASE = """\
version: 1
policies:
  - name: require-2fa
    description: Every sub-account requires two-factor sign-in.
    schema:
      properties:
        security: {properties: {require_2fa: {const: true}}}
  - name: hooks-to-our-crm
    description: Webhooks may only call the agency's CRM.
    severity: warning
    schema:
      properties:
        webhooks: {items: {properties: {url: {pattern: "^https://hooks\\\\.crm\\\\.example/"}}}}
"""
TARGET = """\
version: 1
extends: base.yaml
workspace: {slug: clinic, name: Clinic}
members: [{email: owner@clinic.example, role: owner}]
"""
BAD_2FA = "security: {require_2fa: false}\n"
BAD_HOOK = """\
webhooks:
  - name: crm
    url: https://evil.example/hook
    events: [call.completed]
"""
MSG_2FA = (
    "security.require_2fa: must be true; policy 'require-2fa' (Every sub-account requires "
    "two-factor sign-in.)"
)
MSG_HOOK = (
    "webhooks[0].url: must match the pattern `^https://hooks\\.crm\\.example/`; policy "
    "'hooks-to-our-crm' (Webhooks may only call the agency's CRM.)"
)


def files(tmp_path: Path, *extra: str) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "clinic.yaml").write_text(TARGET + "".join(extra))
    return tmp_path


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_text_error_exits_1_and_warning_is_reported(tmp_path: Path) -> None:
    files(tmp_path, BAD_2FA, BAD_HOOK)
    result = invoke("validate", ".")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Warning: clinic.yaml:8:10: {MSG_HOOK}",
        "        url: https://evil.example/hook",
        "             ^",
        f"clinic.yaml:5:25: {MSG_2FA}",
        "    security: {require_2fa: false}",
        "                            ^",
        "Error: 1 problem in 1 file (2 files checked)",
    ]


def test_a_warning_policy_alone_exits_0(tmp_path: Path) -> None:
    files(tmp_path, BAD_HOOK)
    result = invoke("validate", ".")
    assert result.exit_code == 0
    assert result.stdout == "2 files valid: 1 target, 1 template (1 warning)\n"
    assert f"Warning: clinic.yaml:7:10: {MSG_HOOK}" in result.stderr


def test_github_uses_the_policy_name_as_the_title(tmp_path: Path) -> None:
    files(tmp_path, BAD_2FA, BAD_HOOK)
    result = invoke("validate", ".", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (f"::error file=clinic.yaml,line=5,col=25,title=require-2fa::{MSG_2FA}")
    assert lines[1] == (
        f"::warning file=clinic.yaml,line=8,col=10,title=hooks-to-our-crm::{MSG_HOOK}"
    )


def test_sarif_uses_the_policy_name_as_the_rule_id(tmp_path: Path) -> None:
    files(tmp_path, BAD_2FA, BAD_HOOK)
    result = invoke("validate", ".", "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {"require-2fa", "hooks-to-our-crm"} <= set(rules)
    got = [
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
    ]
    assert got == [("require-2fa", "error", 5), ("hooks-to-our-crm", "warning", 8)]


def test_json_carries_the_rule(tmp_path: Path) -> None:
    files(tmp_path, BAD_2FA, BAD_HOOK)
    result = invoke("validate", ".", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(d["rule"], d["line"], d["path"]) for d in doc["diagnostics"]] == [
        ("require-2fa", 5, "security.require_2fa")
    ]
    assert [(d["rule"], d["line"]) for d in doc["warnings"]] == [("hooks-to-our-crm", 8)]


def test_plan_refuses_a_config_that_breaks_an_error_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that loads configs checks policies (plan fails before any network)."""
    files(tmp_path, BAD_2FA)
    monkeypatch.setenv("WSCFG_TOKEN", "unused")
    result = invoke("plan", "clinic.yaml", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert f"clinic.yaml:5:25: {MSG_2FA}" in result.stderr


@pytest.mark.parametrize("name", ["config-invalid", "ENV-UNSET"])
def test_a_policy_cannot_take_a_rule_id_of_wscfg_itself(tmp_path: Path, name: str) -> None:
    """SARIF rule ids (and GitLab check names) must stay unique: a policy named like wscfg's
    own rules would be one rule with two meanings."""
    (tmp_path / "base.yaml").write_text(
        f"version: 1\npolicies:\n  - {{name: {name}, description: d, schema: true}}\n"
    )
    result = invoke("validate", "base.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"base.yaml:3:12: policies[0].name: '{name}' is a rule id of wscfg itself (SARIF, "
        "GitHub annotations, GitLab); choose another policy name"
    )


HOSTILE = (
    "Evil\\r\\n::error file=x.yaml::injected %0A <script>alert(1)</script> | `x` [l](http://e) "
    "@team"
)


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif", "gitlab"])
def test_a_hostile_description_and_pattern_stay_data_in_every_format(
    tmp_path: Path, fmt: str
) -> None:
    (tmp_path / "base.yaml").write_text(
        "version: 1\npolicies:\n"
        f'  - name: evil\n    description: "{HOSTILE}"\n'
        "    schema: {properties: {webhooks: {items: {properties: {url: "
        '{pattern: "^x\\n::warning::y <b>|`\\e\\\\[31m\\u202e"}}}}}}\n'
    )
    (tmp_path / "clinic.yaml").write_text(TARGET + BAD_HOOK)
    result = invoke("validate", "clinic.yaml", "--format", fmt)
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    if fmt == "github":
        commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
        assert len(commands) == 1 and commands[0].startswith("::error file=clinic.yaml,")
    if fmt == "sarif":
        log = json.loads(result.stdout)
        jsonschema.validate(log, SARIF_SCHEMA)
        (found,) = log["runs"][0]["results"]
        assert "<script>" not in found["message"]["text"] and found["ruleId"] == "evil"
    if fmt in ("json", "gitlab"):
        assert json.loads(result.stdout)  # still one JSON document
    if fmt == "text":
        assert len([line for line in result.stderr.splitlines() if "policy 'evil'" in line]) == 1


@pytest.mark.parametrize(("char", "shown"), [("\\e", "U+001B"), ("\\u202e", "U+202E")])
def test_a_description_with_a_control_or_bidi_character_is_refused(
    tmp_path: Path, char: str, shown: str
) -> None:
    """Line breaks in a description fold to spaces; an escape sequence or a bidirectional
    override would reach every report of the policy: refused at the description."""
    (tmp_path / "base.yaml").write_text(
        f'version: 1\npolicies:\n  - {{name: p, description: "ok {char}x", schema: true}}\n'
    )
    result = invoke("validate", "base.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"base.yaml:3:28: policies[0].description: must not contain {shown} (a control or "
        "bidirectional character): the description heads every report of the policy"
    )


def test_a_description_longer_than_500_characters_is_refused(tmp_path: Path) -> None:
    """It is repeated with every violation of every workspace (drift json, markdown)."""
    words = "word " * 100  # 499 characters once folded: allowed
    (tmp_path / "base.yaml").write_text(
        "version: 1\npolicies:\n"
        f"  - {{name: p, description: '{words}', schema: true}}\n"
        f"  - {{name: q, description: '{words} x', schema: true}}\n"
    )
    result = invoke("validate", "base.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "base.yaml:4:28: policies[1].description: at most 500 characters: it is repeated with "
        "every violation"
    )
    assert "policies[0]" not in result.stderr
