"""The quoting rule applied to one file as read: is it known to be a wscfg config, and if not,
why, in located messages that quote nothing of it (docs/config.md, "When a message quotes a
file"; the rule itself is :func:`wscfg.config.guard.known_config`)."""

from __future__ import annotations

import re

from ..errors import Diagnostic
from . import guard
from .load import LoadedFile, Node


def unknown_problems(loaded: LoadedFile) -> list[Diagnostic] | None:
    """None when the file is known to be a wscfg config (the quoting rule,
    :func:`guard.known_config`); else the problems that say why (none when the reader's own
    problems say it all), each located and none quoting the file
    (:class:`~wscfg.config.sourcefile.Unquoted`)."""
    root = loaded.root
    src = loaded.src
    top = root.value if root is not None else None
    version = top.get("version") if isinstance(top, dict) else None
    written_1 = version is not None and _version_problem(version) is None
    plain = {k: n.value for k, n in top.items()} if isinstance(top, dict) else top
    if guard.known_config(not loaded.diagnostics, plain, written_1):
        return None
    if root is None:
        if loaded.diagnostics:
            return []  # the reader's problems say it all
        if not src.text.strip():
            msg = "the file is empty; a config file needs at least `version: 1`"
        else:
            msg = "the document is empty (only comments); a config file needs at least `version: 1`"
        return [src.unquoted(1, 1, msg)]
    if not isinstance(top, dict):
        what = "a list" if root.is_seq else "a single value"
        message = (
            f"the top level must be a mapping of settings (version: 1, workspace: …), not {what}"
        )
        return [src.unquoted(root.line, root.col, message)]
    problems: list[Diagnostic] = []
    if version is None:
        problems.append(
            src.unquoted(1, 1, "missing `version: 1` (the config format version) at the top level")
        )
    elif not written_1:
        problem = _version_problem(version) or ""
        problems.append(src.unquoted(version.line, version.col, problem, "version"))
    from .diagnostics import did_you_mean

    keys = sorted(guard.config_keys())
    why = f"until this is fixed, the file is not known to be a wscfg config: {guard.NOT_KNOWN}"
    for key, node in top.items():
        if not guard.config_key(key):
            close = did_you_mean(key, keys)  # a word of the format, not of the file
            hint = f"; did you mean '{close}'?" if close else ""
            message = f"a top-level key no wscfg config has{hint} ({why})"
            problems.append(src.unquoted(node.kline, node.kcol, message))
        elif key != "version" and not guard.shape_fits(key, node.value):
            message = (
                f"must be {guard.shape_words(key)}, not {guard.kind_words(node.value)} ({why})"
            )
            problems.append(src.unquoted(node.line, node.col, message, key))
    if not problems and not loaded.diagnostics:  # each way to fail the rule is named above
        problems.append(src.unquoted(1, 1, f"not known to be a wscfg config: {guard.NOT_KNOWN}"))
    return problems


def _version_problem(version: Node) -> str | None:
    """Why ``version`` is not written ``1``, in words that quote nothing of the file but a
    number equal to 1 written another way (``1.0``, ``0x1``: #21 item 8); None when it is."""
    v = version.value
    if type(v) is int and v == 1 and _spelled(version) == "1":
        return None
    if isinstance(v, float) and v == 1 and _spelled(version) == "1":  # `!!float 1`
        return "the format version is written `version: 1`, a whole number without a tag"
    if isinstance(v, list | dict):  # its items are nodes: say what it is, not its repr
        kind = "a list" if isinstance(v, list) else "a mapping"
        return f"the format version must be 1, not {kind}"
    if isinstance(v, int | float) and not isinstance(v, bool) and v == 1:
        return f"the format version is written `version: 1`, not `{_spelled(version)}`"
    number = guard.shape_of(v) in ("integer", "number")
    kind = "a number other than 1" if number else guard.kind_words(v)
    return f"unsupported format version ({kind}); this wscfg reads `version: 1`"


# The plain scalar at a node's position, past an anchor (&a) or a tag (!!int) before it.
_SPELLING_RE = re.compile(r"(?:[&!][^\s]*\s+)*([^\s,\]}#]*)")


def _spelled(node: Node) -> str:
    """How a number was written in the file: ``1``, or ``1.0``, ``0x1``, ``1e0``, ``+1``, ``01``
    (which YAML reads as the same number: the version must be written ``1``, #21 item 8)."""
    if not isinstance(node.value, int | float) or isinstance(node.value, bool):
        return ""
    text = node.src.line(node.line)[node.col - 1 :]
    match = _SPELLING_RE.match(text)
    return match.group(1) if match else ""
