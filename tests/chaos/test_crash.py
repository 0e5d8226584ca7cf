"""Crash tests (issue 6 §3): `wscfg apply` killed with SIGKILL at random points of a large
apply, and the sandbox server killed and restarted under a running apply.

After every kill: each item the plan names is either as it was or as planned (never a third
state), nothing outside the plan changed (the workspace's other rows byte for byte and a
neighbour workspace), no item was written twice; the database passes its integrity check and
every row is valid. At the end a plain plan + apply converges and no item was ever created
twice (audit log). Kill points come from fixed seeds.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, free_socket, unique

from .checks import (
    big_config,
    cli_env,
    duplicate_creates,
    integrity_violations,
    interrupted_run_violations,
    load_plan,
    wscfg,
)
from .harness import audit_entries

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

TAGS, MEMBERS, NUMBERS = range(300), range(150), range(3000)


def seed_workspace(ws: SandboxWorkspace) -> None:
    """Live state for the big config to change: tags to update and to delete, members and
    blocked callers to delete, and kinds the config does not manage (never touched)."""
    with httpx.Client(base_url=ws.url, headers=ws.headers, timeout=60) as c:
        c.post("/roles", json={"name": "desk"}).raise_for_status()
        for i in range(40):
            c.post("/call-tags", json={"name": f"t{i:04d}", "color": "#000000"}).raise_for_status()
            c.post("/call-tags", json={"name": f"old{i:03d}"}).raise_for_status()
        for i in range(20):
            body = {"email": f"x{i:03d}@old.example", "role": "desk"}
            c.post("/members", json=body).raise_for_status()
        c.post(
            "/webhooks",
            json={
                "name": "crm",
                "url": "https://hooks.example.com/crm",
                "events": ["call.completed"],
            },
        ).raise_for_status()
        c.patch("/notifications", json={"billing": {"email": False}}).raise_for_status()
        c.post(
            "/blocked-callers:batch",
            json={"add": [f"+1555040{i:04d}" for i in range(1000)]},
        ).raise_for_status()


def audit_mark(ws: SandboxWorkspace) -> int:
    entries = audit_entries(ws)
    return entries[-1]["id"] if entries else 0


class Watcher:
    """Reads an apply's stdout as it runs, counting the changes reported done."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.done = 0
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)
            if line.startswith("✓"):
                self.done += 1

    def join(self) -> None:
        self._thread.join(timeout=30)


def kill_apply_at_random(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    rng: random.Random,
    writes: int,
    by_delay: bool,
    ws: SandboxWorkspace,
) -> tuple[int, int]:
    """Start `wscfg apply`, SIGKILL it at a seeded point: once a random number of its
    ``writes`` have committed (read from the audit log; plus up to 20 ms, so a write may be in
    flight), or ``by_delay`` after a random time (which may fall before the first write or
    inside the blocked-caller batches). Returns (exit status, changes reported done before the
    kill)."""
    mark = audit_mark(ws)
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watcher = Watcher(proc)
    if by_delay or writes < 2:
        time.sleep(rng.uniform(0.5, 2.0))
    else:
        wait_for_writes(ws, mark, rng.randint(1, min(writes - 1, 120)), proc)
        time.sleep(rng.uniform(0, 0.02))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    watcher.join()
    assert proc.stdout is not None and proc.stderr is not None
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert "Traceback" not in err
    return proc.returncode, watcher.done


def settled_rows(sandbox: SandboxServer, slug: str) -> dict[Any, Any]:
    """The workspace's rows once no request is still changing them (two equal reads)."""
    rows = sandbox.item_rows(slug)
    for _ in range(50):
        time.sleep(0.2)
        again = sandbox.item_rows(slug)
        if again == rows:
            return rows
        rows = again
    return rows


@pytest.mark.timeout(600)
def test_sigkill_during_a_large_apply_then_plan_and_apply_converge(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    rng = random.Random(20240607)
    ws = sandbox.new_workspace("crash")
    neighbour = sandbox.new_workspace("crash-neighbour")
    seed_workspace(ws)
    seed_workspace(neighbour)
    neighbour_rows = sandbox.item_rows(neighbour.slug)
    cfg = tmp_path / "ws.yaml"
    cfg.write_text(big_config(ws.slug, tags=TAGS, members=MEMBERS, numbers=NUMBERS))
    env = cli_env(sandbox.url, ws.key)
    kills = 0
    for round_ in range(3):
        plan_file = tmp_path / f"plan{round_}.json"
        made = wscfg(
            "plan", "--allow-mass-changes", "-o", str(plan_file), str(cfg), env=env, cwd=tmp_path
        )
        assert made.returncode == 0, made.stderr
        plan = load_plan(plan_file)
        before, mark = sandbox.item_rows(ws.slug), audit_mark(ws)
        cmd = [sys.executable, "-m", "wscfg", "apply", "--auto-approve"]  # as planned
        writes = sum(1 for c in plan.changes if c.kind != "blocked_callers")
        status, done = kill_apply_at_random(
            [*cmd, str(plan_file)], env, tmp_path, rng, writes, by_delay=round_ == 0, ws=ws
        )
        kills += status == -signal.SIGKILL
        # The server may still be finishing the killed client's last request: wait for it.
        after = settled_rows(sandbox, ws.slug)
        run_audit = [e for e in audit_entries(ws) if e["id"] > mark]
        assert interrupted_run_violations(plan, before, after, run_audit) == []
        assert len(run_audit) >= done  # every change reported done is in the audit log
        assert integrity_violations(sandbox.db_url, ws.slug) == []
        # A saved plan that was partly applied is now stale: refused, nothing written.
        if status == -signal.SIGKILL and run_audit:
            again = wscfg(*cmd[3:], str(plan_file), env=env, cwd=tmp_path)
            assert again.returncode == 1
            # stale, or (when every write landed before the kill) already applied
            assert (
                "Error: the saved plan is stale" in again.stderr
                or "Error: the saved plan was already applied" in again.stderr
            )
            unchanged = sandbox.item_rows(ws.slug) == after
            assert unchanged, "the refused stale plan wrote something"
    assert kills >= 2, "the seeded kill points should interrupt most rounds"
    final = wscfg(
        "apply", "--auto-approve", "--allow-mass-changes", str(cfg), env=env, cwd=tmp_path
    )
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr
    check = wscfg("plan", "--detailed-exitcode", str(cfg), env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stdout[-2000:]
    assert duplicate_creates(ws) == []
    assert sandbox.item_rows(neighbour.slug) == neighbour_rows
    rows = sandbox.item_rows(ws.slug)
    # untouched kinds: the role, the webhook, the notification switch
    assert ("roles", "desk") in rows and ("webhooks", "crm") in rows
    assert '"billing":{"email":false' in rows[("notifications", "")]


# The server runs on a listening socket this test holds and hands down (like systemd socket
# activation): killed and started again, it comes back at the same address with no port ever
# closed and re-bound, and connections made while it is down wait in the socket's backlog.
SERVE_ON_FD = """
import socket, sys, uvicorn
from wscfg.sandbox.app import create_app
from wscfg.sandbox.settings import SandboxSettings
app = create_app(sys.argv[1], SandboxSettings(faults=sys.argv[3] or None))
sock = socket.socket(fileno=int(sys.argv[2]))
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"""


def serve(
    db_url: str, listener: socket.socket, log: Path, faults: str = ""
) -> subprocess.Popen[bytes]:
    fd = listener.fileno()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE_ON_FD, db_url, str(fd), faults],
            pass_fds=(fd,),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    port = listener.getsockname()[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, "the sandbox server exited"
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the sandbox server did not start")


def wait_for_writes(ws: SandboxWorkspace, mark: int, n: int, proc: subprocess.Popen[str]) -> int:
    """Wait until the audit log shows ``n`` writes after ``mark`` (or the process ended)."""
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = sum(1 for e in audit_entries(ws) if e["id"] > mark)
        if seen >= n:
            break
        time.sleep(0.05)
    return seen


@pytest.mark.timeout(600)
def test_server_killed_and_restarted_during_apply(tmp_path: Path, db_url: str | None) -> None:
    """SIGKILL the *server* mid-apply and start it again on the same database: committed
    writes stay, uncommitted ones vanish whole (no half batch, no pending idempotency record),
    the client's retries carry on or it reports the rest; the next plan + apply converges.

    The kill comes after a seeded number of the apply's writes have committed (read from the
    audit log), not after a guessed delay, so a busy machine changes nothing; writes are
    slowed a little so the apply is still running then."""
    rng = random.Random(7)
    db_url = db_url or f"sqlite:///{tmp_path / 'sandbox.db'}"
    slug = unique("crash-server")
    key = admin.create_workspace(db_url, slug)
    listener = free_socket()
    listener.listen(512)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    ws = SandboxWorkspace(slug, key, url)
    slow_writes = "latency=10-30ms,methods=POST+PATCH+DELETE"
    log = tmp_path / "server.log"
    server = serve(db_url, listener, log, slow_writes)
    client: subprocess.Popen[str] | None = None
    try:
        seed_workspace(ws)
        cfg = tmp_path / "ws.yaml"
        cfg.write_text(big_config(slug, tags=TAGS, members=MEMBERS, numbers=NUMBERS))
        env = cli_env(url, key)
        plan_file = tmp_path / "plan.json"
        made = wscfg(
            "plan", "--allow-mass-changes", "-o", str(plan_file), str(cfg), env=env, cwd=tmp_path
        )
        assert made.returncode == 0
        plan = load_plan(plan_file)
        before, mark = admin.item_rows(db_url, slug), audit_mark(ws)
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wscfg",
                "apply",
                "--auto-approve",
                str(plan_file),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wanted = rng.randint(5, 60)
        seen = wait_for_writes(ws, mark, wanted, client)
        assert client.poll() is None, f"the apply finished after {seen} writes, before the kill"
        assert seen >= wanted
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        server = serve(db_url, listener, log, slow_writes)  # back on the same socket
        out, err = client.communicate(timeout=120)
        assert "Traceback" not in out + err
        assert client.returncode in (0, 3), err
        print(f"server killed mid-apply; apply exit {client.returncode}: {out.splitlines()[-1]}")
        after = admin.item_rows(db_url, slug)
        run_audit = [e for e in audit_entries(ws) if e["id"] > mark]
        assert interrupted_run_violations(plan, before, after, run_audit) == []
        assert integrity_violations(db_url, slug) == []
        final = wscfg(
            "apply", "--auto-approve", "--allow-mass-changes", str(cfg), env=env, cwd=tmp_path
        )
        assert final.returncode == 0, final.stdout[-2000:] + final.stderr
        check = wscfg("plan", "--detailed-exitcode", str(cfg), env=env, cwd=tmp_path)
        assert check.returncode == 0, check.stdout[-2000:]
        assert duplicate_creates(ws) == []
    finally:
        if client is not None:
            if client.poll() is None:
                client.kill()
            client.communicate(timeout=30)  # closes its pipes
        server.kill()
        server.wait(timeout=30)
        listener.close()
        dispose(db_url)
