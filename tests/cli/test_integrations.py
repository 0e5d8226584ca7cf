"""Integrations are read-only: connected through OAuth in the UI (``wscfg sandbox
integration`` in the sandbox). Export lists them and their status as a read-only section, and
``integrations: {required: [...]}`` makes the plan refuse — exit 1, in every format — while a
required one is not connected. The CLI against a real sandbox over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from .runner import invoke


@pytest.fixture
def setup(sandbox, served_workspace):
    return sandbox, *served_workspace


def connect(sandbox, slug: str, name: str, status: str = "connected"):
    args = ("sandbox", "integration", "--db", sandbox.db_url, "--workspace", slug, name)
    result = invoke(*args, "--status", status)
    assert result.exit_code == 0
    assert f"Integration {name} of '{slug}' is {status}." in result.stderr
    return result


def test_required_integrations_refuse_until_connected(setup):
    sandbox, ws, path = setup
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}, name: Renamed}}\n"
        "integrations: {required: [wordpress, hubspot]}\n"
    )
    connect(sandbox, ws.slug, "wordpress", "setup_incomplete")
    hubspot = (
        f"{ws.slug}: required integration 'hubspot' is not connected (it is not set up); "
        "connect it in Settings > Integrations before applying"
    )
    wordpress = (
        f"{ws.slug}: required integration 'wordpress' is not connected (it is "
        "setup_incomplete); connect it in Settings > Integrations before applying"
    )
    text = invoke("plan", str(path))
    assert text.exit_code == 1
    assert hubspot in text.output
    assert wordpress in text.output
    as_json = invoke("plan", "--format", "json", str(path))
    assert as_json.exit_code == 1
    refusals = json.loads(as_json.stdout)["refusals"]
    assert [(r["code"], f"{ws.slug}: {r['message']}") for r in refusals] == [
        ("integration_not_connected", hubspot),
        ("integration_not_connected", wordpress),
    ]
    markdown = invoke("plan", "--format", "markdown", str(path))
    assert markdown.exit_code == 1
    assert "required integration 'hubspot' is not connected (it is not set up)" in markdown.stdout
    applied = invoke("apply", "--auto-approve", str(path))
    assert applied.exit_code == 1
    assert hubspot in applied.output
    live = httpx.get(ws.url, headers=ws.headers).json()
    assert live["name"] != "Renamed"  # nothing was applied

    connect(sandbox, ws.slug, "wordpress")
    connect(sandbox, ws.slug, "hubspot")
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    assert "required integration" not in plan.output
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    assert httpx.get(ws.url, headers=ws.headers).json()["name"] == "Renamed"

    connect(sandbox, ws.slug, "hubspot", "disconnected")  # someone disconnects it in the UI
    again = invoke("plan", str(path))
    assert again.exit_code == 1
    assert (
        f"{ws.slug}: required integration 'hubspot' is not connected (it is disconnected)"
    ) in again.output


def test_export_lists_integrations_read_only_and_round_trips(setup):
    sandbox, ws, path = setup
    connect(sandbox, ws.slug, "hubspot")
    connect(sandbox, ws.slug, "wordpress", "setup_incomplete")
    listed = httpx.get(f"{ws.url}/integrations", headers=ws.headers).json()["items"]
    assert [(i["name"], i["status"]) for i in listed] == [
        ("hubspot", "connected"),
        ("wordpress", "setup_incomplete"),
    ]
    exported = invoke("export", "--workspace", ws.slug)
    assert exported.exit_code == 0
    assert exported.stdout.endswith(
        "#\n"
        "# Read-only: integrations are connected in the UI (Settings > Integrations).\n"
        "#   hubspot: connected\n"
        "#   wordpress: setup_incomplete\n"
        "# To require some before a rollout: integrations: {required: [NAME, ...]}\n"
    )
    path.write_text(exported.stdout)
    assert invoke("plan", "--detailed-exitcode", str(path)).exit_code == 0


def test_integrations_cannot_be_written(setup):
    _, ws, path = setup
    r = httpx.post(f"{ws.url}/integrations", headers=ws.headers, json={"name": "hubspot"})
    assert r.status_code == 405
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\n"
        "integrations: {required: [hubspot], connected: [hubspot]}\n"
    )
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert (
        f"{path}:3:37: integrations.connected: unknown key 'connected'; valid keys here: required"
    ) in result.output.splitlines()


def test_the_sandbox_helper_refuses_bad_names(setup):
    sandbox, ws, _ = setup
    args = ("sandbox", "integration", "--db", sandbox.db_url, "--workspace", ws.slug)
    bad = invoke(*args, "Hub Spot")
    assert bad.exit_code == 1
    assert "name: " in bad.stderr
    unknown = invoke("sandbox", "integration", "--db", sandbox.db_url, "--workspace", "nope", "x")
    assert unknown.exit_code == 1
    assert "no workspace 'nope'" in unknown.stderr


def test_a_refused_plan_is_not_saved(setup):
    _, ws, path = setup
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\nintegrations: {{required: [crm]}}\n"
    )
    planned = invoke("plan", "-o", "plan.json", str(path))
    assert planned.exit_code == 1
    assert (
        f"{ws.slug}: required integration 'crm' is not connected (it is not set up); connect "
        "it in Settings > Integrations before applying"
    ) in planned.output
    assert not (path.parent / "plan.json").exists()
