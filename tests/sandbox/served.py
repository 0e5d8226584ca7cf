"""A sandbox in its own process (``wscfg sandbox serve``), for tests that measure the server's
memory from /proc, and raw-socket HTTP for framings httpx will not send as asked."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    db: str

    def status(self, field: str) -> int:
        """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM…)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.proc.pid}/status")

    def peak_mib(self) -> float:
        return self.status("VmHWM") / 1024

    def new_workspace(self, slug: str, **kwargs: Any) -> str:
        key = admin.create_workspace(self.db, slug, **kwargs)
        dispose(self.db)
        return key


@contextmanager
def served(tmp: Path) -> Iterator[Served]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = str(tmp / "served.db")
    admin.create_agency(db, "bootstrap")  # the schema exists before the server starts
    dispose(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wscfg", "sandbox", "serve", "--port", str(port), "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.1)
        yield Served(proc, url, port, db)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client managed to send

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        doc: dict[str, Any] = json.loads(self.body)
        assert doc["status"] == self.status
        assert doc["instance"] == self.headers["x-request-id"]
        return doc


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes] = (),
    *,
    chunked: bool = False,
    finish: bool = True,
    timeout: float = 60,
) -> RawAnswer | None:
    """Send a request by hand: ``chunks`` as they come (chunked framing if ``chunked``, ended
    with the last chunk if ``finish``), stopping early once the server answers or hangs up.
    ``None`` when the server reset the connection before an answer could be read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if chunked:
            head += "Transfer-Encoding: chunked\r\n"
        sock.sendall((head + "\r\n").encode("latin-1"))
        sent = 0
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered (or hung up): stop sending
            frame = b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if chunked and finish:
                sock.sendall(b"0\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            body = response.read()
        except (ConnectionResetError, http.client.RemoteDisconnected):
            return None
        found = {k.lower(): v for k, v in response.getheaders()}
        return RawAnswer(response.status, found, body, sent)
    finally:
        sock.close()
