"""What a config file may make wscfg read, and what a diagnostic may quote.

- **The config root.** ``extends`` names a ``.yaml``/``.yml`` regular file inside the config
  root: the nearest git work tree enclosing the file named on the command line, else the
  directory named on the command line (or the directory of the file named). ``--config-root
  DIR`` adds more. Symbolic links are followed before the check, so a link inside the root that
  points outside it is refused too.
- **Known configs (the quoting rule).** A message may quote a file's lines, keys or values
  only once the file is *known to be a wscfg config* (:func:`known_config`): it was read
  under the one file rule, it is UTF-8 YAML that parsed with no problem at all (one document,
  no syntax error, duplicate key, unknown tag, bad alias or number), its top level is a
  mapping, ``version`` there is written ``1``, and every top-level key is a key of the config
  format or an ``x-`` key. A near typo of a key does not count (``api_key`` is one letter from
  ``api_keys``, and is what a secrets file says). Until then a message gives the file, line,
  column and the problem in wscfg's own words (:class:`~wscfg.config.sourcefile.Unquoted`),
  and :func:`unquoted_unless_known` makes every other diagnostic of such a file a bare
  location, whatever made it. A file reached through ``extends`` that is not known to be a
  config is refused with one message that quotes none of its content.
- **Environment values.** No diagnostic quotes a source line that contains the value of an
  environment variable the run can see (compared case-insensitively; values shorter than
  :data:`MIN_GUARDED` characters, such as ``true`` or ``1``, are too common to hide), and
  messages name such values by ``${env:NAME}`` (values that are file paths excepted: messages
  name files).
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

from ..errors import Diagnostic

MIN_GUARDED = 6
YAML_SUFFIXES = (".yaml", ".yml")


# --- the config root -------------------------------------------------------------------------


def git_work_tree(directory: str) -> str | None:
    """The nearest folder at or above ``directory`` holding a ``.git`` (a git work tree)."""
    here = directory
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def root_of(named: str) -> str:
    """The config root of a path named on the command line: the nearest git work tree
    enclosing the directory named (or the directory holding the file named, where the name
    is, not where a symbolic link points), else that directory."""
    if os.path.isdir(named):
        directory = os.path.realpath(named)
    else:
        directory = os.path.realpath(os.path.dirname(os.path.abspath(named)))
    return git_work_tree(directory) or directory


def roots_for(named: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    return (root_of(named), *(os.path.realpath(r) for r in extra))


def inside(real: str, roots: Iterable[str]) -> bool:
    """True when the resolved path ``real`` is one of ``roots`` or below one of them."""
    for root in roots:
        prefix = root if root.endswith(os.sep) else root + os.sep
        if real == root or real.startswith(prefix):
            return True
    return False


def outside_message(value: str, roots: Sequence[str]) -> str:
    return (
        f"cannot extend '{value}': it is outside the config root {roots[0]} (a config may only "
        "extend files in its own repository or folder; pass --config-root DIR to allow another)"
    )


def suffix_problem(value: str, real: str) -> str | None:
    """Why ``extends: value`` (resolving to ``real``) names no YAML file, or None."""
    if not value.lower().endswith(YAML_SUFFIXES) or not real.lower().endswith(YAML_SUFFIXES):
        return f"cannot extend '{value}': only .yaml or .yml config files can be extended"
    return None


def not_a_config_message(name: str) -> str:
    return (
        f"cannot extend '{name}': it is not known to be a wscfg config (the problems reported "
        "in it say why); none of its content is shown"
    )


def link_outside_message(roots: Sequence[str]) -> str:
    return (
        f"is a symbolic link to a file outside the config root {roots[0]}; it is not read "
        "(pass --config-root DIR to allow another)"
    )


# --- the one file rule: what wscfg reads as a config file -------------------------------------

MAX_FILE_BYTES = 50 * 1024 * 1024  # a larger config file is refused unread


def read_config_bytes(path: str) -> tuple[bytes | None, str | None]:
    """The bytes of ``path`` if it is a regular file of at most :data:`MAX_FILE_BYTES`, else
    ``(None, why)``. Every file wscfg reads as config goes through here, whether named on the
    command line, found by a folder or glob scan, or reached through ``extends``. A FIFO,
    device or socket is refused from ``stat`` without being opened, and the file is opened
    non-blocking and checked again with ``fstat`` (it may have been swapped in between)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "no such file"
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"
    problem = _not_regular(st.st_mode) or _too_big(st.st_size)
    if problem:
        return None, problem
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"
    try:
        st = os.fstat(fd)
        problem = _not_regular(st.st_mode) or _too_big(st.st_size)
        if problem:
            return None, problem
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror or exc}"
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        return None, _too_big(len(data))
    return data, None


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    what = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"is {what}, not a regular file; only regular files are read as config"


def _too_big(size: int) -> str | None:
    if size <= MAX_FILE_BYTES:
        return None
    mb = MAX_FILE_BYTES // (1024 * 1024)
    return f"the file is larger than {mb} MB ({size:,} bytes); refusing to read it"


# --- the quoting rule -------------------------------------------------------------------------

NOT_KNOWN = "none of its content is shown"
# What a diagnostic of a file not known to be a config says when its message may quote the
# file (it was made by code that does not build Unquoted ones): the location, and this.
GENERIC = f"a problem here; this file is not known to be a wscfg config, so {NOT_KNOWN}"

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (dict, "object"),
    (list, "array"),
    (type(None), "null"),
)


@cache
def _top_shapes() -> dict[str, frozenset[str]]:
    """Top-level key of the format -> the JSON types its value may have (from the schema)."""
    from .schemacheck import schema

    doc = schema()
    out: dict[str, frozenset[str]] = {}
    for key, prop in doc["properties"].items():
        types: set[str] = set()
        for branch in prop.get("anyOf", [prop]):
            if "$ref" in branch:
                branch = doc["$defs"][branch["$ref"].rsplit("/", 1)[-1]]
            kind = branch.get("type")
            types.update([kind] if isinstance(kind, str) else kind or ())
        if "number" in types:
            types.add("integer")
        out[key] = frozenset(types)
    return out


def config_keys() -> frozenset[str]:
    return frozenset(_top_shapes())


def config_key(key: object) -> bool:
    """A top-level key a config may have: one of the format's, or an ``x-`` extension key.
    Only exact keys count (a near typo is what a secrets file says: ``api_key``)."""
    return isinstance(key, str) and (key in _top_shapes() or key.startswith("x-"))


def shape_of(value: object) -> str:
    """The JSON type of a plain YAML value (``bool`` before ``int``: a bool is an int)."""
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), "?")


def shape_fits(key: str, value: object) -> bool:
    """True when ``value`` (plain: a dict, list or scalar) has a shape the format gives the
    top-level ``key`` (a mapping for ``workspace``, a list for ``members``…); ``x-`` keys take
    anything."""
    shapes = _top_shapes().get(key)
    return shapes is None or shape_of(value) in shapes


def shape_words(key: str) -> str:
    """What the top-level ``key``'s value must be, in words (for a message)."""
    words = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a number"}
    shapes = _top_shapes().get(key, frozenset())
    named = [w for k, w in words.items() if k in shapes]
    return " or ".join(named) or "something else"


def kind_words(value: object) -> str:
    """What ``value`` is, in words that quote none of it: "a mapping", "text", …"""
    return {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "integer": "a number",
        "number": "a number",
        "boolean": "true/false",
        "null": "empty",
    }.get(shape_of(value), "a value")


def known_config(parsed_cleanly: bool, top: object, version_written_1: bool) -> bool:
    """The quoting rule (see the module's docstring): the file parsed with no problem, its
    top level ``top`` (key -> plain value) is a mapping with ``version`` written ``1``, and
    every key is a config key whose value has the shape the format gives it."""
    return (
        parsed_cleanly
        and isinstance(top, dict)
        and version_written_1
        and all(config_key(k) and shape_fits(k, v) for k, v in top.items())
    )


def unquoted_unless_known(
    diagnostics: Iterable[Diagnostic], known: Iterable[str], unknown: Iterable[str]
) -> list[Diagnostic]:
    """The one place every diagnostic passes before it is shown (``check_paths`` and the
    template reader call it): a diagnostic of a file that is not in ``known`` (or is in
    ``unknown``: two files may be shown under one name) keeps its message only when it is an
    :class:`~wscfg.config.sourcefile.Unquoted` one (and its path, a key of the format); any
    other becomes its location and :data:`GENERIC`. Either way it shows no line."""
    from .sourcefile import Unquoted

    ok = set(known) - set(unknown)
    out: list[Diagnostic] = []
    for d in diagnostics:
        if d.file in ok:
            out.append(d if type(d) is Diagnostic else Diagnostic(*dataclasses.astuple(d)))
        else:
            if isinstance(d, Unquoted):
                out.append(Diagnostic(d.file, d.line, d.column, d.path, d.message))
            else:
                out.append(Diagnostic(d.file, d.line, d.column, "", GENERIC))
    return out


# --- environment values in diagnostics --------------------------------------------------------


class EnvGuard:
    """Finds environment values (any case) in text that is about to be shown."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        names: dict[str, str] = {}
        for name, value in environ.items():
            if isinstance(value, str) and len(value.strip()) >= MIN_GUARDED:
                names.setdefault(value.lower(), name)
        self._names = names
        self._any = _pattern(names)
        self._messages = _pattern({v: n for v, n in names.items() if not _is_path(v)})

    def quotes_env(self, text: str) -> bool:
        return bool(text) and self._any is not None and self._any.search(text) is not None

    def mask(self, text: str) -> str:
        if not text or self._messages is None:
            return text
        return self._messages.sub(self._reference, text)

    def _reference(self, match: re.Match[str]) -> str:
        return "${env:" + self._names.get(match.group().lower(), "…") + "}"

    def diagnostic(self, d: Diagnostic) -> Diagnostic:
        quoted = self.quotes_env(d.source_line)
        message = self.mask(d.message)
        if not quoted and message == d.message:
            return d
        if quoted:
            return Diagnostic(d.file, d.line, d.column, d.path, message, rule=d.rule)
        return Diagnostic(
            d.file, d.line, d.column, d.path, message, d.source_line, d.source_column, d.rule
        )


def _is_path(value: str) -> bool:
    return value.startswith(("/", "~", "./", "../")) or (os.pathsep in value and "/" in value)


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(values, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)


def guard_diagnostics(
    diagnostics: Sequence[Diagnostic], environ: Mapping[str, str]
) -> list[Diagnostic]:
    if not diagnostics:
        return list(diagnostics)
    guard = EnvGuard(environ)
    return [guard.diagnostic(d) for d in diagnostics]
