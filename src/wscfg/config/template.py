"""A template's resolved document, normalized like live state (for ``wscfg export --extends``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .desired import DocPath
from .resolve import FileCache, resolve
from .validate import LenientEnv, gc_paused, shown, validate_resolved

_PLACEHOLDER = "\x00wscfg-unset-env"


def load_template_document(
    path: str, *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The resolved document of a template (or any config file), normalized like live state.

    For ``wscfg export --extends``: what the template says, as plain JSON data (emails
    lower-cased, numbers in E.164, …) comparable with live items. Values that depend on a
    variable the template leaves to its targets, or on an unset environment variable, are left
    out, and so are write-only fields. Raises :class:`ConfigError` if the file is invalid.
    """
    from ..model.kinds import KINDS

    env = LenientEnv(os.environ if environ is None else environ, _PLACEHOLDER)
    with gc_paused():
        cache = FileCache()
        r = resolve(path, path, cache, env)
        for p, pairs in r.env_paths.items():
            if any(value == _PLACEHOLDER for _, value in pairs):
                r.quiet.add(p)
        _, _, diags = validate_resolved(r)
        if diags:
            raise ConfigError(shown(diags, cache, os.environ if environ is None else environ))
        data = _prune(r.data, (), r.quiet)
        out: dict[str, Any] = {"version": 1}
        for kind in KINDS:
            value = data.get(kind.name)
            if value is None:
                continue
            skip = kind.write_only | kind.read_only
            if kind.singleton:
                out[kind.name] = _normal(kind.model, value, skip, slug=kind.name == "workspace")
            elif isinstance(value, list):
                known = [i for i in value if not isinstance(i, dict) or kind.identity in i]
                out[kind.name] = [_normal(kind.model, item, skip) for item in known]
    return out


def _prune(value: Any, path: DocPath, drop: set[DocPath]) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v, (*path, k), drop) for k, v in value.items() if (*path, k) not in drop}
    if isinstance(value, list):
        return [_prune(v, (*path, i), drop) for i, v in enumerate(value) if (*path, i) not in drop]
    return value


def _normal(model: Any, value: Any, skip: frozenset[str], *, slug: bool = False) -> Any:
    """One item as the model normalizes it (only the fields it sets); as written if it
    cannot be validated on its own (e.g. a template's workspace without its slug)."""
    from pydantic import ValidationError

    body = dict(value) if isinstance(value, dict) else value
    if isinstance(body, dict):
        for k in skip:
            body.pop(k, None)
        if slug and "slug" not in body:
            body["slug"] = "template"
    try:
        dumped = model.model_validate(body).model_dump(mode="json", exclude_unset=True)
    except ValidationError:
        return value
    if slug and not (isinstance(value, dict) and "slug" in value):
        dumped.pop("slug", None)
    return {k: v for k, v in dumped.items() if k not in skip}
