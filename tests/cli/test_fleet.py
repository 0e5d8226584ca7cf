"""Agencies: one template across 50 sub-accounts, drift detection, isolation of a failing target,
sharding. The CLI against a real sandbox over HTTP, with an agency key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.sandbox.testing import unique

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agency"
CLINICS = 50


@pytest.fixture(scope="module")
def fleet(sandbox, tmp_path_factory):
    """An agency with 50 sub-accounts (owned by the agency's ops address) and one config file
    per clinic extending the example template, each with its own vars."""
    agency = sandbox.new_agency()
    folder = tmp_path_factory.mktemp("fleet")
    shutil.copy(EXAMPLES / "base.yaml", folder / "base.yaml")
    prefix = unique("clinic")
    slugs = [f"{prefix}-{i:02d}" for i in range(CLINICS)]
    for i, slug in enumerate(slugs):
        sandbox.create_workspace(slug, agency=agency.name, owner="ops@smilegroup.example")
        (folder / f"{slug}.yaml").write_text(
            "version: 1\nextends: base.yaml\n"
            f"vars: {{clinic: Clinic {i}, city: Town {i}, timezone: America/Chicago, "
            f"manager: manager{i}@smilegroup.example}}\n"
            f"workspace: {{slug: {slug}}}\n"
        )
    return agency, folder, slugs


@pytest.fixture
def run(sandbox, fleet, monkeypatch):
    agency, folder, _ = fleet
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("SMILE_WEBHOOK_SECRET", "smile-secret-value")
    monkeypatch.chdir(folder)

    def invoke(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


def changed_targets(table: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^(\S+)\s+\d+\s+\d+\s+\d+\s+changes$", table, re.M)}


def test_template_to_fifty_clinics_then_drift_in_three(run, sandbox, fleet):
    agency, _folder, slugs = fleet
    first = run("plan", "--detailed-exitcode", ".")
    assert first.exit_code == 2, first.output
    assert changed_targets(first.stdout) == set(slugs)
    assert f"{CLINICS} targets: {CLINICS} with changes, 0 failed" in first.stdout

    applied = run("apply", "--auto-approve", ".")
    assert applied.exit_code == 0, applied.output
    assert f"{CLINICS} of {CLINICS} workspace(s) match their configuration." in applied.stdout

    clean = run("plan", "--detailed-exitcode", ".")
    assert clean.exit_code == 0, clean.output
    assert f"{CLINICS} targets: 0 with changes, 0 failed" in clean.stdout

    drifted = [slugs[3], slugs[17], slugs[41]]
    headers = {"Authorization": f"Bearer {agency.key}"}
    for slug in drifted:  # someone clicks in the UI of three clinics
        base = f"{sandbox.url}/v1/workspaces/{slug}"
        httpx.patch(
            f"{base}/call-tags/spam", json={"color": "#ff0000"}, headers=headers
        ).raise_for_status()
    drift = run("plan", "--detailed-exitcode", "--format", "markdown", ".")
    assert drift.exit_code == 2
    rows = [line for line in drift.stdout.splitlines() if line.endswith("| changes |")]
    assert sorted(rows) == sorted(f"| `{s}` | 0 | 1 | 0 | changes |" for s in drifted)


def test_shards_split_the_fleet_without_overlap(run, fleet):
    _, _, slugs = fleet
    seen: list[str] = []
    for i in (1, 2, 3):
        result = run("plan", "--shard", f"{i}/3", ".")
        assert result.exit_code == 0, result.output
        seen += re.findall(r"^Workspace (\S+) ", result.stdout, re.M)
    assert sorted(seen) == sorted(slugs)


def test_one_failing_target_leaves_the_others_applied(run, sandbox, fleet, tmp_path):
    _agency, folder, slugs = fleet
    outsider = sandbox.new_workspace("outsider")  # not a sub-account of this agency
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(folder / "base.yaml", mixed / "base.yaml")
    chosen = slugs[:3]
    for slug in chosen:
        text = (folder / f"{slug}.yaml").read_text().replace("Clinic", "Renamed Clinic")
        (mixed / f"{slug}.yaml").write_text(text)
    (mixed / "outsider.yaml").write_text(
        (folder / f"{slugs[0]}.yaml").read_text().replace(slugs[0], outsider.slug)
    )
    result = run("apply", "--auto-approve", str(mixed))
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{outsider.slug}: error: 404") for line in lines), lines
    for slug in chosen:
        assert f"{slug}: 1 applied" in lines
    assert "3 of 4 workspace(s) match their configuration." in lines
    assert result.stderr.rstrip().endswith(
        "Error: apply stopped part-way; run `wscfg plan` to see what is left"
    )
    # The outsider's data was neither read nor written through the agency key.
    profile = httpx.get(outsider.url, headers=outsider.headers).json()
    assert "Renamed" not in profile.get("name", "")


def test_create_missing_creates_then_applies(run, sandbox, fleet, tmp_path):
    _, folder, slugs = fleet
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(folder / "base.yaml", new / "base.yaml")
    slug = f"{slugs[0]}-new"
    (new / f"{slug}.yaml").write_text(
        (folder / f"{slugs[0]}.yaml").read_text().replace(slugs[0], slug)
    )
    missing = run("plan", str(new))
    assert missing.exit_code == 1
    assert f"1 configured workspace(s) do not exist: {slug}" in missing.stderr
    created = run("apply", "--auto-approve", "--create-missing", str(new))
    assert created.exit_code == 0, created.output
    assert "Created 1 workspace(s)." in created.stderr
    assert run("plan", "--detailed-exitcode", str(new)).exit_code == 0
