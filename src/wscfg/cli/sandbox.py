"""``wscfg sandbox serve|init|key|revoke|two-factor|integration``: the reference API."""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Any

import click

from . import debug_of, echo_err, handle_errors

DB_HELP = "Database URL (sqlite:///FILE, postgresql://…) or a SQLite file path."


def _parse_rate(value: str | None) -> tuple[float | None, int | None]:
    """``RATE[:BURST]`` -> (rate, burst); ``0`` or ``off`` disables."""
    if value is None or value.strip().lower() in ("", "0", "off", "none"):
        return None, None
    rate_text, _, burst_text = value.partition(":")
    try:
        rate = float(rate_text)
        burst = int(burst_text) if burst_text else None
    except ValueError:
        raise click.BadParameter(
            "use RATE[:BURST], e.g. 20 or 20:40 (requests per second per key)"
        ) from None
    if rate <= 0 or (burst is not None and burst < 1):
        raise click.BadParameter("RATE must be positive and BURST at least 1")
    return rate, burst


def _parse_duration(value: str) -> float:
    """``7d``, ``12h``, ``30m``, ``45s`` or plain seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    text = value.strip().lower()
    try:
        unit = units.get(text[-1:], 0)
        seconds = float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise click.BadParameter("use a duration like 7d, 12h, 30m or 45s") from None
    if seconds <= 0:
        raise click.BadParameter("the duration must be positive")
    return seconds


@click.group()
def sandbox() -> None:
    """Run the reference Workspace Settings API locally (SQLite by default).

    `serve` runs the API; `init` creates an agency or a workspace and prints its key; `key`,
    `revoke`, `two-factor` and `integration` change an existing sandbox database the way the
    platform's UI would. See docs/sandbox.md.

    \b
    Examples:
      wscfg sandbox init --workspace acme            # prints the workspace's API key
      wscfg sandbox serve --port 0                   # prints http://127.0.0.1:PORT/v1
      WSCFG_SERVER=http://127.0.0.1:8787 WSCFG_TOKEN=<key> wscfg plan acme.yaml
    """


@sandbox.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Interface to listen on."
)
@click.option(
    "--port",
    default=8787,
    metavar="PORT",
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (the address is printed).",
)
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.option(
    "--invite-ttl",
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="How long invitations stay pending.",
)
@click.option(
    "--rate-limit",
    default=None,
    metavar="RATE[:BURST]",
    help="Requests per second per API key (and bucket size); off by default.",
)
@click.option(
    "--faults",
    default=None,
    metavar="SPEC",
    help="Inject faults, e.g. '500=0.1,429=0.05,reset=0.05,latency=50-300ms,seed=7'.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Write one line per request to stderr: METHOD PATH STATUS key=KEY-ID rid=REQUEST-ID "
    "Nms (no query strings, no secrets).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    db: str | None,
    invite_ttl: str,
    rate_limit: str | None,
    faults: str | None,
    access_log: bool,
) -> None:
    """Serve the API with uvicorn until interrupted.

    \b
    Examples:
      wscfg sandbox serve                          # http://127.0.0.1:8787/v1, .wscfg/sandbox.db
      wscfg sandbox serve --port 0 --db /tmp/s.db  # any free port; the address is printed
      wscfg sandbox serve --db postgresql://user@localhost/wscfg
    """
    rate, burst = _parse_rate(rate_limit)
    ttl = _parse_duration(invite_ttl)
    with handle_errors(debug_of(ctx)):
        import uvicorn

        from ..sandbox.app import create_app
        from ..sandbox.db import get_engine
        from ..sandbox.settings import SandboxSettings

        url = new_db(db)
        fault_plan = None
        if faults:
            from ..sandbox.faults import parse_faults

            fault_plan = parse_faults(faults)
        settings = SandboxSettings(
            invite_ttl=ttl,
            rate_limit=rate,
            rate_burst=burst,
            faults=fault_plan,
            access_log=_access_writer() if access_log else None,
        )
        get_engine(url)  # create or migrate the schema now, so errors show before serving
        sock = _listen(host, port)  # bound before we say so: a port in use is an error here
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        echo_err(f"wscfg sandbox: serving http://{shown}:{bound}/v1 (database {_safe(url)})")
        if faults:
            echo_err(f"wscfg sandbox: injecting faults: {faults}")
        app = create_app(url, settings)
        import gc

        gc.collect()
        gc.freeze()  # long-lived objects leave the GC's scans: no 50 ms pauses under load
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        server.run(sockets=[sock])


def _access_writer() -> Any:
    """Access-log lines to stderr, whole lines only (requests are served from threads)."""
    import threading

    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    return write


def _listen(host: str, port: int) -> socket.socket:
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


@sandbox.command()
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.option(
    "--agency", "agency", default=None, metavar="NAME", help="Create an agency with this name."
)
@click.option("--workspace", "workspace", default=None, metavar="SLUG", help="Create a workspace.")
@click.option("--name", default=None, metavar="NAME", help="Display name of the workspace.")
@click.option(
    "--timezone", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone."
)
@click.option(
    "--owner",
    default=None,
    metavar="EMAIL",
    help="First owner's email [default: owner@SLUG.example].",
)
@click.option(
    "--parent",
    default=None,
    metavar="NAME",
    help="Make the workspace a sub-account of this agency (its name).",
)
@click.option("--read-only", is_flag=True, help="Issue a key with settings:read only.")
@click.pass_context
def init(
    ctx: click.Context,
    db: str | None,
    agency: str | None,
    workspace: str | None,
    name: str | None,
    timezone: str,
    owner: str | None,
    parent: str | None,
    read_only: bool,
) -> None:
    """Create an agency or a workspace and print its API key (shown once, stored hashed).

    \b
    Examples:
      wscfg sandbox init --workspace acme
      wscfg sandbox init --agency "Acme Agency"
      wscfg sandbox init --workspace acme-north --parent "Acme Agency"
    """
    if (agency is None) == (workspace is None):
        raise click.UsageError("give exactly one of --agency NAME or --workspace SLUG")
    with handle_errors(debug_of(ctx)):
        from ..sandbox import admin

        url = new_db(db)
        if agency is not None:
            key = admin.create_agency(url, agency)
            what = f"agency {agency!r}"
            if read_only:
                admin.revoke_key(url, key)
                key = admin.issue_key(url, agency=agency, scopes=("settings:read",))
        else:
            assert workspace is not None
            key = admin.create_workspace(
                url, workspace, name=name, timezone=timezone, agency=parent, owner=owner
            )
            what = f"workspace {workspace!r}"
            if read_only:
                admin.revoke_key(url, key)
                key = admin.issue_key(url, workspace=workspace, scopes=("settings:read",))
        click.echo(key)
        echo_err(
            f"Created {what} in {_safe(url)}. The API key above is shown only once; "
            "keep it, e.g. export WSCFG_TOKEN=<key>."
        )


@sandbox.command()
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.option(
    "--workspace", "workspace", required=True, metavar="SLUG", help="The existing workspace."
)
@click.option("--read-only", is_flag=True, help="Issue a key with settings:read only.")
@click.option(
    "--name", default=None, metavar="NAME", help="What the key is for (shown in key lists)."
)
@click.option(
    "--as-user",
    "as_user",
    default=None,
    metavar="EMAIL",
    help="Write as this existing member, through the UI: the audit log names them "
    "(actor type user, via ui), as if they clicked. The stand-in for a person.",
)
@click.pass_context
def key(
    ctx: click.Context,
    db: str | None,
    workspace: str,
    read_only: bool,
    name: str | None,
    as_user: str | None,
) -> None:
    """Issue another API key for an existing workspace and print it (shown once, stored
    hashed). A workspace holds at most 10 active keys.

    \b
    Examples:
      wscfg sandbox key --workspace acme --read-only --name ci-plan
      wscfg sandbox key --workspace acme --name deploy
      wscfg sandbox key --workspace acme --as-user jane@acme.example   # clicks as Jane
    """
    with handle_errors(debug_of(ctx)):
        from ..sandbox import admin

        url = existing_db(db)
        scopes = ("settings:read",) if read_only else admin.KeyRequest.scopes
        request = admin.KeyRequest(workspace=workspace, scopes=scopes, name=name, as_user=as_user)
        issued = admin.new_key(url, request)
        click.echo(issued.secret)
        who = f" writing as {as_user.strip().lower()} via the UI" if as_user else ""
        every = issued.scopes == admin.KeyRequest.scopes
        held = "every scope" if every else " ".join(issued.scopes)
        echo_err(
            f"Issued key {issued.id} ({held}){who} for workspace {workspace!r} "
            f"in {_safe(url)}. The API key above is shown only once; keep it, e.g. "
            "export WSCFG_TOKEN=<key>. Revoke it with: wscfg sandbox revoke " + issued.id
        )


@sandbox.command()
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.argument("key_id", metavar="KEY_ID")
@click.pass_context
def revoke(ctx: click.Context, db: str | None, key_id: str) -> None:
    """Revoke an API key by its id (key_…, as `sandbox key` and GET …/api-keys show it), or
    give - to read the key itself from standard input. A revoked key answers 401.

    \b
    Examples:
      wscfg sandbox revoke key_3f9a0c1d2e4b5a69
      printenv WSCFG_TOKEN | wscfg sandbox revoke -
    """
    with handle_errors(debug_of(ctx)):
        from ..sandbox import admin

        if key_id == "-":
            import sys

            key_id = sys.stdin.readline().strip()
        elif not key_id.startswith("key_"):
            raise click.UsageError(
                "give the key's id (key_…), or - to read the key from standard input; "
                "a key on the command line would stay in the shell history"
            )
        url = existing_db(db)
        revoked = admin.revoke_key(url, key_id)
        echo_err(f"Revoked key {revoked} in {_safe(url)}.")


@sandbox.command("two-factor")
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.option(
    "--workspace", "workspace", required=True, metavar="SLUG", help="The existing workspace."
)
@click.option("--off", is_flag=True, help="Mark two-factor authentication as not set up.")
@click.argument("email")
@click.pass_context
def two_factor(ctx: click.Context, db: str | None, workspace: str, off: bool, email: str) -> None:
    """Mark an active member as having set up two-factor authentication (or not, with --off),
    as if they did it in the UI: what `security.require_2fa` plans count.

    \b
    Examples:
      wscfg sandbox two-factor --workspace acme ann@acme.example
      wscfg sandbox two-factor --workspace acme ann@acme.example --off
    """
    with handle_errors(debug_of(ctx)):
        from ..sandbox import admin

        url = existing_db(db)
        admin.set_two_factor(url, workspace, email, not off)
        state = "off" if off else "on"
        echo_err(f"Two-factor authentication of {email} in {workspace!r} is {state}.")


@sandbox.command()
@click.option(
    "--db", "db", default=None, metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]"
)
@click.option(
    "--workspace", "workspace", required=True, metavar="SLUG", help="The existing workspace."
)
@click.option(
    "--status",
    type=click.Choice(["connected", "setup_incomplete", "disconnected"]),
    default="connected",
    show_default=True,
    help="The integration's new status.",
)
@click.argument("name")
@click.pass_context
def integration(ctx: click.Context, db: str | None, workspace: str, status: str, name: str) -> None:
    """Connect (or disconnect) an integration, as someone would through OAuth in the UI: what
    `integrations.required` and `wscfg export` read. wscfg itself never writes integrations.

    \b
    Examples:
      wscfg sandbox integration --workspace acme hubspot
      wscfg sandbox integration --workspace acme wordpress --status disconnected
    """
    with handle_errors(debug_of(ctx)):
        from ..sandbox import admin

        url = existing_db(db)
        admin.set_integration(url, workspace, name, status)
        echo_err(f"Integration {name} of {workspace!r} is {status}.")


def _safe(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def new_db(db: str | None) -> str:
    """The URL of a sandbox database that init and serve may create. Only the default folder
    (``.wscfg/``) is made for it: a --db in a folder that does not exist is a typo to report,
    not a tree of folders to create."""
    from ..errors import SetupError
    from ..sandbox.db import normalize_url

    url = normalize_url(db)
    if db is not None and url.startswith("sqlite:///"):
        folder = os.path.dirname(url.removeprefix("sqlite:///")) or "."
        if not os.path.isdir(folder):
            raise SetupError(
                f"no folder {folder} for the sandbox database {db} (create it first, or pick "
                "another --db)"
            )
    return url


def existing_db(db: str | None) -> str:
    """The URL of a sandbox database that must exist already (key, revoke and the admin
    helpers change one; only init and serve create one): a mistyped --db is an error, not a
    new empty database."""
    from ..errors import SetupError
    from ..sandbox.db import DEFAULT_DB_PATH, normalize_url

    url = normalize_url(db)
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not os.path.isfile(path):
            shown = db or DEFAULT_DB_PATH
            raise SetupError(
                f"no sandbox database at {shown} (create one with `wscfg sandbox init`, or "
                "pass --db)"
            )
    return url
