"""Fleet safety: the fleet delete share is a refusal in plan and apply; one unsafe target
refuses the whole fleet unless --skip-unsafe applies the safe ones (exit 3). The CLI against a
real sandbox over HTTP, with an agency key."""

from __future__ import annotations

import pytest

from wscfg.sandbox.testing import unique

from .runner import invoke


def config(slug: str, tags: list[str]) -> str:
    lines = "".join(f"  - {{name: {t}}}\n" for t in tags)
    return f"version: 1\nworkspace: {{slug: {slug}}}\ncall_tags:\n{lines}"


@pytest.fixture
def fleet(sandbox, tmp_path, monkeypatch):
    """Five sub-accounts holding call tag `keep`, then a change: all add `new`, the first two
    also delete `keep` (2 of 5 deleting is more than the default 25%)."""
    agency = sandbox.new_agency()
    prefix = unique("fs")
    slugs = [f"{prefix}-{i}" for i in range(5)]
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name, owner="ops@agency.example")
        (tmp_path / f"{slug}.yaml").write_text(config(slug, ["keep"]))
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.chdir(tmp_path)
    assert invoke("apply", "--auto-approve", ".").exit_code == 0
    for i, slug in enumerate(slugs):
        (tmp_path / f"{slug}.yaml").write_text(config(slug, ["new"] if i < 2 else ["keep", "new"]))
    return slugs


def fleet_refusal(slugs: list[str]) -> str:
    return (
        f"  ✗ fleet: 2 of 5 workspaces would delete items (more than 25%: {slugs[0]}, "
        f"{slugs[1]}); pass --allow-mass-changes if intended\n"
    )


def test_plan_shows_the_fleet_delete_share_and_exits_1(fleet):
    plan = invoke("plan", ".")
    assert plan.exit_code == 1
    assert plan.stdout.endswith("Apply will refuse this plan (1 refusal):\n" + fleet_refusal(fleet))
    assert plan.stderr.endswith("Error: apply would refuse this plan (1 refusal, listed above)\n")
    # A higher share given to plan (as it would be to apply) allows it.
    assert invoke("plan", ".", "--fleet-delete-share", "0.5").exit_code == 0


def test_one_unsafe_target_refuses_the_whole_fleet(fleet):
    refused = invoke("apply", "--auto-approve", ".")
    assert refused.exit_code == 1
    assert refused.stderr.endswith(
        "Error: the plan is unsafe:\n  - fleet: 2 of 5 workspaces would delete items (more than "
        f"25%: {fleet[0]}, {fleet[1]}); pass --allow-mass-changes if intended\n"
    )
    assert "✓" not in refused.stdout  # nothing was written
    again = invoke("plan", ".", "--fleet-delete-share", "1")
    assert "5 targets: 5 with changes, 0 failed; 5 to add, 0 to change, 2 to delete." in (
        again.stdout
    )


def test_skip_unsafe_applies_the_safe_targets_and_exits_3(fleet):
    result = invoke("apply", "--auto-approve", "--skip-unsafe", ".")
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert f"Apply will skip 2 workspace(s) (--skip-unsafe): {fleet[0]}, {fleet[1]}" in lines
    for slug in fleet[2:]:
        assert f"✓ {slug}: + call tag new" in lines
        assert f"{slug}: 1 applied" in lines
    for slug in fleet[:2]:
        assert f"{slug}: skipped (apply would refuse it; see above)" in lines
        assert f"✓ {slug}: + call tag new" not in lines
    assert "3 of 5 workspace(s) match their configuration." in lines
    assert result.stderr.endswith(f"Error: skipped 2 unsafe workspace(s): {fleet[0]}, {fleet[1]}\n")
    after = invoke("plan", ".", "--fleet-delete-share", "1")
    assert "5 targets: 2 with changes, 0 failed; 2 to add, 0 to change, 2 to delete." in (
        after.stdout
    )


def test_skip_unsafe_given_to_plan_is_recorded_and_applied(fleet, tmp_path):
    plan = invoke("plan", ".", "--skip-unsafe", "--detailed-exitcode", "-o", "plan.json")
    assert plan.exit_code == 2, plan.output
    assert f"Apply will skip 2 workspace(s) (--skip-unsafe): {fleet[0]}, {fleet[1]}" in (
        plan.stdout.splitlines()
    )
    result = invoke("apply", "plan.json", "--auto-approve")
    assert result.exit_code == 3, result.output
    assert f"{fleet[0]}: skipped (apply would refuse it; see above)" in result.stdout.splitlines()
    assert f"{fleet[2]}: 1 applied" in result.stdout.splitlines()
