"""Shared by the bench scripts: the machine, a sandbox server process, filling a workspace."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

# Left out of the environment of the processes a bench times: its own settings, CI, and
# PYTHONDONTWRITEBYTECODE (with it, wscfg's modules would be compiled again at every start,
# unlike an installed wscfg's, while the libraries' .pyc files were written at install).
DROP = frozenset({"CI", "PYTHONDONTWRITEBYTECODE"})


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER_PIDS: dict[str, int] = {}  # URL -> the process id of the sandbox serving it (serve())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@contextlib.contextmanager
def serve(
    db_url: str,
    start_timeout: float = 30,
    access_log: Path | None = None,
    options: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`wscfg sandbox serve` in its own process on a free loopback port; yields its URL
    (``start_timeout``: seconds to wait for it to answer; more on a busy shared machine;
    ``access_log``: a file for its ``--access-log`` lines; ``options``: more of its options,
    e.g. ``("--rate-limit", "20:20")``; ``env``: the server's environment, if not this one's)."""
    port = free_port()
    argv = [sys.executable, "-m", "wscfg", "sandbox", "serve", "--port", str(port), "--db", db_url]
    argv += options
    log = open(access_log, "wb") if access_log is not None else None  # noqa: SIM115
    server = subprocess.Popen(
        [*argv, "--access-log"] if log is not None else argv,
        stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the sandbox did not start") from None
                time.sleep(0.05)
        SERVER_PIDS[url] = server.pid
        yield url
    finally:
        SERVER_PIDS.pop(url, None)
        server.terminate()
        server.wait(10)
        if log is not None:
            log.close()


def fill(base: str, key: str, numbers: list[str], emails: list[str]) -> None:
    """Blocked callers through the batch endpoint, members one POST each (16 at a time)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
        for start in range(0, len(numbers), 10_000):
            add = [{"number": n, "note": "bench"} for n in numbers[start : start + 10_000]]
            c.post("/blocked-callers:batch", json={"add": add}).raise_for_status()

    async def add_members() -> None:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as ac:

            async def one(email: str) -> None:
                async with limit:
                    body = {"email": email, "role": "member"}
                    (await ac.post("/members", json=body)).raise_for_status()

            await asyncio.gather(*(one(e) for e in emails))

    asyncio.run(add_members())
