"""Read one YAML file into a tree of :class:`Node` objects that know their file:line:col.

The parser is libyaml (through PyYAML's ``CParser``; the pure-Python parser when libyaml is
missing), driven event by event. Composing the tree ourselves instead of using a library
composer lets us, in one pass and without any intermediate objects:

- record the position of every key and every value;
- refuse duplicate keys (all of them, each at its own line), non-text keys and unknown tags;
- resolve plain scalars with the YAML 1.2 core schema (``yes``/``no``/``on`` stay text,
  ``0777`` is a number, timestamps stay text);
- support anchors, aliases and ``<<`` merge keys, but refuse an alias bomb quickly: an alias
  shares the anchored subtree, and the number of nodes that aliases add is capped;
- cap the nesting depth (libyaml's own composer overflows the C stack on deep nesting).

Nothing here knows about wscfg's format: see :mod:`wscfg.config.resolve` for ``extends``,
``vars`` and ``${env:...}``. Nothing here raises for bad input either: problems come back as
:class:`~wscfg.config.sourcefile.Unquoted` diagnostics. A file with any problem here is not
known to be a wscfg config (:mod:`wscfg.config.guard`), so these messages quote nothing of it:
no line, key, value, tag or anchor name, only where and what.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, NamedTuple

from ..errors import Diagnostic
from . import guard
from .sourcefile import FORBIDDEN_RE, SourceFile, Unquoted

MAX_FILE_BYTES = guard.MAX_FILE_BYTES
MAX_ALIAS_NODES = 100_000  # nodes added by alias expansion, per file
MAX_DEPTH = 64  # nesting of mappings and lists

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT_RE = re.compile(r"[-+]?[0-9]+\Z")
_OCT_RE = re.compile(r"0o[0-7]+\Z")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")

_TAG = "tag:yaml.org,2002:"
_STR_TAGS = frozenset({_TAG + "str", "!"})


class Node:
    """A value in a config file and where it was written.

    ``value`` is a ``dict[str, Node]``, a ``list[Node]`` or a plain scalar (str, int, float,
    bool or None). ``line``/``col`` locate the value, ``kline``/``kcol`` the key it is the
    value of (equal to the value's position for list items and the document). ``size`` is the
    number of nodes in the subtree; ``dollar`` tells whether a string in it contains ``$`` (so
    interpolation can skip the rest). ``env`` lists the ``${env:NAME}`` references (name, value)
    whose values went into a string, ``from_vars`` the ``${var.x}`` ones; ``unresolved`` names
    the undefined ``${var.x}`` references left in it; ``secret_ref`` is set when the whole value
    is one ``${env:NAME}`` in a secret field.
    """

    __slots__ = (
        "col",
        "dollar",
        "env",
        "from_vars",
        "kcol",
        "kline",
        "line",
        "secret_ref",
        "size",
        "src",
        "unresolved",
        "value",
    )

    def __init__(
        self,
        value: Any,
        src: SourceFile,
        line: int,
        col: int,
        kline: int = 0,
        kcol: int = 0,
        size: int = 1,
    ) -> None:
        self.value = value
        self.src = src
        self.line = line
        self.col = col
        self.kline = kline or line
        self.kcol = kcol or col
        self.size = size
        self.dollar = isinstance(value, str) and "$" in value
        self.env: tuple[tuple[str, str], ...] = ()
        self.from_vars: tuple[str, ...] = ()
        self.unresolved: tuple[str, ...] = ()
        self.secret_ref: str | None = None

    def copy(self, value: Any) -> Node:
        """The same position (and key position) with another value."""
        n = Node(value, self.src, self.line, self.col, self.kline, self.kcol, self.size)
        n.dollar = self.dollar
        n.env = self.env
        n.from_vars = self.from_vars
        n.unresolved = self.unresolved
        n.secret_ref = self.secret_ref
        return n

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    def diagnostic(self, message: str, path: str = "", *, at_key: bool = False) -> Diagnostic:
        if at_key:
            return self.src.diagnostic(self.kline, self.kcol, message, path)
        return self.src.diagnostic(self.line, self.col, message, path)

    def to_plain(self) -> Any:
        """The value as plain Python data (dicts, lists, scalars)."""
        v = self.value
        if isinstance(v, dict):
            return {k: n.to_plain() for k, n in v.items()}
        if isinstance(v, list):
            return [n.to_plain() for n in v]
        return v


class LoadedFile:
    """The outcome of reading one file: its root node (None when unusable) and problems."""

    __slots__ = ("diagnostics", "root", "src")

    def __init__(self, src: SourceFile, root: Node | None, diagnostics: list[Unquoted]):
        self.src = src
        self.root = root
        self.diagnostics = diagnostics


class _Fatal(Exception):
    """Stops composing: the rest of the file cannot be trusted."""

    def __init__(self, diagnostic: Unquoted) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.too_deep = False  # the nesting cap, which libyaml may pre-empt (see parse_text)


# --- reading ------------------------------------------------------------------------------


def read_file(path: str, name: str | None = None, real: str | None = None) -> LoadedFile:
    """Read, decode and parse ``path``; ``name`` is how messages call it (default: path);
    ``real``: its real path, when the caller knows it."""
    name = name or path
    real = real or os.path.realpath(path)
    src = SourceFile(name, real)
    data, problem = guard.read_config_bytes(path)  # the one file rule (regular, capped)
    if data is None:
        return _fail(src, problem or "cannot read the file")
    return parse_bytes(data, src)


def parse_bytes(data: bytes, src: SourceFile) -> LoadedFile:
    if len(data) > MAX_FILE_BYTES:
        return _fail(src, f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = " (it looks like UTF-16)"
        src.text = data[: exc.start].decode("utf-8", "replace")
        return _fail_at(
            src,
            data,
            exc.start,
            f"the file is not valid UTF-8 text{hint}: byte 0x{data[exc.start]:02x} "
            "cannot be decoded; save the file as UTF-8",
        )
    return parse_text(text, src)


def parse_text(text: str, src: SourceFile) -> LoadedFile:
    """Parse YAML text into a :class:`Node` tree (None for an empty document)."""
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark is fine
        text = text[1:]
    src.text = text
    bad = FORBIDDEN_RE.search(text)
    if bad:
        return _fail_at(
            src,
            text,
            bad.start(),
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML; "
            "remove it (or write it as an escape inside double quotes)",
        )
    import yaml

    composer = _Composer(src)
    try:
        root = composer.compose(text)
    except _Fatal as exc:
        return LoadedFile(src, None, [*composer.diagnostics, exc.diagnostic])
    except yaml.YAMLError as exc:  # a syntax error, or libyaml's own nesting limit
        too_deep = _depth_cap_before(text, src, exc)
        if too_deep is not None:
            return LoadedFile(src, None, [*too_deep.diagnostics, too_deep.diagnostic])
        from .yamlerrors import syntax_diagnostic

        return LoadedFile(src, None, [*composer.diagnostics, syntax_diagnostic(exc, src)])
    return LoadedFile(src, root, composer.diagnostics)


class _TooDeep(NamedTuple):
    diagnostic: Unquoted
    diagnostics: list[Unquoted]


def _depth_cap_before(text: str, src: SourceFile, exc: Exception) -> _TooDeep | None:
    """Our own nesting cap, if the document breaks it no later than where libyaml failed.

    libyaml scans up to 1,024 characters ahead of the events it hands out, and newer builds
    (PyYAML 6.0.3+) refuse deep nesting by themselves, so with a deep flow collection the C
    parser can fail before our composer sees the 65th level. The same composer over PyYAML's
    pure-Python parser, which has no limit of its own, finds our cap at the same place on
    every PyYAML version; this runs only on the error path.
    """
    import yaml

    mark = getattr(exc, "problem_mark", None)
    composer = _Composer(src)
    try:
        composer.compose(text, yaml.SafeLoader(text))
    except _Fatal as fatal:
        diag = fatal.diagnostic
        if not fatal.too_deep:
            return None
        if mark is not None and (diag.line, diag.column) > (mark.line + 1, mark.column + 1):
            return None
        return _TooDeep(diag, composer.diagnostics)
    except yaml.YAMLError:
        return None
    return None


def _fail(src: SourceFile, message: str) -> LoadedFile:
    return LoadedFile(src, None, [src.unquoted(0, 0, message)])


def _fail_at(src: SourceFile, buf: str | bytes, offset: int, message: str) -> LoadedFile:
    """A file that cannot be parsed at all, with the 1-based line and column of ``offset``."""
    newline = b"\n" if isinstance(buf, bytes) else "\n"
    line = buf.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    col = offset - (buf.rfind(newline, 0, offset) + 1) + 1  # type: ignore[arg-type]
    return LoadedFile(src, None, [src.unquoted(line, col, message)])


def _parser(text: str) -> Any:
    import yaml

    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return yaml.SafeLoader(text)
    return CParser(text)


# --- composing ------------------------------------------------------------------------------


class _Frame:
    __slots__ = ("anchor", "container", "key", "merges", "node")

    def __init__(self, node: Node, container: Any, anchor: str | None) -> None:
        self.node = node
        self.container = container
        self.anchor = anchor
        self.key: tuple[str, int, int] | None = None  # pending key: text, line, col
        self.merges: list[Node] = []


_SKIP = ("", 0, 0)  # a pending key whose value is dropped (the key itself was bad)


class _MergeKey(str):
    """The plain scalar ``<<`` (a quoted '<<' is an ordinary key)."""


MERGE = _MergeKey("<<")


class _Composer:
    def __init__(self, src: SourceFile) -> None:
        self.src = src
        self.diagnostics: list[Unquoted] = []
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.alias_budget = MAX_ALIAS_NODES

    def error(self, line: int, col: int, message: str) -> None:
        """``message``: wscfg's own words only (see :class:`Unquoted`)."""
        self.diagnostics.append(self.src.unquoted(line, col, message))

    def fatal(self, line: int, col: int, message: str) -> _Fatal:
        return _Fatal(self.src.unquoted(line, col, message))

    def compose(self, text: str, parser: Any = None) -> Node | None:
        import yaml

        scalar_ev, alias_ev = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        doc_start, doc_end, stream_end = (
            yaml.DocumentStartEvent,
            yaml.DocumentEndEvent,
            yaml.StreamEndEvent,
        )

        parser = parser if parser is not None else _parser(text)
        get = parser.get_event
        plain = self._plain
        src = self.src
        stack: list[_Frame] = []
        root: Node | None = None
        seen_document = False
        while True:
            ev = get()
            cls = ev.__class__
            mark = ev.start_mark
            if cls is scalar_ev:
                line, col = mark.line + 1, mark.column + 1
                value = ev.value
                if ev.tag is not None:
                    value = self._scalar_value(ev, line, col)
                elif not ev.style:
                    value = plain(value, line, col)
                if stack and not ev.anchor:
                    top = stack[-1]
                    if top.key is None and type(top.container) is dict:
                        # a mapping's key: what _key keeps of it, without a node
                        if type(value) is str:
                            top.key = (value, line, col)
                        else:
                            top.key = self._key_of(value, line, col)
                        continue
                node = Node(value, src, line, col)
                if ev.anchor:
                    self._anchor(ev.anchor, node)
            elif cls is map_start or cls is seq_start:
                if len(stack) >= MAX_DEPTH:
                    too_deep = self.fatal(
                        mark.line + 1,
                        mark.column + 1,
                        f"nesting is deeper than {MAX_DEPTH} levels; refusing this document",
                    )
                    too_deep.too_deep = True
                    raise too_deep
                self._check_tag(ev.tag, "map" if cls is map_start else "seq", mark)
                container: Any = {} if cls is map_start else []
                node = Node(container, src, mark.line + 1, mark.column + 1)
                if ev.anchor:
                    self.open_anchors.add(ev.anchor)
                stack.append(_Frame(node, container, ev.anchor))
                continue
            elif cls is map_end or cls is seq_end:
                frame = stack.pop()
                node = frame.node
                if frame.merges:
                    self._apply_merges(frame)
                values = node.value.values() if cls is map_end else node.value
                node.size = 1 + sum(n.size for n in values)
                node.dollar = any(n.dollar for n in values)
                if frame.anchor:
                    self.open_anchors.discard(frame.anchor)
                    self._anchor(frame.anchor, node)
            elif cls is alias_ev:
                node = self._alias(ev, stack)
            elif cls is doc_start:
                if seen_document:
                    raise self.fatal(
                        mark.line + 1,
                        mark.column + 1,
                        "a second YAML document ('---') starts here; a config file holds "
                        "exactly one document",
                    )
                seen_document = True
                continue
            elif cls is doc_end:
                continue
            elif cls is stream_end:
                return root
            else:  # StreamStart
                continue

            if not stack:
                root = node
                continue
            top = stack[-1]
            container = top.container
            if type(container) is list:
                container.append(node)
                continue
            key = top.key
            if key is None:
                top.key = self._key(node)
                continue
            top.key = None
            text = key[0]
            if text is MERGE or key is _SKIP or text in container:
                self._set(top, key, node)
            else:  # _set's common case
                node.kline, node.kcol = key[1], key[2]
                container[text] = node

    # -- scalars, keys, tags

    def _scalar_value(self, ev: Any, line: int, col: int) -> Any:
        value: Any = ev.value
        tag = ev.tag
        if tag is None:
            if not ev.style:  # plain scalar: YAML 1.2 core schema
                return self._plain(value, line, col)
        elif tag not in _STR_TAGS:
            return self._tagged(tag, value, line, col)
        return value

    def _plain(self, text: str, line: int, col: int) -> Any:
        if text in _NULLS:
            return None
        first = text[0]
        if first in "tTfF":
            return True if text in _TRUE else False if text in _FALSE else text
        if first == "<" and text == "<<":
            return MERGE
        if first in "-+.0123456789":
            try:
                if _INT_RE.match(text):
                    return int(text)
                if _OCT_RE.match(text):
                    return int(text[2:], 8)
                if _HEX_RE.match(text):
                    return int(text[2:], 16)
                if _FLOAT_RE.match(text):
                    value = float(text)
                    if math.isinf(value):
                        raise ValueError
                    return value
            except ValueError:
                self.error(line, col, "this number is too large; quote it if it is text")
                return text
            if _SPECIAL_FLOAT_RE.match(text):
                self.error(line, col, "infinity and NaN are not allowed: numbers must be finite")
                return text
        return text

    def _tagged(self, tag: str, text: str, line: int, col: int) -> Any:
        short = tag.replace(_TAG, "!!")
        name = tag[len(_TAG) :] if tag.startswith(_TAG) else ""
        if name in ("null", "bool", "int", "float"):
            value = self._plain(text, line, col)
            ok = {
                "null": value is None,
                "bool": isinstance(value, bool),
                "int": isinstance(value, int) and not isinstance(value, bool),
                "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            }[name]
            if ok:
                return float(value) if name == "float" else value
            self.error(line, col, f"this value is not a valid {short}")  # one of four tags
            return text
        self.error(
            line,
            col,
            "unsupported YAML tag; wscfg reads plain YAML (use ${env:NAME} for environment values)",
        )
        return text

    def _check_tag(self, tag: str | None, kind: str, mark: Any) -> None:
        if tag is None or tag == "!" or tag == _TAG + kind:
            return
        self.error(
            mark.line + 1,
            mark.column + 1,
            "unsupported YAML tag; wscfg reads plain YAML",
        )

    def _key(self, node: Node) -> tuple[str, int, int]:
        return self._key_of(node.value, node.line, node.col)

    def _key_of(self, value: Any, line: int, col: int) -> tuple[str, int, int]:
        if isinstance(value, str):
            return (value, line, col)
        if isinstance(value, (dict, list)):
            self.error(line, col, "a mapping key must be text, not a list or mapping")
        elif value is None:
            self.error(line, col, "a mapping key must not be empty")
        else:
            text = "true/false" if isinstance(value, bool) else "a number"
            self.error(line, col, f"a mapping key must be text, not {text}; put quotes around it")
        return _SKIP

    def _set(self, frame: _Frame, key: tuple[str, int, int], node: Node) -> None:
        if key is _SKIP:
            return
        text, kline, kcol = key
        if text is MERGE:
            frame.merges.append(node)
            return
        mapping = frame.container
        if text in mapping:
            self.error(
                kline,
                kcol,
                f"duplicate key (first defined at line {mapping[text].kline}); "
                "a key may appear only once in a mapping",
            )
            return
        node.kline, node.kcol = kline, kcol
        mapping[text] = node

    # -- anchors, aliases, merge keys

    def _anchor(self, name: str, node: Node) -> None:
        self.anchors[name] = node

    def _alias(self, ev: Any, stack: list[_Frame]) -> Node:
        mark = ev.start_mark
        line, col = mark.line + 1, mark.column + 1
        name = ev.anchor
        if name in self.open_anchors:
            raise self.fatal(
                line, col, "this alias refers to a node that contains it (a recursive alias)"
            )
        target = self.anchors.get(name)
        if target is None:
            raise self.fatal(line, col, "this alias refers to an anchor not defined above")
        self.alias_budget -= target.size
        if self.alias_budget < 0:
            raise self.fatal(
                line,
                col,
                f"YAML aliases here expand to more than {MAX_ALIAS_NODES:,} nodes; refusing the "
                "document (an alias bomb?)",
            )
        node = target.copy(target.value)
        node.kline, node.kcol = line, col
        return node

    def _apply_merges(self, frame: _Frame) -> None:
        """``<<: *defaults``: keys of the merged mappings that the mapping does not set itself
        (earlier merge sources win over later ones)."""
        mapping: dict[str, Node] = frame.container
        for source in frame.merges:
            for s in source.value if source.is_seq else [source]:
                if not s.is_map:
                    self.error(
                        s.line,
                        s.col,
                        "the value of a '<<' merge key must be a mapping or a list of mappings",
                    )
                    continue
                for k, v in s.value.items():
                    if k not in mapping:
                        mapping[k] = v
