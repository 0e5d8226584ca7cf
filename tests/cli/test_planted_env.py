"""Every command, run with planted environment values (the API key in WSCFG_TOKEN, a
non-secret value used in a webhook URL and a workspace name, an unrelated
AWS_SECRET_ACCESS_KEY): no value appears in stdout, stderr, plan files, markdown or exports,
as written, URL-encoded, base64-encoded or case-changed (DESIGN §6 invariant 9)."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

from click.testing import CliRunner, Result

from wscfg.cli import cli
from wscfg.sandbox.testing import SandboxServer

HOST = "Planted-Host-7c1e.example.com"
NAME = "Planted Clinic 4711"
AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY"

CONFIG = """\
version: 1
workspace: {{slug: {slug}, name: "${{env:CLINIC_NAME}}"}}
members:
  - {{email: owner@{slug}.example, role: owner}}
webhooks:
  - name: crm
    url: https://${{env:HOOK_HOST}}/hook
    events: [call.completed]
"""


def forms(value: str) -> set[str]:
    out = set()
    for v in (value, value.lower(), value.upper(), value.swapcase()):
        out |= {v, quote(v, safe=""), quote(v), base64.b64encode(v.encode()).decode()}
    return out


def test_no_command_shows_an_environment_value(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch
) -> None:
    agency = sandbox.new_agency()
    slug = f"planted-{agency.name[-8:]}"
    other = f"copy-{agency.name[-8:]}"
    for s in (slug, other):
        sandbox.create_workspace(s, agency=agency.name, owner=f"owner@{s}.example")
    env = {
        "WSCFG_SERVER": sandbox.url,
        "WSCFG_TOKEN": agency.key,
        "HOOK_HOST": HOST,
        "CLINIC_NAME": NAME,
        "AWS_SECRET_ACCESS_KEY": AWS,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(CONFIG.format(slug=slug))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"version: 1\nworkspace: {{slug: {slug}, timezone: {HOST}}}\nwebhooks:\n"
        "  - {name: h, url: 'https://${env:HOOK_HOST}.local/'}\n"
        f"  - {{name: i, url: 'https://{HOST.lower()}:0/'}}\n"
    )
    runner = CliRunner()
    results: list[tuple[str, Result]] = []

    def run(*args: str) -> Result:
        result = runner.invoke(cli, list(args))
        results.append((" ".join(args), result))
        assert "Traceback" not in result.output
        return result

    assert run("validate", str(cfg)).exit_code == 0
    assert run("validate", "--format", "json", str(cfg)).exit_code == 0
    assert run("validate", str(bad)).exit_code == 1
    assert run("validate", "--format", "json", str(bad)).exit_code == 1
    assert run("plan", str(cfg)).exit_code == 0
    assert run("plan", "--format", "json", str(cfg)).exit_code == 0
    assert run("plan", "--format", "markdown", str(cfg)).exit_code == 0
    assert run("plan", "-o", "plan.json", str(cfg)).exit_code == 0
    assert run("apply", "--auto-approve", "plan.json").exit_code == 0
    assert run("plan", "--detailed-exitcode", str(cfg)).exit_code == 0
    assert run("export", "--workspace", slug).exit_code == 0
    assert run("export", "--workspace", slug, "-o", "exported.yaml").exit_code == 0
    assert run("export", "--all", "-o", "all").exit_code == 0
    assert run("clone", "--from", slug, "--to", other, "--auto-approve").exit_code == 0
    assert run("plan", "--detailed-exitcode", "exported.yaml").exit_code == 0
    assert run("apply", "--auto-approve", "--server", "http://127.0.0.1:9", str(cfg)).exit_code == 1
    # the value really went to the platform (so the search below is not vacuous)
    assert sandbox.item_rows(slug)[("webhooks", "crm")].count(HOST) == 1

    blobs = [(f"{cmd} (stdout+stderr)", r.stdout + r.stderr) for cmd, r in results]
    files = [
        tmp_path / "plan.json",
        tmp_path / "exported.yaml",
        *sorted((tmp_path / "all").iterdir()),
    ]
    blobs += [(str(f), f.read_text()) for f in files]
    hits = [
        f"{where}: {name}"
        for where, text in blobs
        for name, value in env.items()
        if name not in ("WSCFG_SERVER",)
        for form in forms(value)
        if form in text
    ]
    assert hits == []
    assert "(from ${env:HOOK_HOST}, sha256:" in results[4][1].stdout
    assert "${env:HOOK_HOST}" in (tmp_path / "exported.yaml").read_text()
