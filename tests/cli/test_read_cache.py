"""`WSCFG_CACHE=DIR` on the command line (plan, drift, adopt…): the same output and exit code
as without it, unchanged workspaces answered `304` (the sandbox's access log), and a clear
error when DIR cannot be a folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.runner import invoke

from wscfg.sandbox.testing import SandboxServer, running_server

CONFIG = (
    "version: 1\n"
    "workspace: {{slug: {slug}, name: Clinic, timezone: UTC}}\n"
    "call_tags:\n"
    '  - {{name: a, color: "#111111"}}\n'
)


@pytest.fixture(scope="module")
def logged() -> Iterator[tuple[SandboxServer, list[str]]]:
    lines: list[str] = []
    with running_server(access_log=lines.append) as server:
        yield server, lines


@pytest.fixture
def fleet(
    logged: tuple[SandboxServer, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[list[str], str, list[str]]:
    """Two workspaces of an agency, one config each, applied; the agency key in WSCFG_TOKEN."""
    server, lines = logged
    agency = server.new_agency()
    slugs = []
    for i in range(2):
        ws = server.new_workspace(f"cli-cache-{i}", agency=agency.name)
        (tmp_path / f"{ws.slug}.yaml").write_text(CONFIG.format(slug=ws.slug))
        slugs.append(ws.slug)
    monkeypatch.setenv("WSCFG_SERVER", server.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.delenv("WSCFG_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert invoke("apply", "--auto-approve", ".").exit_code == 0
    return slugs, server.url, lines


def _snapshots(lines: list[str], since: int) -> list[str]:
    return sorted(ln.split()[2] for ln in lines[since:] if ln.split()[1].endswith("/settings"))


def test_wscfg_cache_gives_the_same_output_and_reads_304(
    fleet: tuple[list[str], str, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _slugs, _url, lines = fleet
    cold_drift = invoke("drift", ".", "--format", "json")
    cold_plan = invoke("plan", ".", "--detailed-exitcode")
    assert (cold_drift.exit_code, cold_plan.exit_code) == (0, 0)
    monkeypatch.setenv("WSCFG_CACHE", str(tmp_path / "cache"))
    first = invoke("drift", ".", "--format", "json")
    mark = len(lines)
    warm = invoke("drift", ".", "--format", "json")
    assert _snapshots(lines, mark) == ["304", "304"]
    assert first.stdout == warm.stdout == cold_drift.stdout
    assert first.stderr == warm.stderr == cold_drift.stderr
    assert warm.exit_code == 0
    mark = len(lines)
    plan = invoke("plan", ".", "--detailed-exitcode")
    assert _snapshots(lines, mark) == ["304", "304"]
    assert (plan.exit_code, plan.stdout, plan.stderr) == (0, cold_plan.stdout, cold_plan.stderr)


def test_wscfg_cache_that_is_a_file_is_an_error(
    fleet: tuple[list[str], str, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    monkeypatch.setenv("WSCFG_CACHE", str(path))
    for command in (["drift", "."], ["plan", "."], ["adopt", "--dry-run", "."]):
        got = invoke(*command)
        assert got.exit_code == 1, command
        assert got.stderr == f"Error: the cache {path} is not a folder\n", command
        assert got.stdout == ""


def test_the_cache_option_reads_304_and_gives_the_same_output(
    fleet: tuple[list[str], str, list[str]], tmp_path: Path
) -> None:
    _slugs, _url, lines = fleet
    cache = str(tmp_path / "by-flag")
    cold = invoke("drift", ".", "--format", "json")
    for command in (["drift", "--format", "json"], ["plan", "--detailed-exitcode"]):
        invoke(*command, "--cache", cache, ".")
        mark = len(lines)
        warm = invoke(*command, "--cache", cache, ".")
        assert warm.exit_code == 0, warm.output
        assert _snapshots(lines, mark) == ["304", "304"], command
    warm = invoke("drift", "--cache", cache, "--format", "json", ".")
    assert (warm.stdout, warm.stderr) == (cold.stdout, cold.stderr)
    assert (
        sorted(p.stat().st_mode & 0o777 for p in Path(cache).rglob("*") if p.is_file())[-1] == 0o600
    )


def test_the_cache_option_wins_over_wscfg_cache(
    fleet: tuple[list[str], str, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    monkeypatch.setenv("WSCFG_CACHE", str(blocked))
    assert invoke("plan", "--cache", str(tmp_path / "ok"), ".").exit_code == 0
    for command in (["drift", "."], ["plan", "."], ["adopt", "--dry-run", "."], ["apply", "."]):
        got = invoke(*command[:1], "--cache", str(blocked), *command[1:])
        assert got.exit_code == 1, command
        assert got.stderr == f"Error: the cache {blocked} is not a folder\n", command
        assert got.stdout == ""
