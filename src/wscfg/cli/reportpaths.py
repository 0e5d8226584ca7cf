"""Where CI reports say a problem is: paths relative to the repository root.

GitHub annotations, SARIF (code scanning) and GitLab Code Quality all place a problem by its
path from the root of the checkout, whatever folder wscfg ran in. The root is the git work
tree holding the current directory (the nearest folder above it with a ``.git``), else the
current directory. A file outside that root keeps its absolute path (SARIF: a ``file:`` URI).
"""

from __future__ import annotations

import os
from urllib.parse import quote

SRCROOT = "%SRCROOT%"  # SARIF's uriBaseId for the root of the checkout


def report_root(cwd: str | None = None) -> str:
    """The git top level of ``cwd`` (default: the current directory), else ``cwd`` itself."""
    from ..config.guard import git_work_tree

    here = os.path.realpath(cwd or os.getcwd())
    return git_work_tree(here) or here


def relative_to_root(file: str, root: str) -> str | None:
    """``file`` as a ``/``-separated path below ``root``, or None when it lies outside it."""
    for candidate in (os.path.abspath(file), os.path.realpath(file)):
        try:
            rel = os.path.relpath(candidate, root)
        except ValueError:  # another drive (Windows)
            continue
        if rel != os.curdir and not rel.startswith(os.pardir + os.sep) and rel != os.pardir:
            return rel.replace(os.sep, "/")
    return None


def report_path(file: str, root: str) -> str:
    """What a GitHub annotation's ``file=`` and a Code Quality ``location.path`` hold: the path
    from the repository root, else the absolute path."""
    rel = relative_to_root(file, root)
    return rel if rel is not None else os.path.abspath(file)


def sarif_location(file: str, root: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: a percent-encoded relative URI reference against
    ``%SRCROOT%``, or an absolute ``file:`` URI for a file outside the root. ``#``, ``?``,
    ``%``, spaces and non-ASCII letters are encoded, so the URI means the file it names."""
    rel = relative_to_root(file, root)
    if rel is None:
        from pathlib import Path

        return {"uri": Path(os.path.abspath(file)).as_uri()}
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}
