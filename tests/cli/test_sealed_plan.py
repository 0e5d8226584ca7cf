"""A saved plan applies exactly as written or not at all (DESIGN §6.13): the whole document is
sealed under the plan key, and bound to each workspace's server-side identity.

Every refusal is checked against the sandbox itself: its settings and audit log are the same
after the refused apply as before it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from wscfg.engine.seal import key_id
from wscfg.sandbox.db import dispose

from .runner import invoke

CHANGED = (
    "Error: the plan file was changed after it was written; make the plan again and review it\n"
)
TAGS = ["spam", "new-patient", "vip", "billing", "late", "sales", "east", "west", "north", "x"]


def config(slug: str, color: str = "#00ff00") -> str:
    tags = "".join(f"  - {{name: {t}}}\n" for t in TAGS[1:])
    return (
        f"version: 1\nworkspace: {{slug: {slug}, name: Acme, timezone: UTC}}\n"
        f"members:\n  - {{email: owner@{slug}.example, role: owner}}\n"
        f'call_tags:\n  - {{name: spam, color: "{color}"}}\n{tags}'
    )


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    """A workspace with ten tags, and a saved plan that changes one colour."""
    ws = sandbox.new_workspace()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.delenv("WSCFG_PLAN_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("ws.yaml").write_text(config(ws.slug, "#ff0000"))
    assert invoke("apply", "--auto-approve", "ws.yaml").exit_code == 0
    Path("ws.yaml").write_text(config(ws.slug))
    made = invoke("plan", "ws.yaml", "-o", "plan.json")
    assert made.exit_code == 0, made.output
    return ws


def server_state(ws: Any) -> tuple[Any, Any]:
    """What the sandbox holds: the settings snapshot and the whole audit log."""
    snap = httpx.get(f"{ws.url}/settings", headers=ws.headers).json()
    audit = httpx.get(f"{ws.url}/audit", headers=ws.headers, params={"limit": 1000}).json()
    return snap, audit


def _change(doc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {
        "action": "create",
        "kind": "members",
        "key": "evil@attacker.example",
        "address": "members[evil@attacker.example]",
        "before": None,
        "after": {"email": "evil@attacker.example", "role": "owner"},
        "fields": [],
        "etag": None,
    }
    return base | extra


def _colour(doc: dict[str, Any]) -> None:
    doc["targets"][0]["changes"][0]["after"]["color"] = "#000000"


def _inject(doc: dict[str, Any]) -> None:
    doc["targets"][0]["changes"][0]["after"]["description"] = "injected"


def _add_owner(doc: dict[str, Any]) -> None:
    doc["targets"][0]["changes"].append(_change(doc))


def _add_delete(doc: dict[str, Any]) -> None:
    change = dict(doc["targets"][0]["changes"][0])
    doc["targets"][0]["changes"].append(
        change | {"action": "delete", "key": "vip", "address": "call_tags[vip]", "after": None}
    )


def _mass(doc: dict[str, Any]) -> None:
    doc["allowances"]["mass_changes"] = True
    change = dict(doc["targets"][0]["changes"][0])
    for tag in TAGS[1:]:
        doc["targets"][0]["changes"].append(
            change | {"action": "delete", "key": tag, "address": f"call_tags[{tag}]"}
        )


def _reorder(doc: dict[str, Any]) -> None:
    _add_delete(doc)
    doc["targets"][0]["changes"].reverse()


def _remove(doc: dict[str, Any]) -> None:
    doc["targets"][0]["changes"].pop()


def _server(doc: dict[str, Any]) -> None:
    doc["server"] = doc["server"].replace("127.0.0.1", "localhost")


def _workspace_id(doc: dict[str, Any]) -> None:
    doc["targets"][0]["workspace_id"] = "ws_0000000000000000"


def _hmac(doc: dict[str, Any]) -> None:
    doc["seal"]["hmac"] = doc["seal"]["hmac"][:-1] + (
        "0" if doc["seal"]["hmac"][-1] != "0" else "1"
    )


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "a colour": _colour,
    "an injected field": _inject,
    "an added owner": _add_owner,
    "an added delete": _add_delete,
    "allowances flipped with 9 deletes": _mass,
    "reordered changes": _reorder,
    "a removed change": _remove,
    "another server": _server,
    "another workspace id": _workspace_id,
    "the seal's hmac": _hmac,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_any_edit_is_refused_before_the_first_write(setup, edit):
    ws = setup
    doc = json.loads(Path("plan.json").read_text())
    EDITS[edit](doc)
    Path("plan.json").write_text(json.dumps(doc, indent=2))
    before = server_state(ws)
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stdout, got.stderr) == (1, "", CHANGED)
    assert server_state(ws) == before  # nothing written: same settings, same audit log
    shown = invoke("show", "plan.json")
    assert (shown.exit_code, shown.stdout, shown.stderr) == (1, "", CHANGED)


def test_the_unedited_plan_applies(setup):
    ws = setup
    got = invoke("apply", "--auto-approve", "plan.json")
    assert got.exit_code == 0, got.output
    assert f"{ws.slug}: 1 applied" in got.stdout.splitlines()


def test_reformatting_is_not_an_edit(setup):
    """The seal covers what the document says, not its spacing or key order."""
    doc = json.loads(Path("plan.json").read_text())
    Path("plan.json").write_text(json.dumps(dict(reversed(list(doc.items())))))
    assert invoke("apply", "--auto-approve", "plan.json").exit_code == 0


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ('"format": "wscfg-plan", "format": "wscfg-plan",', 'it names "format" twice'),
        ('"nan": NaN,', "it holds NaN, which JSON does not allow"),
    ],
)
def test_json_that_parses_two_ways_is_refused(setup, damage, why):
    body = Path("plan.json").read_text()
    Path("plan.json").write_text("{" + damage + body.lstrip()[1:])
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stderr) == (
        1,
        f"Error: the plan file was changed after it was written ({why})\n",
    )


def test_an_unsealed_plan_is_refused(setup):
    """A file of an older wscfg (version 1, no seal), or one whose seal was removed."""
    doc = json.loads(Path("plan.json").read_text())
    del doc["seal"]
    doc["version"] = 1
    Path("plan.json").write_text(json.dumps(doc))
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stderr) == (
        1,
        "Error: the plan file is not sealed: it was written by an older wscfg, or the plan "
        "file was changed after it was written; make the plan again\n",
    )


def test_replay_on_an_identically_templated_workspace(setup, sandbox, monkeypatch):
    """The slug replaced by another workspace's, applied with that workspace's key: the plan
    key differs (it derives from the API key), and the error names that cause."""
    ws = setup
    other = sandbox.new_workspace()
    Path("other.yaml").write_text(config(other.slug, "#ff0000"))
    monkeypatch.setenv("WSCFG_TOKEN", other.key)
    assert invoke("apply", "--auto-approve", "other.yaml").exit_code == 0
    doc = json.loads(Path("plan.json").read_text())
    doc["targets"][0]["workspace"] = other.slug
    Path("plan.json").write_text(json.dumps(doc))
    before = server_state(other)
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stderr) == (
        1,
        f"Error: the plan file was sealed with another plan key (key id {key_id(ws.key.encode())}"
        f"; this job's is {key_id(other.key.encode())}): set the same WSCFG_PLAN_KEY in the plan "
        "and the apply job. If the keys are the same, the plan file was changed after it was "
        "written\n",
    )
    assert server_state(other) == before
    # with one WSCFG_PLAN_KEY for both jobs, the edited slug breaks the seal
    monkeypatch.setenv("WSCFG_PLAN_KEY", "one-plan-key-for-the-fleet")
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    assert invoke("plan", "ws.yaml", "-o", "plan.json").exit_code == 0
    doc = json.loads(Path("plan.json").read_text())
    doc["targets"][0]["workspace"] = other.slug
    Path("plan.json").write_text(json.dumps(doc))
    monkeypatch.setenv("WSCFG_TOKEN", other.key)
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stderr) == (1, CHANGED)
    assert server_state(other) == before


def test_a_plan_is_bound_to_the_workspace_not_its_slug(setup, sandbox):
    """Sealed again by a holder of the plan key for another workspace, or applied after the
    slug came to name another workspace: the workspace's identity differs, nothing is
    written."""
    ws = setup
    doc = json.loads(Path("plan.json").read_text())
    planned = doc["targets"][0]["workspace_id"]
    assert planned.startswith("ws_") and len(planned) == 19
    # the slug now names another workspace (as if it was deleted and made again)
    engine = create_engine(sandbox.db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE workspaces SET uid = 'ws_1111111111111111' WHERE slug = :s"),
            {"s": ws.slug},
        )
    engine.dispose()
    dispose(sandbox.db_url)
    before = server_state(ws)
    got = invoke("apply", "--auto-approve", "plan.json")
    assert (got.exit_code, got.stderr) == (
        1,
        "Error: the saved plan is stale: these items changed since it was made, nothing was "
        f"written:\n  - {ws.slug}: is not the workspace the plan was made for (workspace id "
        f"{planned}, now ws_1111111111111111)\nRun `wscfg plan` again and review it.\n",
    )
    assert server_state(ws) == before


def test_show_says_whether_the_seal_verified(setup, monkeypatch):
    ws = setup
    kid = key_id(ws.key.encode())
    got = invoke("show", "plan.json")
    assert (got.exit_code, got.stderr) == (
        0,
        f"The plan file's seal verified (plan key id {kid}).\n",
    )
    monkeypatch.setenv("WSCFG_PLAN_KEY", "another")
    got = invoke("show", "plan.json")
    assert got.exit_code == 0 and got.stdout
    assert got.stderr == (
        f"The plan file was sealed with another plan key (key id {kid}; this job's is "
        f"{key_id(b'another')}): set the same WSCFG_PLAN_KEY in the plan and the apply job. If "
        "the keys are the same, the plan file was changed after it was written.\n"
    )
    monkeypatch.delenv("WSCFG_PLAN_KEY")
    monkeypatch.delenv("WSCFG_TOKEN")
    got = invoke("show", "plan.json")
    assert got.exit_code == 0 and got.stdout
    assert got.stderr == (
        "The plan file's seal could not be checked: no plan key here (set WSCFG_PLAN_KEY, or "
        "WSCFG_TOKEN, as in the job that made the plan).\n"
    )


def test_the_json_format_is_a_sealed_plan_too(setup):
    made = invoke("plan", "ws.yaml", "--format", "json")
    Path("stdout.json").write_text(made.stdout)
    got = invoke("apply", "--auto-approve", "stdout.json")
    assert got.exit_code == 0, got.output
