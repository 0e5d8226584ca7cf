"""Invitations, honestly: the plan shows each declared member's live state, cancelling an
invitation reads differently from removing a member, and re-sending expired invitations is a
per-workspace policy (an export with an expired invitation plans to zero changes). The CLI
against a real sandbox over HTTP, on a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wscfg.sandbox.testing import running_server

from .runner import invoke


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)


@pytest.fixture(scope="module")
def clocked():
    clock = Clock()
    with running_server(invite_ttl=3600, clock=clock) as server:
        yield server, clock


@pytest.fixture
def setup(clocked, monkeypatch, tmp_path):
    server, clock = clocked
    ws = server.new_workspace(owner="owner@x.example")
    monkeypatch.setenv("WSCFG_SERVER", server.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    return server, clock, ws, tmp_path / "ws.yaml"


def members(slug: str, *emails: str, extra: str = "") -> str:
    lines = "".join(f"  - {{email: {e}, role: member}}\n" for e in emails)
    return (
        f"version: 1\nworkspace: {{slug: {slug}}}\n{extra}members:\n"
        f"  - {{email: owner@x.example, role: owner}}\n{lines}"
    )


def test_invitation_lifecycle_in_the_plan(setup):
    server, clock, ws, path = setup
    path.write_text(members(ws.slug, "a@x.example", "b@x.example"))
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    server.accept_invitation(ws.slug, "a@x.example")
    clock.advance(hours=2)  # b's invitation expires

    path.write_text(members(ws.slug, "a@x.example", "b@x.example", "c@x.example"))
    plan = invoke("plan", str(path))
    assert plan.exit_code == 0
    assert plan.stdout.splitlines()[1:] == [
        f"  + member c@x.example (invite)   (from {path}:7)",
        '      role: "member"',
        f"  ~ member b@x.example (resend expired invitation)   (from {path}:6)",
        "  Note: members in the config: 2 joined; 1 invitation expired (b@x.example)",
        "  Note: expired invitations are re-sent (invitations.resend_expired: true)",
        "  Plan: 1 to add, 1 to change, 0 to delete.",
    ]
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0

    path.write_text(members(ws.slug, "b@x.example"))
    plan = invoke("plan", str(path))
    assert plan.stdout.splitlines()[1:] == [
        "  - member a@x.example (remove active member)",
        "  - member c@x.example (cancel pending invitation)",
        "  Note: members in the config: 1 joined; 1 invited, not joined yet (b@x.example)",
        "  Plan: 0 to add, 0 to change, 2 to delete.",
    ]


def test_resend_expired_false_and_the_export_round_trip(setup):
    _, clock, ws, path = setup
    path.write_text(members(ws.slug, "b@x.example"))
    assert invoke("apply", "--auto-approve", str(path)).exit_code == 0
    clock.advance(hours=2)
    path.write_text(members(ws.slug, "b@x.example", extra="invitations: {resend_expired: false}\n"))
    plan = invoke("plan", "--detailed-exitcode", str(path))
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.splitlines()[1:] == [
        "  Note: members in the config: 1 joined; 1 invitation expired (b@x.example)",
        "  Note: expired invitations are left as they are (invitations.resend_expired: false)",
        "  No changes. The live workspace matches the configuration.",
    ]
    exported = path.with_name("exported.yaml")
    assert invoke("export", "--workspace", ws.slug, "-o", str(exported)).exit_code == 0
    assert "invitations:\n  resend_expired: false\n" in exported.read_text()
    again = invoke("plan", "--detailed-exitcode", str(exported))
    assert again.exit_code == 0, again.output
