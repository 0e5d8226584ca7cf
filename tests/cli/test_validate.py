"""`wscfg validate`: output formats, exit codes, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wscfg.cli import cli

ROOT = Path(__file__).resolve().parents[2]
ENV = {"ACME_WEBHOOK_SECRET": "cli-secret-1", "SMILE_WEBHOOK_SECRET": "cli-secret-2"}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_valid_examples_print_a_summary() -> None:
    code, out, err = invoke("validate", "examples/workspace.yaml", "examples/agency/", env=ENV)
    assert (code, out, err) == (0, "5 files valid: 4 targets, 1 template\n", "")


def test_errors_are_located_and_quoted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nworkspace:\n  slug: acme\n  timezone: Europe/Pariss\n")
    code, out, err = invoke("validate", str(bad))
    assert code == 1
    assert out == ""
    assert err == (
        f"{bad}:4:13: workspace.timezone: 'Europe/Pariss' is not an IANA time zone; did you mean "
        "'Europe/Paris'?\n"
        "      timezone: Europe/Pariss\n"
        "                ^\n"
        "Error: 1 problem in 1 file (1 file checked)\n"
    )


def test_json_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nworkspace: {slug: acme, nmae: x}\n")
    code, out, err = invoke("validate", "--format", "json", str(bad))
    assert code == 1 and err == ""
    assert json.loads(out) == {
        "valid": False,
        "summary": "1 problem in 1 file (1 file checked)",
        "files": [str(bad)],
        "targets": [],
        "templates": [],
        "diagnostics": [
            {
                "file": str(bad),
                "line": 2,
                "column": 25,
                "path": "workspace.nmae",
                "message": "unknown key 'nmae'; did you mean 'name'?",
            }
        ],
        "warnings": [],
    }
    code, out, _ = invoke("validate", "--format", "json", "examples/agency", env=ENV)
    assert code == 0
    assert json.loads(out)["targets"][0] == {
        "file": "examples/agency/harbor.yaml",
        "workspace": "smile-harbor",
    }


def test_missing_paths_and_usage() -> None:
    code, _, err = invoke("validate", "does/not/exist.yaml")
    assert code == 1
    assert err == (
        "does/not/exist.yaml: no such file or directory\n"
        "Error: 1 problem in 1 file (0 files checked)\n"
    )
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1  # usage errors exit 1: 2 means "changes present"
    assert result.stderr.startswith("Usage: ") and "PATHS..." in result.stderr


def test_unexpected_errors_never_show_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import wscfg.config.validate as v

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(v, "check_paths", boom)
    code, _, err = invoke("validate", "examples/workspace.yaml")
    assert code == 1
    assert "Traceback" not in err
    assert err == (
        "Error: internal error (RuntimeError); rerun with --debug for details and please report "
        "it.\n"
    )
    with pytest.raises(RuntimeError):
        CliRunner().invoke(cli, ["--debug", "validate", "x.yaml"], catch_exceptions=False)


def test_secret_values_never_printed(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(
        "version: 1\nworkspace: {slug: t, name: '${env:LONG_ONE}'}\n"
        "webhooks: [{name: h, url: 'http://x.example.com', secret: '${env:HOOK}'}]\n"
    )
    env = {"LONG_ONE": "n" * 130, "HOOK": "super-secret-hook-value"}
    for fmt in ("text", "json"):
        code, out, err = invoke("validate", "--format", fmt, str(f), env=env)
        assert code == 1
        assert "super-secret" not in out + err and "n" * 130 not in out + err
