"""Reports that fit, end to end on a small real fleet (issue 22, item 5): the same change in
every workspace is one row; the PR comment (stdout) keeps whole rows within its budget and
says the full report is in the job summary, which gets all of it; drift -o writes it all."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.engine import render

from .test_drift import JANE, SECRET, config, patch, ui_key


@pytest.fixture
def fleet(sandbox, monkeypatch, tmp_path):
    agency = sandbox.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("DRIFT_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    slugs = [f"{agency.name}-{n}" for n in range(5)]
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name, owner=JANE)
        (tmp_path / f"{slug}.yaml").write_text(config(slug))
    assert CliRunner().invoke(cli, ["apply", "--auto-approve", str(tmp_path)]).exit_code == 0
    return slugs


def test_the_comment_folds_and_points_at_the_job_summary(fleet, monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for slug in fleet:  # the same change everywhere, and one more in the first two
        (tmp_path / f"{slug}.yaml").write_text(config(slug, sales="#123456"))
    for slug in fleet[:2]:
        text = (tmp_path / f"{slug}.yaml").read_text().replace("#ff0000", "#00ffff")
        (tmp_path / f"{slug}.yaml").write_text(text)
    monkeypatch.setattr(render, "MARKDOWN_BUDGET", 1200)  # a comment too small for it all
    got = CliRunner().invoke(cli, ["plan", "--format", "markdown", str(tmp_path)])
    assert got.exit_code == 0, got.output
    comment = got.stdout
    assert len(comment) <= 1200
    assert comment.rstrip().endswith("; the full plan: in this run's job summary._")
    whole = summary.read_text()
    assert render.CUT_NOTE not in whole
    assert (
        f"`{fleet[2]}`, `{fleet[3]}`, `{fleet[4]}` | 0 | 1 | 0 | changes (the same in 3 " in whole
    )
    assert "<summary>3 workspaces, the same plan: Plan: 0 to add, 1 to change" in whole
    for line in comment.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_drift_out_writes_every_row_and_stdout_fits(fleet, sandbox, monkeypatch, tmp_path):
    for slug in fleet:
        url = f"{sandbox.url}/v1/workspaces/{slug}"
        patch(f"{url}/call-tags/spam", ui_key(sandbox, slug), {"color": "#00ff00"}, "Mozilla/5.0")
    monkeypatch.setattr(render, "MARKDOWN_BUDGET", 900)
    runner = CliRunner()
    got = runner.invoke(cli, ["drift", "--format", "markdown", str(tmp_path)])
    assert got.exit_code == 2, got.output
    assert len(got.stdout) <= 901
    assert render.CUT_NOTE in got.stdout
    out = runner.invoke(cli, ["drift", "--format", "markdown", "-o", "d.md", str(tmp_path)])
    assert out.exit_code == 2
    full = (tmp_path / "d.md").read_text()
    assert render.CUT_NOTE not in full
    assert sum(line.startswith(f"| `{fleet[0][:-2]}") for line in full.splitlines()) == 5


def test_a_job_summary_already_near_its_limit_is_not_pushed_over_it(fleet, monkeypatch, tmp_path):
    """GitHub drops a step's whole summary past 1 MiB: what earlier commands of the step wrote
    counts. The report is added whole when it fits what is left; with too little room, not
    at all (a warning says so, and the comment does not point at the job summary)."""
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for k, slug in enumerate(fleet):  # five plans that differ: five blocks
        (tmp_path / f"{slug}.yaml").write_text(config(slug, sales=f"#12345{k}"))
    whole = CliRunner().invoke(cli, ["plan", "--format", "markdown", str(tmp_path)])
    assert whole.exit_code == 0, whole.output
    report = summary.read_text()
    assert 1000 < len(report.encode()) < 4000
    monkeypatch.setattr(render, "MARKDOWN_BUDGET", 800)  # the comment: cut, says where
    for left in (len(report.encode()), len(report.encode()) - 1, 999):
        summary.write_text("x" * (render.JOB_SUMMARY_BYTES - left))
        got = CliRunner().invoke(cli, ["plan", "--format", "markdown", str(tmp_path)])
        assert got.exit_code == 0, got.output
        assert summary.stat().st_size <= render.JOB_SUMMARY_BYTES
        added = summary.read_text()[render.JOB_SUMMARY_BYTES - left :]
        if left == len(report.encode()):
            assert added == report  # it fits exactly: whole
            assert got.stdout.rstrip().endswith("the full plan: in this run's job summary._")
        elif left == 999:
            assert added == ""
            assert got.stderr.splitlines()[-1] == (
                "Warning: the report was not added to the job summary ($GITHUB_STEP_SUMMARY "
                f"holds {render.JOB_SUMMARY_BYTES - 999} bytes of its {render.JOB_SUMMARY_BYTES})"
            )
            assert got.stdout.rstrip().endswith(f"the full plan: {render.FULL_PLAN}._")
        else:  # one byte short: folded to fit
            assert added.startswith("### wscfg plan") and render.CUT_NOTE in added
            assert got.stdout.rstrip().endswith(f"the full plan: {render.FULL_PLAN}._")
