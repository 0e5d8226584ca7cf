"""Turn one config file into one merged document: ``extends``, ``vars``, ``${...}``, identity merge.

Order of work for a file F (see docs/config.md for the user's view):

1. F and every file it extends are read once per run (:class:`FileCache`); checks that depend
   on a single file only (top level, ``version``, ``extends`` and ``vars`` shapes, missing bases)
   are reported once, however many targets use the file.
2. The chain is linearized depth first, bases before the files that extend them, each file
   once: ``extends: [a, b]`` gives ``a's bases, a, b's bases, b, F``.
3. ``vars`` of the chain merge (later files win) and every string of every file is
   interpolated with them and with the environment, before merging, so identities that use a
   variable merge as the user expects.
4. The documents merge in chain order: mappings deep-merge, collections merge by identity
   (``$remove: true`` drops an inherited item), lists inside items and ``call_rules.rule``
   are replaced.
5. The merged tree is flattened into plain data plus the source of every value.

Nothing is mutated: loaded trees are cached and shared between targets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic
from ..model.kinds import COLLECTIONS
from . import guard
from .desired import DocPath, Source
from .diagnostics import bool_hint
from .interpolate import Interpolator, quiet
from .known import unknown_problems
from .load import LoadedFile, Node, read_file

IDENTITY: dict[str, str] = {k.name: k.identity for k in COLLECTIONS if k.identity}
LABEL: dict[str, str] = {k.name: k.label for k in COLLECTIONS}
REPLACED: dict[str, frozenset[str]] = {"call_rules": frozenset({"rule"})}
REMOVE = "$remove"
_GUARDS = frozenset({"policies", "locked"})  # wscfg.config.policies reads them

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PHONE_PUNCT_RE = re.compile(r"[\s().\-]")


def identity_key(kind: str, raw: str) -> str:
    """The comparison key of an identity as written (before the models normalize it)."""
    if kind == "members":
        return raw.strip().lower()
    if kind == "blocked_callers":
        if raw[:1] == "+" and raw[1:].isdigit():  # E.164 as written: nothing to take out
            return raw
        return _PHONE_PUNCT_RE.sub("", raw)
    return raw.strip()


def identity_note(kind: str) -> str:
    if kind == "members":
        return "; emails are compared case-insensitively"
    if kind == "blocked_callers":
        return "; numbers are compared without spaces, dots, dashes and brackets"
    return ""


# --- reading files once per run -------------------------------------------------------------


@dataclass
class FileInfo:
    """One file as read, plus what can be said about it on its own."""

    loaded: LoadedFile
    root: Node | None  # None when the file cannot be used (YAML error, not a mapping)
    bases: list[tuple[str, str, Node]] = field(default_factory=list)  # (name, realpath, node)
    vars: dict[str, Node] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    known: bool = False  # known to be a wscfg config: its lines may be quoted (guard)

    @property
    def name(self) -> str:
        return self.loaded.src.name


class RealPaths(dict[str, str]):
    """``os.path.realpath`` of each path, worked out once per run: a run asks it of one name
    several times (the paths named, the config root check, the cache, every target's
    ``extends: base.yaml``), and each time costs a system call per path component."""

    def __missing__(self, path: str) -> str:
        real = self[path] = os.path.realpath(path)
        return real


class FileCache:
    """Every file read during a run, by real path; per-file problems are handed out once."""

    def __init__(self) -> None:
        self.real = RealPaths()
        self._files: dict[str, FileInfo] = {}
        self._reported: set[str] = set()
        self.cycles: set[frozenset[str]] = set()  # extends cycles already reported
        self.guardrails: dict[int, Any] = {}  # policies/locks per file, compiled once per run

    def shown_names(self) -> tuple[set[str], set[str]]:
        """(names of the files known to be configs, names of the others), as messages name
        them: for :func:`guard.unquoted_unless_known`."""
        known: set[str] = set()
        unknown: set[str] = set()
        for info in self._files.values():
            (known if info.known else unknown).add(info.name)
        return known, unknown

    def get(self, path: str, name: str) -> FileInfo:
        real = self.real[path]
        info = self._files.get(real)
        if info is None:
            info = _inspect(read_file(path, name, real), self.real)
            self._files[real] = info
        return info

    def take_problems(self, info: FileInfo) -> list[Diagnostic]:
        real = info.loaded.src.real
        if real in self._reported:
            return []
        self._reported.add(real)
        return [*info.loaded.diagnostics, *info.problems]


def _inspect(loaded: LoadedFile, realpath: Mapping[str, str]) -> FileInfo:
    problems = unknown_problems(loaded)
    if problems is not None:
        return FileInfo(loaded, None, problems=problems)
    root = loaded.root
    assert root is not None and root.is_map
    info = FileInfo(loaded, root, known=True)
    top = root.value
    if "extends" in top:
        _inspect_extends(info, top["extends"], realpath)
    if "vars" in top:
        _inspect_vars(info, top["vars"])
    return info


def _inspect_extends(info: FileInfo, node: Node, realpath: Mapping[str, str]) -> None:
    items = node.value if node.is_seq else [node]
    if node.is_seq and not items:
        info.problems.append(node.diagnostic("extends: is an empty list", "extends"))
    here = os.path.dirname(info.loaded.src.real)
    shown = os.path.dirname(info.name)
    for i, item in enumerate(items):
        path = f"extends[{i}]" if node.is_seq else "extends"
        value = item.value
        if not isinstance(value, str) or not value.strip():
            info.problems.append(
                item.diagnostic("must be a file path (text) or a list of file paths", path)
            )
            continue
        if "${" in value:
            info.problems.append(
                item.diagnostic("extends paths cannot use ${...} references", path)
            )
            continue
        real = realpath[os.path.join(here, value)]
        name = os.path.normpath(os.path.join(shown, value))
        bad_suffix = guard.suffix_problem(value, real)
        if bad_suffix and not os.path.isdir(real):
            info.problems.append(item.diagnostic(bad_suffix, path))
            continue
        if not os.path.isfile(real):
            why = (
                "is a directory"
                if os.path.isdir(real)
                else "not a regular file"
                if os.path.exists(real)
                else "no such file"
            )
            info.problems.append(item.diagnostic(f"cannot extend '{value}': {why} ({name})", path))
            continue
        info.bases.append((name, real, item))


def _inspect_vars(info: FileInfo, node: Node) -> None:
    if not node.is_map:
        info.problems.append(
            node.diagnostic(
                "must be a mapping of names to values, e.g. `vars: {clinic: North}`", "vars"
            )
        )
        return
    for name, value in node.value.items():
        path = f"vars.{name}"
        if not NAME_RE.match(name):
            info.problems.append(
                value.diagnostic(
                    f"'{name}' is not a valid variable name (letters, digits and '_', not "
                    "starting with a digit)",
                    "vars",
                    at_key=True,
                )
            )
            continue
        v = value.value
        if v is None:
            info.problems.append(value.diagnostic("has no value", path))
            continue
        if isinstance(v, (dict, list)):
            info.problems.append(
                value.diagnostic("a variable's value must be text, a number or true/false", path)
            )
            continue
        if isinstance(v, str) and "${" in v.replace("$${", ""):
            info.problems.append(
                value.diagnostic(
                    "a variable's value cannot contain ${...} references (write $${ for a "
                    "literal ${)",
                    path,
                )
            )
            continue
        if isinstance(v, str):
            value = value.copy(v.replace("$${", "${"))
        info.vars[name] = value


# --- the resolved document -------------------------------------------------------------------


@dataclass
class Resolved:
    """A file after extends, vars and env, ready for validation."""

    file: str
    root: Node | None  # the merged tree; None when the file or a base is unusable
    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[DocPath, Source] = field(default_factory=dict)
    secret_refs: dict[DocPath, str] = field(default_factory=dict)
    env_values: dict[str, str] = field(default_factory=dict)  # name -> value, for redaction
    quiet: set[DocPath] = field(default_factory=set)  # already reported; say nothing more there
    unresolved: dict[DocPath, tuple[Node, tuple[str, ...]]] = field(default_factory=dict)
    env_paths: dict[DocPath, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    var_paths: dict[DocPath, tuple[str, ...]] = field(default_factory=dict)
    var_nodes: dict[str, Node] = field(default_factory=dict)
    nulls: list[DocPath] = field(default_factory=list)  # values written empty (null)
    # (kind, identity key) of every collection item a file this one extends declares
    inherited: set[tuple[str, str]] = field(default_factory=set)
    var_names: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)  # config.policies.CompiledPolicy, in order
    warnings: list[Diagnostic] = field(default_factory=list)  # violations of warning policies
    locks: list[Any] = field(default_factory=list)  # config.policies.Lock of the chain


def resolve(
    path: str, name: str, cache: FileCache, environ: Any, roots: tuple[str, ...] | None = None
) -> Resolved:
    """Resolve one file (as a target or a template) against ``environ``; ``extends`` may only
    reach files inside ``roots`` (default: :func:`guard.roots_for` the file itself)."""
    info = cache.get(path, name)
    out = Resolved(info.name, None)
    out.diagnostics.extend(cache.take_problems(info))
    chain: list[FileInfo] = []
    walk = _Walk(cache, roots if roots is not None else guard.roots_for(path), out.diagnostics)
    if not walk.linearize(info, [], chain):
        return out
    locks: list[Any] = []
    if any(f.root is not None and _GUARDS & f.root.value.keys() for f in chain):
        from .policies import for_chain

        entries = [(f.name, f.root, [real for _n, real, _node in f.bases]) for f in chain]
        out.policies, problems, locks = for_chain(entries, cache.guardrails)
        out.locks = locks
        out.diagnostics.extend(problems)
    # 3. vars of the whole chain, later files win
    merged_vars: dict[str, Node] = {}
    for f in chain:
        merged_vars.update(f.vars)
    out.var_names = sorted(merged_vars)
    out.var_nodes = merged_vars
    interp = Interpolator(merged_vars, environ, out.diagnostics, out.env_values)
    trees = [interp.document(f.root) for f in chain if f.root is not None]
    # 4. merge
    merger = _Merger(out.diagnostics)
    root: Node | None = None
    for n, tree in enumerate(trees):
        if n == len(trees) - 1 and root is not None:
            out.inherited = merger.items(root)  # what the bases declare
        root = merger.document(root, tree)
    assert root is not None
    if merged_vars:
        first = next(
            f.root.value["vars"] for f in reversed(chain) if f.root and "vars" in f.root.value
        )
        root.value["vars"] = first.copy(dict(merged_vars))
    out.root = root
    if locks:
        from .policies import lock_var_problems

        out.diagnostics.extend(lock_var_problems(locks, root, merged_vars))
    # 5. flatten
    out.data = _Flattener(out).mapping(root, ())
    return out


class _Walk:
    """Follows ``extends`` from one target: each base must be inside the config roots and be
    known to be a wscfg config (else it is refused, and its own problems say why without
    quoting it)."""

    def __init__(
        self, cache: FileCache, roots: tuple[str, ...], diagnostics: list[Diagnostic]
    ) -> None:
        self.cache = cache
        self.roots = roots
        self.diagnostics = diagnostics

    def base(self, name: str, real: str, node: Node) -> FileInfo | None:
        path = "extends"
        if not guard.inside(real, self.roots):
            value = node.value if isinstance(node.value, str) else name
            self.diagnostics.append(node.diagnostic(guard.outside_message(value, self.roots), path))
            return None
        base = self.cache.get(real, name)
        if not base.known:  # its own problems quote nothing of it (Unquoted): say why
            self.diagnostics.extend(self.cache.take_problems(base))
            self.diagnostics.append(node.diagnostic(guard.not_a_config_message(name), path))
            return None
        self.diagnostics.extend(self.cache.take_problems(base))
        return base

    def linearize(self, info: FileInfo, stack: list[FileInfo], chain: list[FileInfo]) -> bool:
        """Append ``info``'s chain to ``chain`` (bases first, each file once); False if
        unusable."""
        if info.root is None:
            return False
        ok = True
        stack.append(info)
        for name, real, node in info.bases:
            base = self.base(name, real, node)
            if base is None:
                ok = False
                continue
            if any(s is base for s in stack):
                ok = False
                cycle = [s.name for s in stack[[s is base for s in stack].index(True) :]]
                if frozenset(cycle) in self.cache.cycles:
                    continue
                self.cache.cycles.add(frozenset(cycle))
                msg = (
                    "a file cannot extend itself"
                    if base is info
                    else "these files extend each other in a cycle: "
                    + " → ".join([*cycle, base.name])
                )
                self.diagnostics.append(node.diagnostic(msg, "extends"))
                continue
            if any(c is base for c in chain):
                continue
            ok = self.linearize(base, stack, chain) and ok
        stack.pop()
        chain.append(info)
        return ok


# --- merging ---------------------------------------------------------------------------------


class _Merger:
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics

    def document(self, base: Node | None, child: Node) -> Node:
        if base is None:
            base = child.copy({})
        out = dict(base.value)
        for key, node in child.value.items():
            if key in IDENTITY:
                out[key] = self.collection(key, out.get(key), node)
            elif key in out:
                out[key] = deep_merge(out[key], node, REPLACED.get(key, frozenset()))
            else:
                out[key] = node
        return child.copy(out)

    def items(self, root: Node) -> set[tuple[str, str]]:
        """(kind, identity key) of every collection item of a merged document."""
        out: set[tuple[str, str]] = set()
        for kind in IDENTITY:
            node = root.value.get(kind) if isinstance(root.value, dict) else None
            if node is not None and node.is_seq:
                keys = (self.key(kind, item) for item in node.value)
                out.update((kind, k) for k in keys if k is not None)
        return out

    def collection(self, kind: str, base: Node | None, child: Node) -> Node:
        if not child.is_seq:
            return child
        items: list[Node | None] = list(base.value) if base is not None and base.is_seq else []
        index: dict[str, int] = {}
        for i, item in enumerate(items):
            key = self.key(kind, item)  # type: ignore[arg-type]
            if key is not None:
                index.setdefault(key, i)
        mine: dict[str, Node] = {}
        label = LABEL[kind]
        ident = IDENTITY[kind]
        key_of = self.key
        for n, item in enumerate(child.value):
            if type(item.value) is dict and REMOVE in item.value:
                self.remove(kind, item, items, index, f"{kind}[{n}]")
                continue
            key = key_of(kind, item)
            if key is None:
                items.append(item)
                continue
            if key in mine:
                first = mine[key]
                path = f"{kind}[{n}]"
                self.diagnostics.append(
                    _ident_node(item, ident).diagnostic(
                        f"duplicate {label} '{key}' (first at line {first.line})"
                        + identity_note(kind),
                        f"{path}.{ident}" if item.is_map else path,
                    )
                )
                items.append(quiet(item))  # kept, so later indices match the file
                continue
            mine[key] = item
            at = index.get(key)
            if at is not None and items[at] is not None:
                items[at] = deep_merge(items[at], item)  # type: ignore[arg-type]
            else:
                index[key] = len(items)
                items.append(item)
        return child.copy([i for i in items if i is not None])

    def remove(
        self, kind: str, item: Node, items: list[Node | None], index: dict[str, int], path: str
    ) -> None:
        ident = IDENTITY[kind]
        flag = item.value[REMOVE]
        if flag.value is not True:
            hint = "" if isinstance(flag.value, bool) else bool_hint(flag.value, "true")
            self.diagnostics.append(
                flag.diagnostic(f"$remove must be true{hint}", f"{path}.$remove")
            )
            return
        extra = [k for k in item.value if k not in (ident, REMOVE)]
        if extra:
            self.diagnostics.append(
                item.value[extra[0]].diagnostic(
                    f"an item with $remove: true names only its {ident}; remove '{extra[0]}'",
                    path,
                    at_key=True,
                )
            )
            return
        key = self.key(kind, item)
        if key is None:
            self.diagnostics.append(
                item.diagnostic(f"$remove: true needs the {ident} of the item to remove", path)
            )
            return
        at = index.get(key)
        if at is None or items[at] is None:
            self.diagnostics.append(
                _ident_node(item, ident).diagnostic(
                    f"nothing to remove: no inherited {LABEL[kind]} '{key}' (only items of a file "
                    "this one extends can be removed)",
                    f"{path}.{ident}",
                )
            )
            return
        items[at] = None

    @staticmethod
    def key(kind: str, item: Node) -> str | None:
        raw = item.value
        if type(raw) is dict:
            n = raw.get(IDENTITY[kind])
            raw = n.value if n is not None else None
        elif kind != "blocked_callers":
            raw = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)  # a number as identity (usage_alerts[].threshold)
        if not isinstance(raw, str):
            return None
        return identity_key(kind, raw)


def _ident_node(item: Node, ident: str) -> Node:
    if item.is_map and ident in item.value:
        return item.value[ident]
    return item


def deep_merge(base: Node, child: Node, replace: frozenset[str] = frozenset()) -> Node:
    """Mappings merge key by key (child wins); anything else is replaced by the child."""
    if not (base.is_map and child.is_map):
        return child
    out = dict(base.value)
    for key, node in child.value.items():
        if key in out and key not in replace:
            out[key] = deep_merge(out[key], node)
        else:
            out[key] = node
    return child.copy(out)


# --- flattening ------------------------------------------------------------------------------


class _Flattener:
    """Plain data from the merged tree, recording sources, secrets and quiet paths."""

    def __init__(self, out: Resolved) -> None:
        self.out = out
        self.sources = out.sources

    def mapping(self, node: Node, path: DocPath) -> dict[str, Any]:
        return dict(self._children(node.value.items(), path))

    def sequence(self, node: Node, path: DocPath) -> list[Any]:
        return [v for _, v in self._children(enumerate(node.value), path)]

    def _children(
        self, pairs: Iterable[tuple[Any, Node]], path: DocPath
    ) -> Iterator[tuple[Any, Any]]:
        """Each child's key and plain value; a plain scalar (most values: nothing for
        value() to record) is taken as it is, without a call per value."""
        sources = self.sources
        for key, child in pairs:
            p = (*path, key)
            sources[p] = Source(child.src.name, child.kline, child.kcol)
            v = child.value
            t = type(v)
            if (
                t is dict
                or t is list
                or v is None
                or child.unresolved
                or child.env
                or child.from_vars
                or child.secret_ref is not None
            ):
                v = self.value(child, p)
            yield key, v

    def value(self, node: Node, path: DocPath) -> Any:
        if node.unresolved:
            names = tuple(n for n in node.unresolved if n)
            if names:
                self.out.unresolved[path] = (node, names)
            self.out.quiet.add(path)
        v = node.value
        if isinstance(v, dict):
            return self.mapping(node, path)
        if isinstance(v, list):
            return self.sequence(node, path)
        if v is None:
            self.out.nulls.append(path)
        elif isinstance(v, str) or node.from_vars:
            if node.env:
                self.out.env_paths[path] = node.env
            if node.from_vars:
                self.out.var_paths[path] = node.from_vars
            if node.secret_ref is not None:
                self.out.secret_refs[path] = node.secret_ref
        return v
