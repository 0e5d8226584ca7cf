"""The sandbox's administration as ``wscfg sandbox init|key|revoke|two-factor|integration``
does it: which database (a new one may be created, an existing one must exist), then one
:mod:`~wscfg.sandbox.admin` call. Each returns what to show: the key (shown once) and a notice
saying what was done, in which database (its password hidden)."""

from __future__ import annotations

import os


def safe_url(url: str) -> str:
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
    from .db import normalize_url

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
    from .db import DEFAULT_DB_PATH, normalize_url

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


KEEP_IT = "The API key above is shown only once; keep it, e.g. export WSCFG_TOKEN=<key>."
READ_ONLY = ("settings:read",)


def init(
    db: str | None,
    *,
    agency: str | None = None,
    workspace: str | None = None,
    name: str | None = None,
    timezone: str = "UTC",
    owner: str | None = None,
    parent: str | None = None,
    read_only: bool = False,
) -> tuple[str, str]:
    """Create an agency or a workspace (exactly one is named): (its API key, the notice)."""
    from . import admin

    url = new_db(db)
    if agency is not None:
        key = admin.create_agency(url, agency)
        what = f"agency {agency!r}"
        if read_only:
            admin.revoke_key(url, key)
            key = admin.issue_key(url, agency=agency, scopes=READ_ONLY)
    else:
        assert workspace is not None
        key = admin.create_workspace(
            url, workspace, name=name, timezone=timezone, agency=parent, owner=owner
        )
        what = f"workspace {workspace!r}"
        if read_only:
            admin.revoke_key(url, key)
            key = admin.issue_key(url, workspace=workspace, scopes=READ_ONLY)
    return key, f"Created {what} in {safe_url(url)}. {KEEP_IT}"


def issue(
    db: str | None,
    workspace: str,
    *,
    read_only: bool = False,
    name: str | None = None,
    as_user: str | None = None,
) -> tuple[str, str]:
    """Another API key for an existing workspace: (the key, the notice)."""
    from . import admin

    url = existing_db(db)
    scopes = READ_ONLY if read_only else admin.KeyRequest.scopes
    request = admin.KeyRequest(workspace=workspace, scopes=scopes, name=name, as_user=as_user)
    issued = admin.new_key(url, request)
    who = f" writing as {as_user.strip().lower()} via the UI" if as_user else ""
    every = issued.scopes == admin.KeyRequest.scopes
    held = "every scope" if every else " ".join(issued.scopes)
    return issued.secret, (
        f"Issued key {issued.id} ({held}){who} for workspace {workspace!r} "
        f"in {safe_url(url)}. {KEEP_IT} Revoke it with: wscfg sandbox revoke " + issued.id
    )


def revoke(db: str | None, key_id: str) -> str:
    """Revoke a key (its ``key_…`` id, or the key itself): the notice."""
    from . import admin

    url = existing_db(db)
    revoked = admin.revoke_key(url, key_id)
    return f"Revoked key {revoked} in {safe_url(url)}."


def two_factor(db: str | None, workspace: str, email: str, enabled: bool) -> str:
    """Mark an active member's two-factor authentication as set up (or not): the notice."""
    from . import admin

    admin.set_two_factor(existing_db(db), workspace, email, enabled)
    return f"Two-factor authentication of {email} in {workspace!r} is {'on' if enabled else 'off'}."


def integration(db: str | None, workspace: str, name: str, status: str) -> str:
    """Set an integration's status, as OAuth in the UI would: the notice."""
    from . import admin

    admin.set_integration(existing_db(db), workspace, name, status)
    return f"Integration {name} of {workspace!r} is {status}."
