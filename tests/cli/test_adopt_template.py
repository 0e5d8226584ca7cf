"""`wscfg adopt` with a template (`extends`): a value the template declared becomes an
override in the target's own file (an item deleted in the UI: `$remove: true`); the template
is not touched, and `plan` is then empty."""

from __future__ import annotations

import httpx
import pytest

from .runner import invoke

JANE = "jane@acme.example"

BASE = """\
# Shared by every clinic.
version: 1
call_tags:
  - {name: spam, color: "#ff0000"}
  - {name: old, color: "#000000"}
notifications:
  billing: {email: true, in_app: true}
"""


def target(slug: str) -> str:
    return f"""\
version: 1
extends: base.yaml
workspace: {{slug: {slug}, name: Acme, timezone: UTC}}   # this clinic
members:
  - {{email: {JANE}, role: owner}}
"""


@pytest.fixture
def setup(sandbox, monkeypatch, tmp_path):
    ws = sandbox.new_workspace(owner=JANE)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "ws.yaml").write_text(target(ws.slug))
    run = invoke
    got = run("apply", "--auto-approve", "ws.yaml")
    assert got.exit_code == 0, got.output
    return ws, tmp_path, run


def test_template_values_become_overrides(setup):
    ws, tmp, run = setup
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
        c.delete("/call-tags/old").raise_for_status()
        billing = {"billing": {"email": False, "in_app": True}}
        c.patch("/notifications", json=billing).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -3,3 +3,11 @@\n"
        f" workspace: {{slug: {ws.slug}, name: Acme, timezone: UTC}}   # this clinic\n"
        " members:\n"
        f"   - {{email: {JANE}, role: owner}}\n"
        "+call_tags:\n+  - name: old\n+    $remove: true\n"
        "+  - name: spam\n+    color: '#00ff00'\n"
        "+notifications:\n+  billing:\n+    email: false\n"
    )
    assert got.stderr.splitlines() == [
        "Note: call_tags[old] comes from base.yaml:5: removed with `$remove: true` in ws.yaml",
        "Note: call_tags[spam].color comes from base.yaml:4: written as an override in ws.yaml",
        "Note: notifications.billing.email comes from base.yaml:7: written as an override in "
        "ws.yaml",
        "ws.yaml: Adopted 3 change(s); 0 refused.",
    ]
    assert (tmp / "base.yaml").read_text() == BASE
    plan = run("plan", "ws.yaml", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_template_env_value_is_refused(setup, monkeypatch):
    ws, tmp, run = setup
    monkeypatch.setenv("ADOPT_SPAM_COLOR", "#ff0000")
    base = BASE.replace('"#ff0000"', '"${env:ADOPT_SPAM_COLOR}"')
    (tmp / "base.yaml").write_text(base)
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
    before = (tmp / "ws.yaml").read_text()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 1
    assert got.stdout == ""
    assert got.stderr.splitlines()[-2:] == [
        "Error: cannot adopt call_tags[spam].color: its value comes from an environment "
        "variable (${env:…}); adopting would write that value into the file in clear: "
        "change the variable, or edit the file by hand",
        "ws.yaml: Adopted 0 change(s); 1 refused.",
    ]
    assert (tmp / "ws.yaml").read_text() == before
    assert (tmp / "base.yaml").read_text() == base


def test_into_template_edits_the_template(setup):
    ws, tmp, run = setup
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
    before = (tmp / "ws.yaml").read_text()
    got = run("adopt", "ws.yaml", "--into-template")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/base.yaml\n+++ b/base.yaml\n@@ -1,7 +1,7 @@\n"
        " # Shared by every clinic.\n version: 1\n call_tags:\n"
        '-  - {name: spam, color: "#ff0000"}\n+  - {name: spam, color: "#00ff00"}\n'
        '   - {name: old, color: "#000000"}\n notifications:\n'
        "   billing: {email: true, in_app: true}\n"
    )
    assert got.stderr.splitlines() == [
        "base.yaml is used by 0 other target(s) in PATHS and its folder; only this target changes.",
        "base.yaml: Adopted 1 change(s); 0 refused.",
    ]
    assert (tmp / "ws.yaml").read_text() == before
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


def test_into_template_refuses_a_fleet_change(sandbox, setup):
    ws, tmp, run = setup
    other = sandbox.new_workspace(owner=JANE)
    (tmp / "other.yaml").write_text(target(other.slug))
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
    got = run("adopt", "ws.yaml", "--into-template", "--only", "call_tags:spam")
    assert got.exit_code == 1
    assert got.stdout == ""
    assert got.stderr.splitlines()[-2:] == [
        "base.yaml is used by 1 other target(s) in PATHS and its folder: "
        f"{other.slug}; adopting into it changes them too.",
        "Error: refusing to edit base.yaml: 1 other target(s) use it; give "
        "--allow-fleet-change to change them too, or adopt without --into-template (an "
        "override in the target's own file)",
    ]
    assert (tmp / "base.yaml").read_text() == BASE


def test_into_template_with_allow_fleet_change(sandbox, setup):
    ws, tmp, run = setup
    other = sandbox.new_workspace(owner=JANE)
    (tmp / "other.yaml").write_text(target(other.slug))
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/call-tags/spam", json={"color": "#00ff00"}).raise_for_status()
    got = run("adopt", "ws.yaml", "--into-template", "--allow-fleet-change")
    assert got.exit_code == 0, got.output
    assert got.stderr.splitlines() == [
        "base.yaml is used by 1 other target(s) in PATHS and its folder: "
        f"{other.slug}; adopting into it changes them too.",
        "base.yaml: Adopted 1 change(s); 0 refused.",
    ]
    assert (tmp / "base.yaml").read_text() == BASE.replace(
        '{name: spam, color: "#ff0000"}', '{name: spam, color: "#00ff00"}'
    )
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


def test_a_template_value_unset_live_is_refused_as_an_override(setup):
    """The workspace lost a field the template declares (billing.in_app): an override in the
    target cannot unset it, so adopt says so instead of claiming it; --into-template can."""
    ws, tmp, run = setup
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.patch("/notifications", json={"billing": {"email": False}}).raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 1
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -3,3 +3,6 @@\n"
        f" workspace: {{slug: {ws.slug}, name: Acme, timezone: UTC}}   # this clinic\n"
        " members:\n"
        f"   - {{email: {JANE}, role: owner}}\n"
        "+notifications:\n+  billing:\n+    email: false\n"
    )
    assert got.stderr.splitlines() == [
        "Note: notifications.billing.email comes from base.yaml:7: written as an override in "
        "ws.yaml",
        "Error: cannot adopt notifications.billing.in_app: the workspace has no value for it "
        "and an override cannot unset the value base.yaml:7 declares: adopt it with "
        "--into-template, or remove it there by hand",
        "ws.yaml: Adopted 1 change(s); 1 refused.",
    ]
    assert (tmp / "base.yaml").read_text() == BASE
    got = run("adopt", "ws.yaml", "--into-template")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/base.yaml\n+++ b/base.yaml\n@@ -4,4 +4,4 @@\n"
        '   - {name: spam, color: "#ff0000"}\n   - {name: old, color: "#000000"}\n'
        " notifications:\n"
        "-  billing: {email: true, in_app: true}\n+  billing: {email: true}\n"
    )
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


def test_an_item_the_template_also_declares_becomes_a_remove_marker(setup):
    """The target overrides spam's color; spam is deleted in the UI. Removing the target's
    item would leave the template's (and plan would create it again): it becomes
    `$remove: true`."""
    ws, tmp, run = setup
    (tmp / "ws.yaml").write_text(
        target(ws.slug) + 'call_tags:\n  - {name: spam, color: "#00ff00"}   # ours\n'
    )
    assert run("apply", "--auto-approve", "ws.yaml").exit_code == 0
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.delete("/call-tags/spam").raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -4,4 +4,4 @@\n"
        " members:\n"
        f"   - {{email: {JANE}, role: owner}}\n"
        " call_tags:\n"
        '-  - {name: spam, color: "#00ff00"}   # ours\n'
        "+  - {name: spam, $remove: true}      # ours\n"  # the comment keeps its column
    )
    assert got.stderr.splitlines() == [
        "Note: call_tags[spam] comes from a template it extends: removed with `$remove: true` "
        "in ws.yaml",
        "ws.yaml: Adopted 1 change(s); 0 refused.",
    ]
    assert (tmp / "base.yaml").read_text() == BASE
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0


def test_a_block_item_replaced_by_a_remove_marker_keeps_the_comment_below_it(setup):
    ws, tmp, run = setup
    (tmp / "ws.yaml").write_text(
        target(ws.slug) + "call_tags:\n"
        "  - name: spam\n"
        '    color: "#00ff00"\n'
        "  # our own tags\n"
        '  - {name: sales, color: "#1f8a70"}\n'
    )
    assert run("apply", "--auto-approve", "ws.yaml").exit_code == 0
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        c.delete("/call-tags/spam").raise_for_status()
    got = run("adopt", "ws.yaml")
    assert got.exit_code == 0, got.output
    assert got.stdout == (
        "--- a/ws.yaml\n+++ b/ws.yaml\n@@ -4,7 +4,6 @@\n"
        " members:\n"
        f"   - {{email: {JANE}, role: owner}}\n"
        " call_tags:\n"
        "-  - name: spam\n"
        '-    color: "#00ff00"\n'
        "+  - {name: spam, $remove: true}\n"  # styled like the list's last item
        "   # our own tags\n"
        '   - {name: sales, color: "#1f8a70"}\n'
    )
    assert run("plan", "ws.yaml", "--detailed-exitcode").exit_code == 0
