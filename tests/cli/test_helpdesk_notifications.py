"""The helpdesk's email-only notifications: workspace defaults and member overrides inside
``notifications``, planned and applied against a real sandbox; ``in_app`` on one of them is a
validate error saying these control email only."""

from __future__ import annotations

import httpx
import pytest

from wscfg.model import HELPDESK

from .runner import invoke


@pytest.fixture
def setup(served_workspace):
    return served_workspace


def test_defaults_and_overrides_apply_and_converge(setup):
    ws, path = setup
    # a new workspace sends every helpdesk notification by email
    live = httpx.get(f"{ws.url}/notifications", headers=ws.headers).json()
    assert {k: live[k] for k in HELPDESK} == {key: {"email": True} for key in HELPDESK}

    path.write_text(
        f"version: 1\nworkspace: {{slug: {ws.slug}}}\n"
        "notifications:\n  assigned_tickets: {email: false}\n"
        "members:\n  - {email: owner@x.example, role: owner}\n"
        "  - email: desk@x.example\n    role: member\n"
        "    notifications: {assigned_reminders: {email: false}}\n"
    )
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    # a default nobody wrote yet: the platform's, not drift
    assert (
        "      assigned_tickets.email: true → false  (replaces the platform's default)"
        in plan.stdout.splitlines()
    )
    assert "Plan: 1 to add, 1 to change, 0 to delete." in plan.stdout
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0

    live = httpx.get(f"{ws.url}/notifications", headers=ws.headers).json()
    assert live["assigned_tickets"] == {"email": False}
    assert live["assigned_inquiries"] == {"email": True}
    member = httpx.get(f"{ws.url}/members/desk@x.example", headers=ws.headers).json()
    assert member["notifications"] == {"assigned_reminders": {"email": False}}
    again = invoke("plan", "--detailed-exitcode", str(path))
    assert again.exit_code == 0, again.stdout


def test_in_app_is_a_validate_error(tmp_path):
    path = tmp_path / "ws.yaml"
    path.write_text(
        "version: 1\nworkspace: {slug: acme}\n"
        "notifications:\n  assigned_tickets: {email: true, in_app: false}\n"
        "members:\n  - email: a@x.example\n    role: owner\n"
        "    notifications: {notes_in_assigned_conversations: {in_app: true}}\n"
    )
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        f"{path}:4:35: notifications.assigned_tickets.in_app: assigned_tickets controls email "
        "notifications only; in-app visibility is not a setting (use {email: true} or "
        "{email: false})"
    ) in lines
    assert (
        f"{path}:8:55: members[0].notifications.notes_in_assigned_conversations.in_app: "
        "notes_in_assigned_conversations controls email notifications only; in-app visibility "
        "is not a setting (use {email: true} or {email: false})"
    ) in lines
    assert lines[-1] == "Error: 2 problems in 1 file (1 file checked)"


def test_the_sandbox_refuses_in_app_for_a_helpdesk_notification(setup):
    ws, _ = setup
    r = httpx.patch(
        f"{ws.url}/notifications",
        headers=ws.headers,
        json={"assigned_tickets": {"email": True, "in_app": True}},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
