"""Where CI reports place a problem: the path from the repository root (the git top level,
else the current directory) in GitHub annotations, SARIF (`%SRCROOT%`, percent-encoded URI
references) and GitLab Code Quality, whatever folder wscfg runs in; at most 25,000 SARIF
results per run, with a note of how many were left out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest

from wscfg.config.reports import SARIF_MAX_RESULTS, code_quality, sarif_log
from wscfg.errors import Diagnostic

from .runner import invoke

SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
# format checks on: `uri-reference` is what code scanning rejects a bad path for
SARIF = jsonschema_rs.Draft7Validator(
    SARIF_SCHEMA, validate_formats=True
)  # draft-04 has no uri-reference
BAD = "version: 1\nworkspace: {slug: acme, nmae: x}\n"
MESSAGE = "workspace.nmae: unknown key 'nmae'; did you mean 'name'?"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding workspaces/broken.yaml and bad.yaml."""
    root = tmp_path / "repo"
    (root / "workspaces").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "workspaces" / "broken.yaml").write_text(BAD)
    (root / "bad.yaml").write_text(BAD)
    return root


def sarif_locations(stdout: str) -> list[dict[str, str]]:
    log = json.loads(stdout)
    SARIF.validate(log)
    return [
        r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]
    ]


def annotated_files(stdout: str) -> list[str]:
    return [
        line.split("file=", 1)[1].split(",", 1)[0] for line in stdout.splitlines() if "::" in line
    ]


def test_from_a_subdirectory_paths_are_from_the_repository_root(repo, monkeypatch):
    monkeypatch.chdir(repo / "workspaces")
    sarif = invoke("validate", ".", "../bad.yaml", "--format", "sarif")
    assert sarif.exit_code == 1
    assert sarif_locations(sarif.stdout) == [
        {"uri": "bad.yaml", "uriBaseId": "%SRCROOT%"},
        {"uri": "workspaces/broken.yaml", "uriBaseId": "%SRCROOT%"},
    ]
    github = invoke("validate", ".", "../bad.yaml", "--format", "github")
    assert annotated_files(github.stdout) == ["bad.yaml", "workspaces/broken.yaml"]
    gitlab = invoke("validate", ".", "../bad.yaml", "--format", "gitlab")
    assert [i["location"]["path"] for i in json.loads(gitlab.stdout)] == [
        "bad.yaml",
        "workspaces/broken.yaml",
    ]


def test_outside_a_repository_paths_are_from_the_current_directory(tmp_path, monkeypatch):
    here = tmp_path / "plain"
    (here / "sub").mkdir(parents=True)
    (here / "sub" / "bad.yaml").write_text(BAD)
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(BAD)
    monkeypatch.chdir(here)
    sarif = invoke("validate", "sub", "../elsewhere.yaml", "--format", "sarif")
    assert sarif_locations(sarif.stdout) == [
        {"uri": elsewhere.as_uri()},  # outside the root: an absolute file URI
        {"uri": "sub/bad.yaml", "uriBaseId": "%SRCROOT%"},
    ]
    github = invoke("validate", "sub", "../elsewhere.yaml", "--format", "github")
    assert annotated_files(github.stdout) == [str(elsewhere), "sub/bad.yaml"]
    gitlab = invoke("validate", "sub", "--format", "gitlab")
    assert [i["location"]["path"] for i in json.loads(gitlab.stdout)] == ["sub/bad.yaml"]


def test_an_odd_file_name_is_a_valid_percent_encoded_uri(repo, monkeypatch):
    odd = repo / "workspaces" / "bad 2 #ü%?.yaml"
    odd.write_text(BAD)
    monkeypatch.chdir(repo)
    sarif = invoke("validate", str(odd), "--format", "sarif")
    assert sarif_locations(sarif.stdout) == [
        {"uri": "workspaces/bad%202%20%23%C3%BC%25%3F.yaml", "uriBaseId": "%SRCROOT%"}
    ]
    gitlab = invoke("validate", str(odd), "--format", "gitlab")
    assert json.loads(gitlab.stdout)[0]["location"]["path"] == "workspaces/bad 2 #ü%?.yaml"


def test_the_schema_check_catches_an_unencoded_uri():
    """The check above can fail: the raw name is not a uri-reference."""
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "message": {"text": "m"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "bad 2 #ü.yaml"}}}
                        ],
                    }
                ],
            }
        ],
    }
    assert not SARIF.is_valid(log)


def diagnostics(n: int, file: str) -> list[Diagnostic]:
    return [Diagnostic(file, i + 1, 1, f"call_tags[{i}]", "unknown key 'x'") for i in range(n)]


def test_sarif_keeps_25000_results_and_says_how_many_were_left_out(tmp_path):
    file = str(tmp_path / "big.yaml")
    errors, warnings = diagnostics(25_990, file), diagnostics(10, file)
    log = sarif_log(errors, warnings, version="0", root=str(tmp_path))
    SARIF.validate(log)
    (run,) = log["runs"]
    assert len(run["results"]) == SARIF_MAX_RESULTS == 25_000
    assert {r["level"] for r in run["results"]} == {"error"}  # errors first
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == (
        "1000 more problem(s) left out: code scanning takes at most 25,000 results per run; "
        "run `wscfg validate` (text or json) for the full list"
    )
    exact = sarif_log(diagnostics(25_000, file), [], version="0", root=str(tmp_path))
    assert len(exact["runs"][0]["results"]) == 25_000
    assert "invocations" not in exact["runs"][0]


def test_the_cli_says_on_stderr_when_results_were_left_out(tmp_path, monkeypatch):
    body = "".join(f"  - {{name: t{i}, colr: x}}\n" for i in range(25_001))
    (tmp_path / "many.yaml").write_text(f"version: 1\nworkspace: {{slug: a}}\ncall_tags:\n{body}")
    monkeypatch.chdir(tmp_path)
    result = invoke("validate", "many.yaml", "--format", "sarif")
    assert result.exit_code == 1
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert len(results) == 25_000
    assert result.stderr == (
        "Warning: 1 more problem(s) left out: code scanning takes at most 25,000 results per "
        "run; run `wscfg validate` (text or json) for the full list\n"
    )


def test_gitlab_code_quality_report(repo, monkeypatch):
    (repo / "workspaces" / "hook.yaml").write_text(
        "version: 1\nworkspace: {slug: acme}\n"
        "webhooks:\n  - name: crm\n    url: https://hooks.example.com/x\n"
        "    secret: ${env:WSCFG_TEST_UNSET_SECRET}\n"
    )
    monkeypatch.delenv("WSCFG_TEST_UNSET_SECRET", raising=False)
    monkeypatch.chdir(repo / "workspaces")
    first = invoke("validate", ".", "--format", "gitlab")
    assert first.exit_code == 1
    assert first.stderr == "Error: 1 problem in 1 file (2 files checked)\n"
    issues = json.loads(first.stdout)
    fingerprints = [i.pop("fingerprint") for i in issues]
    assert issues == [
        {
            "description": MESSAGE,
            "check_name": "config-invalid",
            "severity": "major",
            "location": {"path": "workspaces/broken.yaml", "lines": {"begin": 2}},
        },
        {
            "description": "webhooks[0].secret: environment variable WSCFG_TEST_UNSET_SECRET "
            "is not set; plan and apply will need it",
            "check_name": "env-unset",
            "severity": "minor",
            "location": {"path": "workspaces/hook.yaml", "lines": {"begin": 6}},
        },
    ]
    # stable across runs, and from another folder of the same repository
    monkeypatch.chdir(repo)
    again = invoke("validate", "workspaces", "--format", "gitlab")
    assert [i["fingerprint"] for i in json.loads(again.stdout)] == fingerprints
    assert len(set(fingerprints)) == 2


def test_gitlab_fingerprints_are_unique_per_problem(tmp_path):
    file = str(tmp_path / "a.yaml")
    same = Diagnostic(file, 0, 0, "", "not a wscfg config")
    issues = code_quality([same, same, *diagnostics(50, file)], [], root=str(tmp_path))
    prints = [i["fingerprint"] for i in issues]
    assert len(set(prints)) == len(prints) == 52
    assert issues[0]["location"] == {"path": "a.yaml", "lines": {"begin": 1}}
    assert prints == [
        i["fingerprint"]
        for i in code_quality([same, same, *diagnostics(50, file)], [], root=str(tmp_path))
    ]


def test_a_valid_run_is_an_empty_report(repo, monkeypatch):
    monkeypatch.chdir(repo)
    (repo / "good.yaml").write_text("version: 1\nworkspace: {slug: acme}\n")
    result = invoke("validate", "good.yaml", "--format", "gitlab")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])
