"""#21 item 7: environment values after a rotation and after normalization, against the sandbox.

A config sets fields from ``${env:…}`` (a webhook URL's path, a company name inside longer
text, a member email, a blocked caller's number, a URL-shaped value inside a URL); it is
applied, then every variable gets a new value and every command runs: plan (text, json,
markdown, ``-o``), show of the saved plan (text, json, markdown, html), apply of it, drift
(text, json, markdown, html) after someone else edits a field set from the environment, adopt,
export, and a stale saved plan's error. Neither the old nor the new value of any variable, nor
any normalized spelling of one (case-folded, E.164, percent-encoded or -decoded, a URL's
password), appears anywhere; the live side of each field set from the environment shows
``(live value hidden: set from ${env:NAME}, sha256:…)``; and the saved plan still applies,
the rotated member and number included.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import httpx
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.test_envmask_rotation import FIELDS
from engine.test_envmask_rotation import spellings as any_spelling
from wscfg.cli import cli
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace

OLD = {
    "HOOKPATH": "PathSecretVal7Qk2",
    "CO": "AcmeSecretCo55",
    "MGR": "Mgr.Person77",
    "PHONE_SUFFIX": "0100199",
    "DBURL": "postgres://admin:Pw0rdOld9x@db/prod",
}
NEW = {
    "HOOKPATH": "NewPathVal8Zz3",
    "CO": "OtherSecretCo66",
    "MGR": "Ops.Leader88",
    "PHONE_SUFFIX": "0100277",
    "DBURL": "postgres://admin:Pw0rdNew7y@db/prod",
}

CONFIG = """\
version: 1
workspace: {{slug: {slug}, business_profile: {{company: "Clinic ${{env:CO}} Ltd"}}}}
members:
  - {{email: {owner}, role: owner}}
  - {{email: "${{env:MGR}}@clinic.example", role: admin}}
webhooks:
  - name: crm
    url: https://hooks.example.com/${{env:HOOKPATH}}/x
    events: [call.completed]
  - name: db
    url: "https://hooks.example.com/in?from=${{env:DBURL}}"
    events: [call.completed]
blocked_callers:
  - number: "+1 (555) ${{env:PHONE_SUFFIX}}"
    note: spam
"""


def spellings(value: str) -> set[str]:
    """The spellings of ``value`` an output could show (compared in lower case)."""
    out = {value, value.casefold(), quote(value, safe=""), quote(value), quote_plus(value)}
    out |= {unquote(value), json.dumps(value)[1:-1]}
    if value.startswith("postgres://"):
        out |= {value.split(":")[2].split("@")[0], value.split("//")[1].split("@")[0]}
    if value.isdigit():  # a bare digit run can occur in a hex fingerprint: its E.164 context
        out = {f"555{value}", f"(555) {value}", f"+1555{value}"}
    return {s.lower() for s in out}


def leaks(text: str) -> list[str]:
    low = text.lower()
    return sorted(
        f"{which} {name}"
        for which, values in (("old", OLD), ("new", NEW))
        for name, value in values.items()
        for form in spellings(value)
        if form in low
    )


class Run:
    def __init__(self, tmp_path: Path) -> None:
        self.runner = CliRunner()
        self.outputs: list[tuple[str, str]] = []
        self.tmp = tmp_path

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(cli, list(args))
        self.outputs.append((" ".join(args), result.stdout + result.stderr))
        assert "Traceback" not in result.output
        assert result.exit_code == code, (args, result.output)
        return result

    def file(self, name: str) -> str:
        text = (self.tmp / name).read_text()
        self.outputs.append((name, text))
        return text

    def leaks(self) -> list[str]:
        return [f"{where}: {hit}" for where, text in self.outputs for hit in leaks(text)]


@pytest.fixture
def rotated(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Run, SandboxWorkspace, Path]:
    """A workspace the config was applied to with OLD values, the environment now at NEW."""
    owner = "owner@rotation.example"
    ws = sandbox.new_workspace("rot", owner=owner)
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(CONFIG.format(slug=ws.slug, owner=owner))
    for name, value in OLD.items():
        monkeypatch.setenv(name, value)
    run = Run(tmp_path)
    run("apply", "--auto-approve", str(cfg))
    rows = sandbox.item_rows(ws.slug)
    # the old values really are live (so the searches below are not vacuous)
    assert OLD["HOOKPATH"] in rows[("webhooks", "crm")]
    assert "+15550100199" in rows[("blocked_callers", "+15550100199")]
    assert ("members", "mgr.person77@clinic.example") in rows
    for name, value in NEW.items():
        monkeypatch.setenv(name, value)
    run.outputs.clear()
    return run, ws, cfg


def live_marker(name: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(f"(live value hidden: set from ${{env:{name}}}, sha256:") + "[0-9a-f]{16}\\)"
    )


def test_plan_after_a_rotation_masks_both_sides_in_every_format(
    rotated: tuple[Run, SandboxWorkspace, Path],
) -> None:
    run, _ws, cfg = rotated
    text = run("plan", str(cfg)).stdout
    lines = [line.strip() for line in text.splitlines()]
    company = next(line for line in lines if line.startswith("business_profile.company:"))
    assert re.fullmatch(
        r'business_profile\.company: "\(live value hidden: set from \$\{env:CO\}, '
        r'sha256:[0-9a-f]{16}\)" → "Clinic \(from \$\{env:CO\}, sha256:[0-9a-f]{16}\) Ltd"',
        company,
    )
    url = next(line for line in lines if line.startswith("url:") and "HOOKPATH" in line)
    assert live_marker("HOOKPATH").search(url.split(" → ")[0])
    assert "https://hooks.example.com/(from ${env:HOOKPATH}, sha256:" in url.split(" → ")[1]
    # the rotated number and member: created masked, the old ones deleted masked
    assert any(
        live_marker("PHONE_SUFFIX").fullmatch(line.removeprefix("- blocked caller "))
        for line in lines
    )
    assert any(
        live_marker("MGR").fullmatch(line.removeprefix("- member ").split(" (")[0])
        for line in lines
        if line.startswith("- member ")
    )
    assert "+ blocked caller +1555(from ${env:PHONE_SUFFIX}, sha256:" in text

    doc = json.loads(run("plan", "--format", "json", str(cfg)).stdout)
    changes = {(c["kind"], c["action"]): c for c in doc["targets"][0]["changes"]}
    hook = next(
        c for c in doc["targets"][0]["changes"] if c["kind"] == "webhooks" and c["key"] == "crm"
    )
    assert live_marker("HOOKPATH").fullmatch(hook["before"]["url"])
    assert live_marker("HOOKPATH").fullmatch(hook["fields"][0]["before"])
    assert live_marker("PHONE_SUFFIX").fullmatch(changes[("blocked_callers", "delete")]["key"])
    assert live_marker("MGR").fullmatch(changes[("members", "delete")]["key"])

    run("plan", "--format", "markdown", str(cfg))
    run("plan", "-o", "p.json", str(cfg))
    saved = run.file("p.json")
    assert live_marker("HOOKPATH").search(saved)
    for fmt in ("text", "json", "markdown"):
        run("show", "--format", fmt, "p.json")
    assert run.leaks() == []

    # the saved plan applies, the masked rotated deletes put back from the live workspace
    applied = run("apply", "--auto-approve", "p.json").stdout
    assert "- blocked caller (live value hidden: set from ${env:PHONE_SUFFIX}, sha256:" in applied
    assert "- member (live value hidden: set from ${env:MGR}, sha256:" in applied
    assert run.leaks() == []
    run("plan", "--detailed-exitcode", str(cfg))  # exit 0: nothing left to do
    keys = set(_rows(rotated))
    assert ("blocked_callers", "+15550100277") in keys
    assert ("blocked_callers", "+15550100199") not in keys
    assert ("members", "ops.leader88@clinic.example") in keys
    assert ("members", "mgr.person77@clinic.example") not in keys


def _rows(rotated: tuple[Run, SandboxWorkspace, Path]) -> dict[tuple[str, str], str]:
    _run, ws, _cfg = rotated
    with httpx.Client(base_url=ws.url, headers=ws.headers, timeout=30) as client:
        snapshot = client.get("/settings").json()
    rows = {("members", m["email"]): json.dumps(m) for m in snapshot["members"]}
    rows |= {("blocked_callers", b["number"]): json.dumps(b) for b in snapshot["blocked_callers"]}
    return rows


def test_drift_of_a_field_set_from_the_environment_is_masked_in_every_format(
    rotated: tuple[Run, SandboxWorkspace, Path], sandbox: SandboxServer
) -> None:
    """Someone else (another key) edits the webhook, keeping the old value in it: drift shows
    the live side masked whatever it holds."""
    run, ws, cfg = rotated
    run("apply", "--auto-approve", str(cfg))  # now at NEW (its output is searched too)
    other = {"Authorization": f"Bearer {sandbox.issue_key(workspace=ws.slug, name='zapier')}"}
    with httpx.Client(base_url=ws.url, headers=other, timeout=30) as client:
        hook = client.get("/webhooks/crm")
        hook.raise_for_status()
        edited = f"https://hooks.example.com/{NEW['HOOKPATH']}/{OLD['HOOKPATH']}/y"
        answer = client.patch(
            "/webhooks/crm",
            json={"url": edited},
            headers={"If-Match": hook.headers["ETag"], "User-Agent": "ui"},
        )
        assert answer.status_code == 200, answer.text
    found = json.loads(run("drift", "--format", "json", str(cfg), code=2).stdout)
    [item] = [i for i in found["drift"] if i["kind"] == "webhooks"]
    assert live_marker("HOOKPATH").fullmatch(item["live"])
    assert item["config"].startswith("https://hooks.example.com/(from ${env:HOOKPATH}, sha256:")
    for fmt in ("text", "markdown", "html"):
        out = run("drift", "--format", fmt, str(cfg), code=2).stdout
        assert "live value hidden: set from ${env:HOOKPATH}" in out
    run("drift", "--format", "json", "-o", "drift.json", str(cfg), code=2)
    assert "live value hidden: set from ${env:HOOKPATH}" in run.file("drift.json")
    for fmt in ("text", "json", "markdown", "html"):
        out = run("show", "--format", fmt, "drift.json").stdout
        assert "live value hidden: set from ${env:HOOKPATH}" in out
    assert run.leaks() == []


def test_adopt_after_a_rotation_refuses_the_old_identities_and_quotes_nothing(
    rotated: tuple[Run, SandboxWorkspace, Path],
) -> None:
    run, _ws, cfg = rotated
    before = cfg.read_text()
    result = run("adopt", "--dry-run", str(cfg), code=1)
    said = result.stdout + result.stderr
    assert "cannot adopt webhooks[crm].url: its value comes from an environment variable" in said
    assert re.search(
        r"cannot adopt members\[\(live value hidden: set from \$\{env:MGR\}, sha256:[0-9a-f]{16}"
        r"\)\]: its identity has the shape of one the config sets from the environment",
        said,
    )
    assert re.search(r"cannot adopt blocked_callers\[\(live value hidden: set from", said)
    assert cfg.read_text() == before
    assert run.leaks() == []


def test_a_stale_saved_plan_names_the_rotated_item_masked(
    rotated: tuple[Run, SandboxWorkspace, Path],
) -> None:
    """The rotated number is deleted by someone else between plan and apply: the refusal
    names it, masked (the fingerprint finds no live item to put back)."""
    run, ws, cfg = rotated
    run("plan", "-o", "p.json", str(cfg))
    with httpx.Client(base_url=ws.url, headers=ws.headers, timeout=30) as client:
        assert client.delete("/blocked-callers/+15550100199").status_code == 204
    result = run("apply", "--auto-approve", "p.json", code=1)
    assert re.fullmatch(
        "Error: the saved plan is stale: these items changed since it was made, nothing was "
        f"written:\n  - {ws.slug}: "
        r"blocked_callers\[\(live value hidden: set from \$\{env:PHONE_SUFFIX\}, "
        r"sha256:[0-9a-f]{16}\)\] is already as this plan would leave it"
        "\nRun `wscfg plan` again and review it.\n",
        result.stderr,
    )
    assert run.leaks() == []


def test_export_writes_references_for_normalized_spellings(
    rotated: tuple[Run, SandboxWorkspace, Path],
) -> None:
    """The platform keeps an email lower-cased: export still writes ${env:MGR} there."""
    run, ws, cfg = rotated
    run("apply", "--auto-approve", str(cfg))  # its output is searched too
    text = run("export", "--workspace", ws.slug).stdout
    assert "- email: ${env:MGR}@clinic.example" in text
    assert "url: https://hooks.example.com/${env:HOOKPATH}/x" in text
    assert "company: Clinic ${env:CO} Ltd" in text
    # a 7-digit suffix is shorter than what export references in any text (8), but an E.164
    # number ending in it is written with the reference
    assert "blocked_callers:\n  - number: +1555${env:PHONE_SUFFIX}\n    note: spam\n" in text
    run("export", "--workspace", ws.slug, "-o", "exported.yaml")
    run.file("exported.yaml")
    run("plan", "--detailed-exitcode", "exported.yaml")  # exit 0: it plans to zero changes
    assert run.leaks() == []


# --- the property, against the sandbox --------------------------------------------------------


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(sorted(FIELDS)))
def test_a_rotated_value_never_shows_against_the_sandbox(
    sandbox: SandboxServer, data: st.DataObject, kind: str
) -> None:
    """A random value in a random kind of field is applied to a real workspace, the variable
    rotated to another random value, then plan (text, json, markdown, -o), show and apply of
    the saved plan run: neither value shows in any spelling, and the plan after is empty."""
    body, values = FIELDS[kind]
    old = data.draw(values, label="old")
    new = data.draw(values.filter(lambda v: v.lower() != old.lower()), label="new")
    ws = sandbox.new_workspace("prop", owner="owner@acme.example")
    runner = CliRunner()
    shown: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg, saved = Path(tmp) / "ws.yaml", Path(tmp) / "p.json"
        head = "" if body.startswith("workspace:") else "workspace: {slug: acme}\n"
        cfg.write_text(("version: 1\n" + head + body).replace("slug: acme", f"slug: {ws.slug}"))

        def run(value: str, *args: str, code: int = 0) -> None:
            env = {"WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": ws.key, "V": value}
            result = runner.invoke(cli, list(args), env=env)
            assert result.exit_code == code, (args, result.output)
            shown.append(result.stdout + result.stderr)

        run(old, "apply", "--auto-approve", str(cfg))
        shown.clear()  # before the rotation the old value is the environment's: masked too,
        run(new, "plan", str(cfg))  # but only the outputs after it are checked below
        run(new, "plan", "--format", "json", str(cfg))
        run(new, "plan", "--format", "markdown", str(cfg))
        run(new, "plan", "-o", str(saved), str(cfg))
        shown.append(saved.read_text())
        for fmt in ("text", "json", "markdown"):
            run(new, "show", "--format", fmt, str(saved))
        run(new, "apply", "--auto-approve", str(saved))
        run(new, "plan", "--detailed-exitcode", str(cfg))
    forms = any_spelling(old) | any_spelling(new)
    assert [f for text in shown for f in forms if f in text.lower()] == []
