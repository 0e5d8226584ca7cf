"""A server restart of a few seconds during an apply (issue 22, item 7): the sandbox server is
really stopped, its port left closed for ~2.5 s (connections refused), and started again on
the same port and database. The apply waits the gap out within --timeout (backoff with jitter),
not cut off by the count-based retry budget, and converges in that one run."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose
from wscfg.sandbox.testing import served, unique

from .checks import cli_env, wscfg

WORKSPACES = 6
SLOW = "--faults=latency=30-60ms,methods=POST"
TAGS = 40  # one POST each: 240 writes, slowed so the apply is still running at the stop


def write_configs(folder: Path) -> list[str]:
    prefix = unique("restart")
    slugs = [f"{prefix}-{i}" for i in range(WORKSPACES)]
    for slug in slugs:
        tags = "".join(f"  - {{name: tag-{i:02d}, color: '#00aa{i:02d}'}}\n" for i in range(TAGS))
        (folder / f"{slug}.yaml").write_text(
            f"version: 1\nworkspace: {{slug: {slug}}}\n"
            "members:\n  - {email: ops@agency.example, role: owner}\n"
            f"call_tags:\n{tags}"
        )
    return slugs


def agency_fleet(tmp_path: Path) -> tuple[str, str, Path]:
    """A new agency in a SQLite sandbox database and its fleet's configs: (the database URL,
    the agency's key, the config folder)."""
    db_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    key = admin.create_agency(db_url, unique("agency"))
    dispose(db_url)
    folder = tmp_path / "fleet"
    folder.mkdir()
    write_configs(folder)
    return db_url, key, folder


class Done:
    """Counts the changes an apply reports done on its stdout, as it runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._read, args=(proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, self.errors), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def join(self) -> tuple[str, str]:
        for thread in self.threads:
            thread.join(timeout=30)
        return "".join(self.lines), "".join(self.errors)

    @property
    def count(self) -> int:
        return sum(1 for line in self.lines if line.startswith("✓"))


def start_apply(folder: Path, env: dict[str, str], *options: str) -> tuple[Any, Done]:
    """`wscfg apply --auto-approve --create-missing OPTIONS .` in its own process, once it has
    reported 20 changes done (so it is still writing when the test stops the server)."""
    argv = ["apply", "--auto-approve", "--create-missing", *options, "."]
    client = subprocess.Popen(
        [sys.executable, "-m", "wscfg", *argv],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    done = Done(client)
    deadline = time.monotonic() + 240
    while done.count < 20 and client.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.poll() is None, "the apply ended before the server stopped"
    assert done.count >= 20
    return client, done


def end(client: Any, db_url: str) -> None:
    if client.poll() is None:
        client.kill()
        client.wait(timeout=30)
    for stream in (client.stdout, client.stderr):
        if stream is not None:
            stream.close()
    dispose(db_url)


@pytest.mark.timeout(600)
def test_an_apply_waits_out_a_server_restart_and_converges_in_one_run(tmp_path: Path) -> None:
    db_url, key, folder = agency_fleet(tmp_path)
    argv = ["sandbox", "serve", "--port", "0", "--db", db_url, SLOW]
    with served(argv, tmp_path / "first.log") as (first, url):
        port = url.rsplit(":", 1)[1]
        env = cli_env(url, key)
        client, done = start_apply(folder, env)
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
        stopped = time.monotonic()
    try:
        time.sleep(max(0.0, 2.5 - (time.monotonic() - stopped)))
        argv2 = ["sandbox", "serve", "--port", port, "--db", db_url, SLOW]
        with served(argv2, tmp_path / "second.log") as (_second, url2):
            assert url2 == url
            client.wait(timeout=300)
            out, err = done.join()
            assert "Traceback" not in out + err
            assert "retry budget" not in out + err
            assert client.returncode == 0, out[-3000:] + err
            check = wscfg("plan", "--detailed-exitcode", ".", env=env, cwd=folder)
            assert check.returncode == 0, check.stdout[-2000:] + check.stderr
            assert f"{WORKSPACES} targets: 0 with changes, 0 failed" in check.stdout
    finally:
        end(client, db_url)


@pytest.mark.timeout(600)
def test_a_server_down_past_the_timeout_ends_the_apply_with_a_clear_error(tmp_path: Path) -> None:
    """The same stop, but the server stays down past `--timeout`: the apply ends at its
    deadline (not at the first refused connection, nor when the server comes back) with the
    one-line error of a run stopped part-way (exit 3), no traceback; once the server is back,
    plan shows what is left and apply finishes it."""
    db_url, key, folder = agency_fleet(tmp_path)
    timeout = 20
    with served(["sandbox", "serve", "--port", "0", "--db", db_url, SLOW], tmp_path / "a.log") as (
        first,
        url,
    ):
        env = cli_env(url, key)
        client, done = start_apply(folder, env, "--timeout", str(timeout))
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
    try:
        client.wait(timeout=300)  # the server stays down: only the deadline ends the run
        out, err = done.join()
        assert "Traceback" not in out + err
        assert client.returncode == 3, out[-3000:] + err
        assert err.splitlines()[-1] == (
            f"Error: apply stopped after --timeout {timeout} s; some changes may have been "
            "made: run `wscfg plan` to see what is left"
        )
        port = url.rsplit(":", 1)[1]
        argv2 = ["sandbox", "serve", "--port", port, "--db", db_url]
        with served(argv2, tmp_path / "b.log"):
            left = wscfg("plan", "--detailed-exitcode", ".", env=env, cwd=folder)
            assert left.returncode == 2, left.stdout[-2000:] + left.stderr
            finish = wscfg("apply", "--auto-approve", "--create-missing", ".", env=env, cwd=folder)
            assert finish.returncode == 0, finish.stdout[-2000:] + finish.stderr
            check = wscfg("plan", "--detailed-exitcode", ".", env=env, cwd=folder)
            assert check.returncode == 0, check.stdout[-2000:] + check.stderr
    finally:
        end(client, db_url)
