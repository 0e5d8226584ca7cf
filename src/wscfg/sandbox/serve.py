"""``wscfg sandbox serve``: the reference API on a socket, with uvicorn, until interrupted.

The options as text are read here (:func:`parse_rate`, :func:`parse_duration`: a bad one is a
``ValueError`` saying how to write it); :func:`serve` creates or migrates the database, binds
the socket (a port in use is an error before anything is announced), says where it serves
through ``on_notice`` and serves. Imports uvicorn and FastAPI only when serving.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from .manage import new_db, safe_url


def parse_rate(value: str | None) -> tuple[float | None, int | None]:
    """``RATE[:BURST]`` -> (rate, burst); ``0`` or ``off`` disables."""
    if value is None or value.strip().lower() in ("", "0", "off", "none"):
        return None, None
    rate_text, _, burst_text = value.partition(":")
    try:
        rate = float(rate_text)
        burst = int(burst_text) if burst_text else None
    except ValueError:
        raise ValueError(
            "use RATE[:BURST], e.g. 20 or 20:40 (requests per second per key)"
        ) from None
    if rate <= 0 or (burst is not None and burst < 1):
        raise ValueError("RATE must be positive and BURST at least 1")
    return rate, burst


def parse_duration(value: str) -> float:
    """``7d``, ``12h``, ``30m``, ``45s`` or plain seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    text = value.strip().lower()
    try:
        unit = units.get(text[-1:], 0)
        seconds = float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise ValueError("use a duration like 7d, 12h, 30m or 45s") from None
    if seconds <= 0:
        raise ValueError("the duration must be positive")
    return seconds


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, or a clear error."""
    from ..errors import SetupError

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
    except (socket.gaierror, UnicodeError):
        raise SetupError(f"cannot listen on {host}: no such host or address") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SetupError(
                f"cannot listen on {host}:{port}: the port is already in use; choose another "
                "with --port (--port 0 picks a free one)"
            ) from None
        raise SetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(
    host: str,
    port: int,
    db: str | None,
    *,
    invite_ttl: float,
    rate: float | None = None,
    burst: int | None = None,
    faults: str | None = None,
    access_log: Callable[[str], None] | None = None,
    on_notice: Callable[[str], None] = lambda _line: None,
) -> None:
    """Serve the sandbox API on ``host:port`` (0: a free port) with the database ``db``
    (default: ``.wscfg/sandbox.db``) until interrupted. ``faults``: a fault-injection spec
    (:mod:`wscfg.sandbox.faults`); ``access_log`` receives one line per request."""
    import uvicorn

    from .app import create_app
    from .db import get_engine
    from .settings import SandboxSettings

    url = new_db(db)
    fault_plan = None
    if faults:
        from .faults import parse_faults

        fault_plan = parse_faults(faults)
    settings = SandboxSettings(
        invite_ttl=invite_ttl,
        rate_limit=rate,
        rate_burst=burst,
        faults=fault_plan,
        access_log=access_log,
    )
    get_engine(url)  # create or migrate the schema now, so errors show before serving
    sock = listen(host, port)  # bound before we say so: a port in use is an error here
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    on_notice(f"wscfg sandbox: serving http://{shown}:{bound}/v1 (database {safe_url(url)})")
    if faults:
        on_notice(f"wscfg sandbox: injecting faults: {faults}")
    app = create_app(url, settings)
    import gc

    gc.collect()
    gc.freeze()  # long-lived objects leave the GC's scans: no 50 ms pauses under load
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
