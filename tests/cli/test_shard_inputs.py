"""Hostile inputs to sharded runs (issue 22, item 4), no server needed: `--shard` values that
are not a share, and part files given to `wscfg show` that are not what `wscfg drift|plan
--shard i/n --format json` writes (an absurd shard count, a file given twice under two
names, a huge file, a device, JSON nested deeper than any report). Each is a clean error that
names the file or the value, exit 1, never a hang or a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.engine.seal import seal_document
from wscfg.engine.shards import MAX_SHARDS
from wscfg.workflow import planfile

KEY = b"the plan key of these jobs"


def sealed(doc: dict[str, Any]) -> str:
    """``doc`` as a part file, sealed as `wscfg drift --shard … --format json` seals it."""
    return json.dumps(seal_document(doc, KEY))


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("WSCFG_") or name == "CI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CI", "false")
    monkeypatch.setenv("WSCFG_PLAN_KEY", KEY.decode())
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme.yaml").write_text("version: 1\nworkspace: {slug: acme}\n")
    return tmp_path


def fails(*args: str) -> tuple[str, str]:
    """(stdout, the last line of stderr) of a command that must exit 1 without a traceback."""
    got = CliRunner().invoke(cli, list(args))
    assert got.exit_code == 1, got.output
    assert got.exception is None or isinstance(got.exception, SystemExit), got.exception
    assert "Traceback" not in got.output
    return got.stdout, got.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "value",
    ["", " 1/3", "1 /3", "1/3 ", "+1/3", "1_0/30", "١/٣", "1/3/4", "1.0/3", "/", "1/", "a/b"],
)
def test_a_shard_that_is_not_i_of_n_is_refused(here, value):
    for command in ("plan", "drift", "apply"):
        _out, said = fails(command, "acme.yaml", "--shard", value)
        assert said == (
            f"Error: Invalid value for --shard: --shard takes i/n, e.g. 1/4 (got {value!r})"
        )


@pytest.mark.parametrize(
    "value", ["0/0", "3/2", "0/3", "1/0", f"1/{MAX_SHARDS + 1}", "1/" + "9" * 30]
)
def test_a_share_out_of_range_is_refused(here, value):
    _out, said = fails("plan", "acme.yaml", "--shard", value)
    assert said == (
        f"Error: Invalid value for --shard: --shard {value}: need 1 <= i <= n <= {MAX_SHARDS}"
    )


def drift_part(shard: int, shards: int, workspaces: list[str], **run: Any) -> dict[str, Any]:
    return {
        "format": "wscfg-drift",
        "version": 1,
        "server": "https://api.example",
        "run": {
            "command": "drift",
            "shard": shard,
            "shards": shards,
            "targets": len(workspaces),
            "config": "hmac-sha256:00",
            "select": [],
            "order": {w: n for n, w in enumerate(workspaces)},
            "baseline": None,
            **run,
        },
        "workspaces": workspaces,
        "drift": [],
        "known": 0,
        "errors": [],
        "violations": [],
        "known_violations": 0,
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shards", [MAX_SHARDS + 1, 10**20])
def test_a_part_with_an_absurd_shard_count_is_damaged_not_a_hang(here, shards):
    Path("d-1.json").write_text(sealed(drift_part(1, shards, [])))
    _out, said = fails("show", "d-1.json")
    assert said == (
        f'Error: d-1.json: its "run" record is damaged ("shards" is not 1…{MAX_SHARDS})'
    )


def test_a_part_given_twice_under_two_names_is_named(here):
    Path("d-1.json").write_text(json.dumps(drift_part(1, 1, [])))
    os.symlink("d-1.json", "link.json")
    os.mkdir("sub")
    for again in ("link.json", "./d-1.json", "sub/../d-1.json", "d-1.json"):
        _out, said = fails("show", "d-1.json", again)
        assert said == f"Error: d-1.json and {again} are the same file: give each part once"


def test_a_file_too_big_to_be_a_report_is_refused_unread(here, monkeypatch):
    monkeypatch.setattr(planfile, "MAX_FILE_BYTES", 1000)
    doc = drift_part(1, 1, [f"w{n}" for n in range(100)])
    Path("big.json").write_text(json.dumps(doc))
    assert Path("big.json").stat().st_size > 1000
    for command in (("show", "big.json"), ("apply", "big.json")):
        _out, said = fails(*command)
        assert said == (
            "Error: big.json is larger than any wscfg plan or drift report (over 1000 bytes)"
        )


def test_an_endless_device_is_refused_not_read_into_memory(here, monkeypatch):
    monkeypatch.setattr(planfile, "MAX_FILE_BYTES", 1 << 20)
    _out, said = fails("show", "/dev/zero")
    assert said == (
        "Error: /dev/zero is larger than any wscfg plan or drift report (over 1048576 bytes)"
    )


@pytest.mark.parametrize("depth", [planfile.MAX_DEPTH + 1, 990, 5000, 200_000])
@pytest.mark.parametrize("kind", ["plan", "drift", "bare"])
def test_json_nested_deeper_than_any_report_is_refused(here, depth, kind):
    deep = "[" * depth + '"x"' + "]" * depth
    if kind == "bare":
        text = deep
    else:
        if kind == "drift":
            doc = drift_part(1, 1, ["acme"])
            doc["drift"] = [{"workspace": "acme", "live": "@DEEP@"}]
        else:
            doc = {"format": "wscfg-plan", "version": 2, "targets": [{"changes": "@DEEP@"}]}
        text = json.dumps(doc).replace('"@DEEP@"', deep)
    Path("deep.json").write_text(text)
    for command in (("show", "deep.json"), ("apply", "deep.json")):
        _out, said = fails(*command)
        assert said == (
            f"Error: deep.json is not a wscfg plan or drift report (JSON nested deeper than "
            f"{planfile.MAX_DEPTH} levels)"
        )


def test_a_drift_baseline_among_the_parts_is_named_as_one(here):
    """`wscfg show drift-*.json` in a checkout also matches the committed drift-baseline.json:
    show says what that file is rather than calling it a broken plan."""
    Path("drift-shard-1.json").write_text(json.dumps(drift_part(1, 1, [])))
    Path("drift-baseline.json").write_text(
        json.dumps({"format": "wscfg-drift-baseline", "version": 1, "fingerprints": []})
    )
    for files in (["drift-baseline.json", "drift-shard-1.json"], ["drift-baseline.json"]):
        _out, said = fails("show", *files)
        assert said == (
            "Error: drift-baseline.json is a drift baseline (of known drift), not a report: give "
            "show the parts only (name them apart, e.g. drift-shard-*.json)"
        )
