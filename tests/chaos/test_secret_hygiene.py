"""Secret hygiene (issue 6 §6; DESIGN §6.5): every command, with a webhook secret and an API
key set, plain and with --debug, on success and on failure paths; then a search of
everything that was written for the secret values and the key: zero hits.

Searched: stdout and stderr of every command, the sandbox server's own log, saved plan
files, exported YAML, the audit log (GET …/audit), and the raw bytes of the sandbox's
database files (main file, WAL and shared memory). The secrets are searched in plain,
JSON-escaped, URL-encoded, base64 and hex forms. tests/cli/test_plan_apply.py checks the
plan/apply happy path the same way; this test covers every command and the error paths.
"""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli
from wscfg.model import secret_fingerprint
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, served

from .checks import cli_env

SECRET = "whsec-HYGIENE-7f3a9c1e5b2d4a60-never-print"
SECRET_2 = "whsec-ROTATED-0c9b8a7f6e5d4c3b-never-print"
CONFIG = """\
version: 1
workspace: {{slug: {slug}, name: Hygiene}}
manage: {{call_tags: additive}}
call_tags:
  - {{name: lead, color: "#112233"}}
webhooks:
  - name: crm
    url: https://hooks.example.com/hygiene
    events: [call.completed]
    filters: {{tags: [lead]}}
    secret: ${{env:HYGIENE_SECRET}}
"""


def forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [
        raw,
        quote(value, safe="").encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


class Record:
    """Everything the commands produced, to search at the end."""

    def __init__(self) -> None:
        self.blobs: list[tuple[str, bytes]] = []

    def add(self, name: str, data: bytes | str) -> None:
        self.blobs.append((name, data.encode() if isinstance(data, str) else data))

    def hits(self, needles: list[str]) -> list[str]:
        out = []
        for name, blob in self.blobs:
            for needle in needles:
                for form in forms(needle):
                    if form in blob:
                        out.append(f"{name} holds {needle[:12]}… ({form[:16]!r})")
        return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`wscfg --debug sandbox serve` as a process of its own, its log kept."""
    db = tmp_path / "sandbox.db"
    argv = ["--debug", "sandbox", "serve", "--db", str(db), "--port", "0"]
    with served(argv, tmp_path / "server.log") as (_proc, url):
        yield url, db


def test_no_command_ever_shows_or_stores_a_secret_or_the_key(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, db = server
    rec = Record()
    base_env = cli_env(url, "unset", HYGIENE_SECRET=SECRET)

    runner = CliRunner()

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
        proc: bool = False,
    ) -> str:
        """Run a command plainly, then again with --debug; return the plain run's stdout.
        In-process (fast) unless ``proc``: then as `python -m wscfg` with its real streams."""
        outputs = []
        for debug in ((), ("--debug",)):
            argv = [*debug, *args]
            name = " ".join(["wscfg", *argv])
            if proc:
                done = subprocess.run(
                    [sys.executable, "-m", "wscfg", *argv],
                    env=env or base_env,
                    cwd=tmp_path,
                    capture_output=True,
                    timeout=120,
                )
                code, out, err = done.returncode, done.stdout, done.stderr
            else:
                result = runner.invoke(cli, argv, env=env or base_env)
                code, out, err = result.exit_code, result.stdout_bytes, result.stderr_bytes
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    err += repr(result.exception).encode()  # an escaped exception: searched too
                    code = -1
            rec.add(name + " (stdout)", out)
            rec.add(name + " (stderr)", err)
            if not debug:  # --debug shows tracebacks by design; they are searched too
                assert b"Traceback" not in out + err, name
            assert code in ok, (name, code, err[-2000:])
            outputs.append(out.decode())
        return outputs[0]

    def init(*args: str) -> str:  # prints a new key, by design: not searched
        done = subprocess.run(
            [sys.executable, "-m", "wscfg", "sandbox", "init", "--db", str(db), *args],
            env=base_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    agency_key = init("--agency", "Hygiene")
    for slug in ("hygiene", "hygiene-copy"):
        init("--workspace", slug, "--parent", "Hygiene")
    env = {**base_env, "WSCFG_TOKEN": agency_key}
    # init with the key and the secret set: its output holds only the *new* key (the --debug
    # run fails: the agency exists by then)
    run("sandbox", "init", "--db", str(db), "--agency", "Other", env=env, ok=(0, 1), proc=True)

    cfg = tmp_path / "ws.yaml"
    cfg.write_text(CONFIG.format(slug="hygiene"))
    plan_file = tmp_path / "plan.json"
    run("validate", str(cfg), env=env, proc=True)
    run("validate", "--format", "json", str(cfg), env=env)
    for fmt in ("text", "json", "markdown"):
        run("plan", "--format", fmt, str(cfg), env=env)
    run("plan", "--detailed-exitcode", str(cfg), env=env, ok=(2,))
    run("plan", "-o", str(plan_file), str(cfg), env=env, proc=True)
    rec.add("plan.json", plan_file.read_bytes())
    # a saved plan with a changed secret is refused
    run("apply", "--auto-approve", str(plan_file), env={**env, "HYGIENE_SECRET": SECRET_2}, ok=(1,))
    # the server refuses the webhook (its tag vanished after the plan): a failure path
    with httpx.Client(
        base_url=f"{url}/v1/workspaces/hygiene", headers={"Authorization": f"Bearer {agency_key}"}
    ) as c:
        c.post("/call-tags", json={"name": "lead", "color": "#112233"}).raise_for_status()
    run("plan", "-o", str(plan_file), str(cfg), env=env)
    with httpx.Client(
        base_url=f"{url}/v1/workspaces/hygiene", headers={"Authorization": f"Bearer {agency_key}"}
    ) as c:
        c.delete("/call-tags/lead").raise_for_status()
    out = run("apply", "--auto-approve", str(plan_file), env=env, ok=(1, 3), proc=True)
    assert "✗" in out
    # apply the config (twice: the second --debug run has nothing to do), then the plan file
    run("apply", "--auto-approve", str(cfg), env=env)
    run("plan", "-o", str(plan_file), str(cfg), env={**env, "HYGIENE_SECRET": SECRET_2})
    rec.add("plan.json (rotation)", plan_file.read_bytes())
    run(
        "apply",
        "--auto-approve",
        str(plan_file),
        env={**env, "HYGIENE_SECRET": SECRET_2},
        ok=(0, 1),
    )  # the --debug run finds the plan stale (applied)
    run("apply", "--auto-approve", str(cfg), env=env)  # rotate back: the secret is sent again
    # export and clone
    exported = tmp_path / "exported.yaml"
    run("export", "--workspace", "hygiene", "-o", str(exported), env=env, proc=True)
    rec.add("exported.yaml", exported.read_bytes())
    run("export", "--workspace", "hygiene", env=env)
    run("export", "--all", "-o", str(tmp_path / "all"), env=env)
    for f in sorted((tmp_path / "all").glob("*.yaml")):
        rec.add(f"export --all {f.name}", f.read_bytes())
    run("clone", "--from", "hygiene", "--to", "hygiene-copy", "--auto-approve", env=env, proc=True)
    # failures: a revoked key, an unreachable server
    bad = {**env, "WSCFG_TOKEN": "wscfg_" + "0" * 40}
    run("plan", str(cfg), env=bad, ok=(1,))
    run("apply", "--auto-approve", str(cfg), env=bad, ok=(1,))
    run(
        "export",
        "--workspace",
        "hygiene",
        env={**env, "WSCFG_SERVER": "http://127.0.0.1:9"},
        ok=(1,),
    )

    # the audit log through the API, and the raw database files
    with httpx.Client(
        base_url=f"{url}/v1/workspaces", headers={"Authorization": f"Bearer {agency_key}"}
    ) as c:
        for slug in ("hygiene", "hygiene-copy"):
            audit = c.get(f"/{slug}/audit", params={"limit": "5000"}).raise_for_status()
            rec.add(f"GET /{slug}/audit", audit.content)
            assert any(e["kind"] == "webhooks" for e in audit.json()["items"]), "nothing audited?"
    for f in sorted(tmp_path.glob("sandbox.db*")):
        rec.add(f.name, f.read_bytes())
    rec.add("server.log", (tmp_path / "server.log").read_bytes())

    # the searched places really were written, and hold the fingerprint rather than the value
    names = [n for n, _ in rec.blobs]
    assert {"plan.json", "exported.yaml", "sandbox.db", "server.log"} <= set(names), names
    assert len(names) > 60
    blobs = dict(rec.blobs)
    for value in (SECRET, SECRET_2):  # the secrets were set and sent: only fingerprints remain
        assert secret_fingerprint(value).encode() in blobs["sandbox.db"] + blobs.get(
            "sandbox.db-wal", b""
        )
    # the plan file holds a keyed HMAC, not the public fingerprint (no offline guessing)
    assert secret_fingerprint(SECRET).encode() not in blobs["plan.json"]
    assert b'"hmac": "hmac-sha256:' in blobs["plan.json"]
    assert rec.hits([SECRET, SECRET_2, agency_key]) == []


def test_debug_logging_of_plan_and_apply_holds_no_secret(
    sandbox: SandboxServer,
    workspace: SandboxWorkspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every logger at DEBUG (the API client logs each exchange and retry) while plan and
    apply run in-process: the log holds neither the secret nor the key."""
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(CONFIG.format(slug=workspace.slug))
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", workspace.key)
    monkeypatch.setenv("HYGIENE_SECRET", SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        runner = CliRunner()
        with httpx.Client(base_url=workspace.url, headers=workspace.headers) as c:
            c.post("/call-tags", json={"name": "lead"}).raise_for_status()
        results = [
            runner.invoke(cli, ["--debug", "plan", "-o", str(tmp_path / "p.json"), str(cfg)]),
            runner.invoke(cli, ["--debug", "apply", "--auto-approve", str(tmp_path / "p.json")]),
            runner.invoke(cli, ["--debug", "export", "--workspace", workspace.slug]),
        ]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    log = stream.getvalue()
    assert "GET /v1/workspaces" in log  # the client did log its exchanges
    blob = (log + "".join(r.output for r in results)).encode()
    for needle in (SECRET, workspace.key):
        assert not any(form in blob for form in forms(needle))
