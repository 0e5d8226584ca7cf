"""Usage alerts: a list identified by ``threshold`` (percent of the included minutes), with
channels and recipients (member emails or role names). Planned and applied against a real
sandbox; a recipient that neither the config nor the live workspace has is a refusal, with
"did you mean"; bad values are validate errors."""

from __future__ import annotations

import json

import httpx
import pytest

from .runner import invoke


@pytest.fixture
def setup(served_workspace):
    return served_workspace


ALERTS = """\
usage_alerts:
  - {threshold: 50, channels: [email], recipients: [admin]}
  - {threshold: 80, channels: [in_app, email], recipients: [owner@x.example, admin]}
  - {threshold: 100, channels: [email, in_app], recipients: [Owner@X.example, finance]}
roles:
  - {name: finance, permissions: [billing:read]}
"""


def test_alerts_apply_converge_and_export(setup):
    ws, path = setup
    path.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\n{ALERTS}")
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0, plan.output
    assert f"  + usage alert 80   (from {path}:5)" in plan.stdout.splitlines()
    listed = [line.split()[3] for line in plan.stdout.splitlines() if "+ usage alert" in line]
    assert listed == ["50", "80", "100"]  # thresholds in numeric order, not text order
    assert "Plan: 4 to add, 0 to change, 0 to delete." in plan.stdout
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0

    r = httpx.get(f"{ws.url}/usage-alerts/100", headers=ws.headers)
    assert r.status_code == 200
    body = r.json()
    del body["etag"]
    assert body == {
        "threshold": 100,
        "channels": ["email", "in_app"],
        "recipients": ["finance", "owner@x.example"],
    }
    same = invoke("plan", "--detailed-exitcode", str(path))
    assert same.exit_code == 0, same.output

    # a changed threshold is another alert: the old one goes; other fields change in place
    text = path.read_text().replace("threshold: 50", "threshold: 60")
    path.write_text(text.replace("channels: [in_app, email]", "channels: [in_app]"))
    plan = invoke("plan", str(path))
    assert "Plan: 1 to add, 1 to change, 1 to delete." in plan.stdout
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0

    exported = invoke("export", "--workspace", ws.slug)
    assert exported.exit_code == 0
    assert "usage_alerts:\n  - threshold: 60\n    channels: [email]\n" in exported.stdout
    again = path.parent / "exported.yaml"
    again.write_text(exported.stdout)
    assert invoke("plan", "--detailed-exitcode", str(again)).exit_code == 0


def test_unknown_recipient_is_refused_in_every_format(setup):
    ws, path = setup
    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\n"
        "usage_alerts:\n  - {threshold: 80, recipients: [owner@x.exmple, admn]}\n"
    )
    first = (
        f"{ws.slug}: usage alert 80%: recipient 'admn' is no role of the config or the live "
        "workspace; did you mean 'admin'?"
    )
    second = (
        f"{ws.slug}: usage alert 80%: recipient 'owner@x.exmple' is no member of the config or "
        "the live workspace; did you mean 'owner@x.example'?"
    )
    text = invoke("plan", str(path))
    assert text.exit_code == 1
    assert first in text.output
    assert second in text.output
    as_json = invoke("plan", "--format", "json", str(path))
    assert as_json.exit_code == 1
    refusals = json.loads(as_json.stdout)["refusals"]
    assert [r["code"] for r in refusals] == ["unknown_recipient", "unknown_recipient"]
    assert [f"{ws.slug}: {r['message']}" for r in refusals] == [first, second]
    markdown = invoke("plan", "--format", "markdown", str(path))
    assert markdown.exit_code == 1
    assert "is no role of the config or the live workspace; did you mean 'admin'?" in (
        markdown.stdout
    )
    applied = invoke("apply", "--auto-approve", str(path))
    assert applied.exit_code == 1
    assert first in applied.output
    r = httpx.get(f"{ws.url}/usage-alerts", headers=ws.headers)
    assert r.json()["items"] == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{threshold: 0}", "4:17: usage_alerts[0].threshold: must be at least 1, not 0"),
        ("{threshold: 1001}", "4:17: usage_alerts[0].threshold: must be at most 1,000, not 1001"),
        (
            "{threshold: '80'}",
            "4:17: usage_alerts[0].threshold: must be a whole number, not the text '80'",
        ),
        (
            "{threshold: 80, channels: [sms]}",
            "4:32: usage_alerts[0].channels[0]: 'sms' is not one of the allowed values; valid: "
            "email, in_app",
        ),
        (
            "{threshold: 80, recipients: ['front desk']}",
            "4:34: usage_alerts[0].recipients[0]: 'front desk' is neither an email address nor "
            "a role name (e.g. 'ann@acme.example' or 'admin')",
        ),
    ],
)
def test_bad_alerts_are_validate_errors(tmp_path, line, message):
    path = tmp_path / "ws.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: acme}}\nusage_alerts:\n  - {line}\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:{message}" in result.output.splitlines()


def test_duplicate_threshold_is_a_validate_error(tmp_path):
    path = tmp_path / "ws.yaml"
    path.write_text(
        "version: 1\nworkspace: {slug: acme}\nusage_alerts:\n"
        "  - {threshold: 80}\n  - {threshold: 80, channels: [email]}\n"
    )
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert "usage_alerts[1].threshold: duplicate usage alert '80'" in result.output


def test_the_sandbox_caps_usage_alerts(setup):
    ws, _ = setup
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        for threshold in range(1, 101):
            assert c.post("/usage-alerts", json={"threshold": threshold}).status_code == 201
        r = c.post("/usage-alerts", json={"threshold": 101})
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "a workspace holds at most 100 usage alerts; it holds 100 and this request adds 1"
    )
