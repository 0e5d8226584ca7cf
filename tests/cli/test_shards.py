"""Sharded CI runs merge: `wscfg plan|drift … --shard i/n --format json -o part-i.json` in each
job, then `wscfg show part-*.json` renders the one fleet report the unsharded run makes (in the
same order: each part records where its workspaces stand), in every format. A missing,
duplicated or mismatched part is an error naming it. The CLI against a real sandbox over HTTP,
with an agency key."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.engine import render
from wscfg.engine.seal import CHANGED, seal_document
from wscfg.sandbox.testing import unique

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agency"
CLINICS = 12
DRIFTED = (1, 4, 5, 9)  # someone recoloured a call tag in the UI
RENAMED = (2, 4, 7)  # the config renames these clinics after the first apply


@pytest.fixture(scope="module")
def fleet(sandbox, tmp_path_factory):
    """An applied agency of 12 clinics, then drift in four and config changes in three."""
    agency = sandbox.new_agency()
    folder = tmp_path_factory.mktemp("shards")
    shutil.copy(EXAMPLES / "base.yaml", folder / "base.yaml")
    prefix = unique("shard")
    slugs = [f"{prefix}-{i:02d}" for i in range(CLINICS)]
    for i, slug in enumerate(slugs):
        sandbox.create_workspace(slug, agency=agency.name, owner="ops@smilegroup.example")
        (folder / f"{slug}.yaml").write_text(
            "version: 1\nextends: base.yaml\n"
            f"vars: {{clinic: Clinic {i}, city: Town {i}, timezone: America/Chicago, "
            f"manager: manager{i}@smilegroup.example}}\n"
            f"workspace: {{slug: {slug}}}\n"
        )
    env = {
        "WSCFG_SERVER": sandbox.url,
        "WSCFG_TOKEN": agency.key,
        "SMILE_WEBHOOK_SECRET": "smile-secret-value",
    }
    applied = CliRunner(env=env).invoke(cli, ["apply", "--auto-approve", str(folder)])
    assert applied.exit_code == 0, applied.output
    for i in DRIFTED:  # a person in the UI (wscfg's own key would count as wscfg)
        got = CliRunner().invoke(
            cli,
            ["sandbox", "key", "--db", sandbox.db_url, "--workspace", slugs[i], "--as-user",
             "ops@smilegroup.example"],
        )  # fmt: skip
        assert got.exit_code == 0, got.output
        headers = {"Authorization": f"Bearer {got.stdout.strip()}", "User-Agent": "Mozilla/5.0"}
        httpx.patch(
            f"{sandbox.url}/v1/workspaces/{slugs[i]}/call-tags/spam",
            json={"color": "#ff0000"},
            headers=headers,
        ).raise_for_status()
    for i in RENAMED:
        path = folder / f"{slugs[i]}.yaml"
        path.write_text(path.read_text().replace(f"Clinic {i},", f"Renamed Clinic {i},"))
    return env, folder, slugs


@pytest.fixture
def run(fleet, monkeypatch, tmp_path):
    env, _folder, _ = fleet
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Any:
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return invoke


def parts(run, folder: Path, command: str, n: int, *extra: str) -> list[str]:
    """Run every shard of ``command`` as a CI job would; the part files' names."""
    names = []
    for i in range(1, n + 1):
        name = f"{command}-{i}-of-{n}.json"
        out = run(command, folder, "--shard", f"{i}/{n}", "--format", "json", "-o", name, *extra)
        assert out.exit_code in (0, 2), out.output
        names.append(name)
    return names


def untimed(text: str) -> str:
    return re.sub(r"<time [^>]*>[^<]*</time> ", "", text)


def normal(doc: dict[str, Any]) -> dict[str, Any]:
    """A plan or drift document without its part record (absent from an unsharded run) and
    its seal (a merged document is a report, not sealed)."""
    return {k: v for k, v in doc.items() if k not in ("run", "seal")}


def resealed(doc: dict[str, Any], path: str) -> None:
    """Write ``doc`` sealed with this run's plan key: a part genuinely made that way."""
    Path(path).write_text(json.dumps(seal_document(doc, os.environ["WSCFG_TOKEN"].encode())))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_plan_parts_merge_into_the_unsharded_plan(run, fleet, n):
    _env, folder, _ = fleet
    names = parts(run, folder, "plan", n)
    for fmt in ("text", "markdown"):
        whole = run("plan", folder, "--format", fmt)
        merged = run("show", *reversed(names), "--format", fmt)
        assert merged.exit_code == 0, merged.output
        assert merged.stdout == whole.stdout, fmt
    whole = json.loads(run("plan", folder, "--format", "json").stdout)
    merged_json = run("show", *names, "--format", "json")
    assert merged_json.exit_code == 0, merged_json.output
    merged = json.loads(merged_json.stdout)
    assert normal(merged) == normal(whole)
    assert "seal" not in merged  # a report of the parts, not a plan to apply
    said = merged_json.stderr.splitlines()
    assert [line.split(": ", 1)[0] for line in said] == names
    assert all(": the plan file's seal verified (plan key id " in line for line in said)
    assert merged["run"]["shard"] == merged["run"]["shards"] == 1
    assert merged["run"]["targets"] == CLINICS
    assert sorted(merged["run"]["order"].values()) == list(range(CLINICS))
    assert len(merged["targets"]) == CLINICS


@pytest.mark.parametrize("n", [1, 3, 4])
def test_drift_parts_merge_into_the_unsharded_report(run, fleet, n):
    _env, folder, slugs = fleet
    names = parts(run, folder, "drift", n)
    for fmt in ("text", "markdown", "html"):
        whole = run("drift", folder, "--format", fmt)
        assert whole.exit_code == 2
        merged = run("show", *reversed(names), "--format", fmt)
        assert merged.exit_code == 0, merged.output
        # the html page of a live run says when it was generated; show's, from saved parts, not
        assert untimed(merged.stdout) == untimed(whole.stdout), fmt
    whole_doc = json.loads(run("drift", folder, "--format", "json").stdout)
    merged_doc = json.loads(run("show", *names, "--format", "json").stdout)
    assert normal(merged_doc) == normal(whole_doc)
    assert sorted({d["workspace"] for d in merged_doc["drift"]}) == sorted(
        slugs[i] for i in DRIFTED
    )


def test_a_fleet_refusal_is_worked_out_over_the_whole_fleet(run, fleet, tmp_path):
    """Four of twelve clinics deleting items is a third of the fleet (over the 25% share):
    the merged report refuses it, as the unsharded plan does, whatever each shard saw."""
    _env, folder, slugs = fleet
    copy = tmp_path / "cfg"
    shutil.copytree(folder, copy)
    for i in (0, 3, 6, 8):  # these declare two call tags: existing-patient would be deleted
        (copy / f"{slugs[i]}.yaml").write_text(
            f"version: 1\nworkspace: {{slug: {slugs[i]}}}\ncall_tags:\n"
            '  - {name: new-patient, color: "#1f8a70"}\n  - {name: spam, color: "#6b7280"}\n'
        )
    whole = run("plan", copy, "--format", "json")
    assert whole.exit_code == 1
    codes = [r["code"] for r in json.loads(whole.stdout)["refusals"]]
    assert codes == ["fleet_delete_share"]
    names = []
    for i in (1, 2):  # stdout, as `--format json > part-i.json` keeps it even when refused
        out = run("plan", copy, "--shard", f"{i}/2", "--format", "json", "--allow-mass-changes")
        Path(f"r-{i}.json").write_text(out.stdout)
        names.append(f"r-{i}.json")
    merged = run("show", *names, "--format", "json")
    assert merged.exit_code == 0, merged.output
    # the parts were made with --allow-mass-changes: the merged plan allows it as well
    assert json.loads(merged.stdout)["refusals"] == []
    names = []
    for i in (1, 2):
        out = run("plan", copy, "--shard", f"{i}/2", "--format", "json")
        Path(f"s-{i}.json").write_text(out.stdout)
        names.append(f"s-{i}.json")
    merged_doc = json.loads(run("show", *names, "--format", "json").stdout)
    assert merged_doc["refusals"] == json.loads(whole.stdout)["refusals"]
    assert run("show", *names).stdout == run("plan", copy).stdout


def test_missing_duplicated_and_mismatched_parts_are_named(run, fleet, tmp_path):
    _env, folder, _ = fleet
    plans = parts(run, folder, "plan", 3)
    drifts = parts(run, folder, "drift", 3)

    def fails(*names: str) -> str:
        result = run("show", *names)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        return result.stderr.strip().splitlines()[-1]

    assert fails(plans[0], plans[2]) == (
        f"Error: missing shard 2/3: no part file given for it (got {plans[0]}, {plans[2]})"
    )
    assert fails(plans[0]) == (
        f"Error: missing shards 2/3, 3/3: no part file given for them (got {plans[0]})"
    )
    shutil.copy(plans[1], "copy.json")
    assert fails(*plans, "copy.json") == (
        f"Error: copy.json and {plans[1]} are both shard 2/3: give each part once"
    )
    assert fails(plans[0], drifts[1], plans[2]) == (
        f"Error: {drifts[1]} is a drift report but {plans[0]} is a plan: merge the parts "
        "of one run only"
    )
    other = parts(run, folder, "plan", 2)
    assert fails(plans[0], other[1], plans[2]) == (
        f"Error: {other[1]} is shard 2/2 but {plans[0]} is shard 1/3: the shard counts disagree"
    )
    # another config (one clinic renamed in this checkout only)
    copy = tmp_path / "cfg"
    shutil.copytree(folder, copy)
    changed = sorted(copy.glob("shard-*.yaml"))[0]
    changed.write_text(changed.read_text().replace("Town", "City"))
    run("plan", copy, "--shard", "2/3", "--format", "json", "-o", "moved.json")
    assert fails(plans[0], "moved.json", plans[2]) == (
        f"Error: moved.json is not from the same run as {plans[0]}: the config (or the "
        "${env:…} values it uses) differs"
    )
    # a part edited after it was written: its seal says so, naming it
    doc = json.loads(Path(plans[1]).read_text())
    doc["server"] = "https://elsewhere.example"
    Path("edited.json").write_text(json.dumps(doc))
    assert fails(plans[0], "edited.json", plans[2]) == (
        f"Error: edited.json: {CHANGED}; make the plan again and review it"
    )
    # parts made against another server, with another allowance, by another wscfg
    for key, value, what in (
        ("server", "https://elsewhere.example", "server"),
        ("version", 99, "format version"),
        ("allowances", {"mass_changes": True}, "allowances"),
    ):
        doc = json.loads(Path(plans[1]).read_text())
        doc[key] = value
        resealed(doc, "other.json")
        message = fails(plans[0], "other.json", plans[2])
        if key == "version":
            assert message.startswith("Error: other.json: plan file version 99 is not supported")
        else:
            assert message == (
                f"Error: other.json is not from the same run as {plans[0]}: the {what} differs"
            )
    # a workspace moved into another shard's part, or dropped
    doc = json.loads(Path(plans[0]).read_text())
    moved = json.loads(Path(plans[1]).read_text())["targets"][0]
    doc["targets"].append(moved)
    resealed(doc, "stray.json")
    assert fails("stray.json", plans[1], plans[2]) == (
        f"Error: stray.json holds workspace {moved['workspace']}, which is not in shard 1/3: "
        "the part is damaged"
    )
    # a workspace dropped from a part: from its targets alone, or from its run record too
    big = max(plans, key=lambda name: len(json.loads(Path(name).read_text())["targets"]))
    rest = [name for name in plans if name != big]
    doc = json.loads(Path(big).read_text())
    dropped = doc["targets"].pop()["workspace"]
    resealed(doc, "short.json")
    assert fails("short.json", *rest) == (
        "Error: short.json: its workspaces and its run record disagree"
    )
    del doc["run"]["order"][dropped]
    resealed(doc, "short.json")
    in_order = ", ".join("short.json" if name == big else name for name in plans)
    assert fails("short.json", *rest) == (
        f"Error: the parts hold {CLINICS - 1} workspace(s) but the run selected {CLINICS}: a "
        f"part is incomplete or damaged ({in_order})"
    )
    # an unsharded plan is no part; a damaged drift part is named
    run("plan", folder, "-o", "whole.json")
    assert fails("whole.json", plans[1]) == (
        "Error: whole.json was not made with --shard: only the parts of one sharded run merge "
        "(`wscfg plan … --shard i/n --format json -o part-i.json`)"
    )
    # both shapes, whichever shard the drifted clinics hash to: a drift entry edited (its
    # fingerprint no longer matches) and a field of the wrong type
    drifted = next(
        i for i, name in enumerate(drifts) if json.loads(Path(name).read_text())["drift"]
    )
    for index, field, value, what in (
        (drifted, "drift", "edited", '"drift" entry 1 is not drift this report found'),
        (0, "workspaces", 7, '"workspaces" is not a list of workspace names'),
        (2, "errors", None, '"errors" is not a list'),
        (1, "known", "1", '"known" is not a count'),
    ):
        doc = json.loads(Path(drifts[index]).read_text())
        if field == "drift":
            doc["drift"][0]["live"] = value
        else:
            doc[field] = value
        given = [("bad-drift.json" if i == index else name) for i, name in enumerate(drifts)]
        Path("bad-drift.json").write_text(json.dumps(doc))  # edited: its seal says so
        assert fails(*given) == (
            "Error: bad-drift.json: the drift part was changed after it was written; make it again"
        )
        resealed(doc, "bad-drift.json")  # made so, by a wscfg with this plan key
        assert fails(*given) == f"Error: bad-drift.json: the drift report is damaged ({what})"
    # an edit that leaves the report consistent (one drift entry dropped, its counts too) is
    # caught by the seal alone; without a seal, a part is refused too
    doc = json.loads(Path(drifts[drifted]).read_text())
    doc["drift"].pop()
    given = [("bad-drift.json" if i == drifted else name) for i, name in enumerate(drifts)]
    Path("bad-drift.json").write_text(json.dumps(doc))
    assert fails(*given) == (
        "Error: bad-drift.json: the drift part was changed after it was written; make it again"
    )
    del doc["seal"]
    Path("bad-drift.json").write_text(json.dumps(doc))
    assert fails(*given) == (
        "Error: bad-drift.json: the drift part was changed after it was written (it has no "
        "seal); make it again"
    )
    said = run("show", *drifts).stderr.splitlines()
    assert [line.split(": ", 1)[0] for line in said] == drifts
    assert all(": the drift part's seal verified (plan key id " in line for line in said)
    assert (
        fails("missing.json", plans[1])
        == "Error: cannot read missing.json: No such file or directory"
    )


def test_a_plan_has_no_html_and_one_drift_report_shows_as_saved(run, fleet):
    _env, folder, _ = fleet
    run("plan", folder, "-o", "plan.json")
    html = run("show", "plan.json", "--format", "html")
    assert html.exit_code == 1
    assert html.stderr.splitlines()[-1] == (
        "Error: --format html shows drift reports; show a plan as text, json or markdown"
    )
    run("drift", folder, "--format", "json", "-o", "drift.json")
    text = run("show", "drift.json")
    assert text.exit_code == 0
    assert text.stdout == run("drift", folder).stdout


def test_show_writes_the_whole_report_to_the_job_summary_and_the_comment_fits(
    run, fleet, monkeypatch, tmp_path
):
    """In the merge job, `wscfg show part-*.json --format markdown` gives $GITHUB_STEP_SUMMARY
    the whole report when it fits (1 MiB), as `plan` and `drift` do, while stdout (the PR
    comment or issue body) keeps to its budget and says the rest is in the job summary."""
    _env, folder, _ = fleet
    budget = render.MARKDOWN_BUDGET
    for command, where in (("plan", "the full plan"), ("drift", "the full report")):
        names = parts(run, folder, command, 3)
        unbudgeted = run("show", *names, "--format", "markdown").stdout
        summary = tmp_path / f"{command}-summary.md"
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        monkeypatch.setattr(render, "MARKDOWN_BUDGET", 900)  # a comment too small for it all
        got = run("show", *names, "--format", "markdown")
        monkeypatch.delenv("GITHUB_STEP_SUMMARY")
        monkeypatch.setattr(render, "MARKDOWN_BUDGET", budget)
        assert got.exit_code == 0, got.output
        assert len(got.stdout) <= 901
        assert got.stdout.rstrip().endswith(f"; {where}: in this run's job summary._")
        assert summary.read_text() == unbudgeted


def test_parts_made_with_another_plan_key_are_named_as_such(run, fleet, monkeypatch):
    """A job given another WSCFG_PLAN_KEY (a CI secret set in one job only) digests the same
    config differently: the part is named, and the plan key said to differ, for drift parts
    as for plans."""
    _env, folder, _ = fleet
    for command in ("drift", "plan"):
        first = parts(run, folder, command, 2)[0]
        monkeypatch.setenv("WSCFG_PLAN_KEY", "another plan key")
        out = run(command, folder, "--shard", "2/2", "--format", "json", "-o", "other.json")
        assert out.exit_code in (0, 2), out.output
        monkeypatch.delenv("WSCFG_PLAN_KEY")
        got = run("show", first, "other.json")
        assert got.exit_code == 1
        what = {
            "drift": "plan key (WSCFG_PLAN_KEY, else WSCFG_TOKEN; it keys the config digest)",
            "plan": "plan key",
        }[command]
        assert got.stderr.strip().splitlines()[-1] == (
            f"Error: other.json is not from the same run as {first}: the {what} differs"
        )
