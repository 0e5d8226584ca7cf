"""The JSON documents wscfg publishes (``wscfg schema``): the JSON Schema of a config file
and the sandbox's OpenAPI document in schemas/, and the schema ``wscfg validate`` checks a
resolved file against, in the package. :func:`sync` writes the stale ones (or, ``check``,
only finds them), saying what it found of each through ``on_result``."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence


def _workspace() -> str:
    from ..config.schema import dump_json, workspace_schema

    return dump_json(workspace_schema())


def _openapi() -> str:
    from ..sandbox import openapi_text

    return openapi_text()


def _check() -> str:
    from ..config.schema import check_schema, dump_json

    return dump_json(check_schema())


# The schema `wscfg validate` reads at run time (wscfg.config.schemacheck): in the package.
PACKAGED = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "config", "document.schema.json"
)

# name -> (file under the schemas directory, or PACKAGED; producer)
DOCUMENTS: dict[str, tuple[str, Callable[[], str]]] = {
    "workspace": ("workspace.schema.json", _workspace),
    "openapi": ("openapi.json", _openapi),
    "check": (PACKAGED, _check),
}
NAMES = tuple(DOCUMENTS)


def sync(
    names: Sequence[str],
    directory: str,
    *,
    check: bool = False,
    on_result: Callable[[str, str], None] | None = None,
) -> list[str]:
    """Write each document of ``names`` (none: every one) whose file under ``directory`` is
    missing or out of date; ``check``: write nothing. ``on_result(path as shown, status)``:
    ``up to date``, ``missing``, ``out of date`` (``check``) or ``written``. Returns the paths
    of the stale files ``check`` found."""
    stale: list[str] = []
    for name in names or NAMES:
        filename, produce = DOCUMENTS[name]
        path = filename if filename == PACKAGED else os.path.join(directory, filename)
        text = produce()
        current = _read(path)
        if current == text:
            status = "up to date"
        elif check:
            stale.append(path)
            status = "missing" if current is None else "out of date"
        else:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            status = "written"
        if on_result is not None:
            on_result(_shown(path), status)
    return stale


def _shown(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith(os.pardir) else rel


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
