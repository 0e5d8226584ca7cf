"""`apply --create-missing` under a flaky platform: every create is retried with its
Idempotency-Key, one failed create does not stop the others, any run that wrote something and
did not finish exits 3, and a 50-clinic agency converges in at most 2 runs. The CLI against a
real sandbox over HTTP; faults are injected by the sandbox itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.sandbox.testing import running_server, unique

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agency"
CLINICS = 50
# 5xx before and after the write commits, 429 and connection resets, on writes only.
FAULTS = "500=0.06,500after=0.06,429=0.05,reset=0.06,retry-after=0,methods=POST+PATCH+DELETE"


@pytest.fixture(scope="module")
def faulty():
    with running_server(faults=FAULTS + ",seed=1") as server:
        server.faults.configure(enabled=False)
        yield server


def clinics(folder: Path, n: int) -> list[str]:
    shutil.copy(EXAMPLES / "base.yaml", folder / "base.yaml")
    prefix = unique("clinic")
    slugs = [f"{prefix}-{i:02d}" for i in range(n)]
    for i, slug in enumerate(slugs):
        (folder / f"{slug}.yaml").write_text(
            "version: 1\nextends: base.yaml\n"
            f"vars: {{clinic: Clinic {i}, city: Town {i}, timezone: America/Chicago, "
            f"manager: manager{i}@smilegroup.example}}\n"
            f"workspace: {{slug: {slug}}}\n"
        )
    return slugs


@pytest.fixture
def run(faulty, tmp_path, monkeypatch):
    agency = faulty.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", faulty.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("SMILE_WEBHOOK_SECRET", "smile-secret-value")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


@pytest.mark.parametrize("seed", [1, 2])
def test_fifty_clinics_converge_in_two_runs_under_faults(faulty, run, tmp_path, seed):
    clinics(tmp_path, CLINICS)
    faulty.faults.configure(seed=seed, enabled=True)
    try:
        codes = []
        for _ in range(2):
            result = run("apply", "--auto-approve", "--create-missing", ".")
            codes.append(result.exit_code)
            assert "no Wscfg-Workspace header" not in result.output
            if result.exit_code == 0:
                break
        assert codes[-1] == 0, (codes, result.output)
        assert codes[0] in (0, 3)  # something was written: never 1 ("nothing was written")
    finally:
        faulty.faults.configure(enabled=False)
    assert faulty.faults.total > 0
    final = run("plan", "--detailed-exitcode", ".")
    assert final.exit_code == 0, final.output
    assert f"{CLINICS} targets: 0 with changes, 0 failed" in final.stdout


def tags_config(slug: str, n: int) -> str:
    lines = "".join(f"  - {{name: tag-{i}}}\n" for i in range(n))
    owner = "  - {email: ops@agency.example, role: owner}\n"
    return f"version: 1\nworkspace: {{slug: {slug}}}\nmembers:\n{owner}call_tags:\n{lines}"


def test_created_then_refused_exits_3(run, tmp_path):
    """Workspaces were created before the refusal: the run wrote something, so not exit 1."""
    old, new = unique("old"), unique("new")
    (tmp_path / "old.yaml").write_text(tags_config(old, 10))
    assert run("apply", "--auto-approve", "--create-missing", "old.yaml").exit_code == 0
    # Now the old workspace deletes 4 of its 10 tags (refused), and a new one is added.
    (tmp_path / "old.yaml").write_text(tags_config(old, 6))
    (tmp_path / "new.yaml").write_text(tags_config(new, 1))
    result = run("apply", "--auto-approve", "--create-missing", ".")
    assert result.exit_code == 3, result.output
    assert result.stderr.endswith(
        "Created 1 workspace(s).\n"
        "Error: the plan is unsafe:\n"
        f"  - {old}: deletes 4 of 10 call tags (more than 30%); pass --allow-mass-changes "
        "if intended\n"
        f"1 workspace(s) were created before this ({new}); run `wscfg plan` to see what "
        "is left\n"
    )


def test_one_failed_create_does_not_stop_the_others(faulty, run, tmp_path):
    taken, fine = unique("taken"), unique("fine")
    faulty.create_workspace(taken)  # exists, but outside this agency: the slug is taken
    (tmp_path / "taken.yaml").write_text(tags_config(taken, 1))
    (tmp_path / "fine.yaml").write_text(tags_config(fine, 1))
    result = run("apply", "--auto-approve", "--create-missing", ".")
    assert result.exit_code == 3, result.output
    err = result.stderr.splitlines()
    assert "Created 1 workspace(s)." in err
    assert (
        f"Could not create workspace {taken}: 409 Conflict: the slug '{taken}' is taken; "
        "choose another (POST " + faulty.url + "/v1/workspaces)"
    ) in err
    assert f"✓ {fine}: + call tag tag-0" in result.stdout.splitlines()
    assert f"{fine}: 1 applied" in result.stdout.splitlines()
    assert err[-1] == "Error: apply stopped part-way; run `wscfg plan` to see what is left"


def test_a_create_that_may_have_landed_exits_3(faulty, run, tmp_path):
    """Every attempt of the create commits, then answers 500: the outcome is never heard, so
    the run may have written something and must not say "nothing was written"."""
    slug = unique("unheard")
    (tmp_path / "ws.yaml").write_text(tags_config(slug, 1))
    faulty.faults.configure("500after=1,retry-after=0,methods=POST", enabled=True)
    try:
        result = run("apply", "--auto-approve", "--create-missing", "ws.yaml")
    finally:
        faulty.faults.configure(FAULTS + ",seed=1", enabled=False)
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[0] == "Created 0 workspace(s)."
    assert result.stderr.endswith(
        "Error: apply stopped part-way\n"
        f"creating {slug} may have succeeded unheard; run `wscfg plan` to see what is left\n"
    )
    # It had landed: the next run finds the workspace and finishes the job.
    again = run("apply", "--auto-approve", "--create-missing", "ws.yaml")
    assert again.exit_code == 0, again.output
    assert f"{slug}: 1 applied" in again.stdout.splitlines()
