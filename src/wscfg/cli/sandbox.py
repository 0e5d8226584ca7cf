"""``wscfg sandbox serve|init|key|revoke|two-factor|integration``: the reference API."""

from __future__ import annotations

import sys
from typing import Any

import click

from . import echo_err, handle_errors

DB_HELP = "Database URL (sqlite:///FILE, postgresql://…) or a SQLite file path."
db_option = click.option("--db", metavar="URL", help=DB_HELP + "  [default: .wscfg/sandbox.db]")
workspace_option = click.option(
    "--workspace", required=True, metavar="SLUG", help="The existing workspace."
)


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
@db_option
@click.option(
    "--invite-ttl",
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="How long invitations stay pending.",
)
@click.option(
    "--rate-limit",
    metavar="RATE[:BURST]",
    help="Requests per second per API key (and bucket size); off by default.",
)
@click.option(
    "--faults",
    metavar="SPEC",
    help="Inject faults, e.g. '500=0.1,429=0.05,reset=0.05,latency=50-300ms,seed=7'.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Write one line per request to stderr: METHOD PATH STATUS key=KEY-ID rid=REQUEST-ID "
    "Nms (no query strings, no secrets).",
)
def serve(invite_ttl: str, rate_limit: str | None, access_log: bool, **where: Any) -> None:
    """Serve the API with uvicorn until interrupted.

    \b
    Examples:
      wscfg sandbox serve                          # http://127.0.0.1:8787/v1, .wscfg/sandbox.db
      wscfg sandbox serve --port 0 --db /tmp/s.db  # any free port; the address is printed
      wscfg sandbox serve --db postgresql://user@localhost/wscfg
    """
    from ..sandbox.serve import parse_duration, parse_rate

    try:
        rate, burst = parse_rate(rate_limit)
        ttl = parse_duration(invite_ttl)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with handle_errors():
        from ..sandbox.serve import serve as run

        # one line per request, written whole (click.echo makes one write of line and newline)
        log = (lambda line: click.echo(line, err=True)) if access_log else None
        run(**where, invite_ttl=ttl, rate=rate, burst=burst, access_log=log, on_notice=echo_err)


@sandbox.command()
@db_option
@click.option("--agency", metavar="NAME", help="Create an agency with this name.")
@click.option("--workspace", metavar="SLUG", help="Create a workspace.")
@click.option("--name", metavar="NAME", help="Display name of the workspace.")
@click.option(
    "--timezone", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone."
)
@click.option(
    "--owner",
    metavar="EMAIL",
    help="First owner's email [default: owner@SLUG.example].",
)
@click.option(
    "--parent",
    metavar="NAME",
    help="Make the workspace a sub-account of this agency (its name).",
)
@click.option("--read-only", is_flag=True, help="Issue a key with settings:read only.")
def init(agency: str | None, workspace: str | None, **more: Any) -> None:
    """Create an agency or a workspace and print its API key (shown once, stored hashed).

    \b
    Examples:
      wscfg sandbox init --workspace acme
      wscfg sandbox init --agency "Acme Agency"
      wscfg sandbox init --workspace acme-north --parent "Acme Agency"
    """
    if (agency is None) == (workspace is None):
        raise click.UsageError("give exactly one of --agency NAME or --workspace SLUG")
    with handle_errors():
        from ..sandbox import manage

        key, notice = manage.init(agency=agency, workspace=workspace, **more)
        click.echo(key)
        echo_err(notice)


@sandbox.command()
@db_option
@workspace_option
@click.option("--read-only", is_flag=True, help="Issue a key with settings:read only.")
@click.option("--name", metavar="NAME", help="What the key is for (shown in key lists).")
@click.option(
    "--as-user",
    metavar="EMAIL",
    help="Write as this existing member, through the UI: the audit log names them "
    "(actor type user, via ui), as if they clicked. The stand-in for a person.",
)
def key(**given: Any) -> None:
    """Issue another API key for an existing workspace and print it (shown once, stored
    hashed). A workspace holds at most 10 active keys.

    \b
    Examples:
      wscfg sandbox key --workspace acme --read-only --name ci-plan
      wscfg sandbox key --workspace acme --name deploy
      wscfg sandbox key --workspace acme --as-user jane@acme.example   # clicks as Jane
    """
    with handle_errors():
        from ..sandbox import manage

        secret, notice = manage.issue(**given)
        click.echo(secret)
        echo_err(notice)


@sandbox.command()
@db_option
@click.argument("key_id", metavar="KEY_ID")
def revoke(db: str | None, key_id: str) -> None:
    """Revoke an API key by its id (key_…, as `sandbox key` and GET …/api-keys show it), or
    give - to read the key itself from standard input. A revoked key answers 401.

    \b
    Examples:
      wscfg sandbox revoke key_3f9a0c1d2e4b5a69
      printenv WSCFG_TOKEN | wscfg sandbox revoke -
    """
    with handle_errors():
        from ..sandbox import manage

        if key_id == "-":
            key_id = sys.stdin.readline().strip()
        elif not key_id.startswith("key_"):
            raise click.UsageError(
                "give the key's id (key_…), or - to read the key from standard input; "
                "a key on the command line would stay in the shell history"
            )
        echo_err(manage.revoke(db, key_id))


@sandbox.command("two-factor")
@db_option
@workspace_option
@click.option("--off", is_flag=True, help="Mark two-factor authentication as not set up.")
@click.argument("email")
def two_factor(db: str | None, workspace: str, off: bool, email: str) -> None:
    """Mark an active member as having set up two-factor authentication (or not, with --off),
    as if they did it in the UI: what `security.require_2fa` plans count.

    \b
    Examples:
      wscfg sandbox two-factor --workspace acme ann@acme.example
      wscfg sandbox two-factor --workspace acme ann@acme.example --off
    """
    with handle_errors():
        from ..sandbox import manage

        echo_err(manage.two_factor(db, workspace, email, not off))


@sandbox.command()
@db_option
@workspace_option
@click.option(
    "--status",
    type=click.Choice(["connected", "setup_incomplete", "disconnected"]),
    default="connected",
    show_default=True,
    help="The integration's new status.",
)
@click.argument("name")
def integration(**given: Any) -> None:
    """Connect (or disconnect) an integration, as someone would through OAuth in the UI: what
    `integrations.required` and `wscfg export` read. wscfg itself never writes integrations.

    \b
    Examples:
      wscfg sandbox integration --workspace acme hubspot
      wscfg sandbox integration --workspace acme wordpress --status disconnected
    """
    with handle_errors():
        from ..sandbox import manage

        echo_err(manage.integration(**given))
