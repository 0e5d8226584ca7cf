"""A real sandbox server for tests and benchmarks: uvicorn on a free 127.0.0.1 port.

    with running_server() as server:          # SQLite file in a temporary directory
        key = server.create_workspace("acme")  # admin helpers bound to the server's database
        httpx.get(f"{server.url}/v1/workspaces/acme", headers={"Authorization": f"Bearer {key}"})

The server runs in a background thread of the calling process; it is stopped (and the
database engine disposed) when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import admin
from .db import dispose, normalize_url
from .settings import SandboxSettings


def unique(prefix: str = "ws") -> str:
    """A slug or name no other test (or earlier run on a shared database) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class SandboxWorkspace:
    """A workspace on a running sandbox and a read+write key for it."""

    slug: str
    key: str
    server_url: str

    @property
    def url(self) -> str:
        """The workspace's base URL: ``{server}/v1/workspaces/{slug}``."""
        return f"{self.server_url}/v1/workspaces/{self.slug}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class SandboxAgency:
    name: str
    key: str


@dataclass
class SandboxServer:
    """A running sandbox: ``url`` (``http://127.0.0.1:PORT``), ``db_url``, ``settings``."""

    url: str
    db_url: str
    settings: SandboxSettings
    app: Any = field(repr=False, default=None)

    def create_agency(self, name: str) -> str:
        return admin.create_agency(self.db_url, name)

    def create_workspace(self, slug: str, **kwargs: Any) -> str:
        return admin.create_workspace(self.db_url, slug, **kwargs)

    def issue_key(self, **kwargs: Any) -> str:
        return admin.issue_key(self.db_url, **kwargs)

    def set_two_factor(self, slug: str, email: str, enabled: bool = True) -> None:
        admin.set_two_factor(self.db_url, slug, email, enabled)

    def set_integration(self, slug: str, name: str, status: str = "connected") -> None:
        admin.set_integration(self.db_url, slug, name, status)

    def revoke_key(self, key: str) -> None:
        admin.revoke_key(self.db_url, key)

    def accept_invitation(self, workspace: str, email: str) -> None:
        admin.accept_invitation(self.db_url, workspace, email)

    def item_rows(self, slug: str) -> dict[tuple[str, str], str]:
        """Every stored item of ``slug`` as ``(kind, identity)`` → stored body (with ETag)."""
        return admin.item_rows(self.db_url, slug)

    @property
    def faults(self) -> Any:
        """The server's :class:`~wscfg.sandbox.faults.FaultInjector` (``None`` without faults):
        ``.configure(enabled=False)``, ``.configure(seed=3)``, ``.counts()``."""
        return getattr(self.app.state, "faults", None) if self.app is not None else None

    def new_workspace(self, prefix: str = "ws", **kwargs: Any) -> SandboxWorkspace:
        """A fresh workspace with a unique slug (``prefix-<12 hex>``) and its key."""
        slug = unique(prefix)
        return SandboxWorkspace(slug, self.create_workspace(slug, **kwargs), self.url)

    def new_agency(self, prefix: str = "agency") -> SandboxAgency:
        name = unique(prefix)
        return SandboxAgency(name, self.create_agency(name))


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextlib.contextmanager
def running_server(db_url: str | None = None, **settings: Any) -> Iterator[SandboxServer]:
    """Start the sandbox on a free loopback port, yield it once it answers, stop it after.

    ``db_url`` defaults to a fresh SQLite file in a temporary directory (removed after);
    ``settings`` are :class:`SandboxSettings` fields (``rate_limit=5``, ``invite_ttl=1``…).
    """
    import uvicorn

    from .app import create_app

    with contextlib.ExitStack() as stack:
        if db_url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="wscfg-sandbox-"))
            db_url = "sqlite:///" + os.path.join(tmp, "sandbox.db")
        db_url = normalize_url(db_url)
        config = SandboxSettings(**settings)
        app = create_app(db_url, config)
        sock = free_socket()
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=2,
            )
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"wscfg-sandbox-{port}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start; see the log above")
            if time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("the sandbox server did not start within 20 s")
            time.sleep(0.01)
        try:
            yield SandboxServer(f"http://127.0.0.1:{port}", db_url, config, app)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            dispose(db_url)


_SERVING_RE = re.compile(r"serving (http://\S+?)/v1 ")


@contextlib.contextmanager
def served(
    argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``python -m wscfg ARGV`` (a ``sandbox serve`` command line with ``--port 0``) as a process
    of its own, its stdout and stderr in ``log``; yields the process and the server's URL as
    it printed it once it answers. The server picks its own free port, so no port number is
    ever chosen here and handed over (another process could take it in between). Stopped
    with SIGINT (then SIGKILL) when the block ends."""
    import httpx

    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wscfg", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )
    try:
        deadline = time.monotonic() + timeout
        url = ""
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the sandbox server exited ({proc.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server did not answer within {timeout:g} s")
            if not url:
                found = _SERVING_RE.search(log.read_text(errors="replace"))
                url = found.group(1) if found else ""
            if url:
                with contextlib.suppress(httpx.TransportError):
                    httpx.get(url + "/openapi.json", timeout=5)
                    break
            time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
