"""``policies:`` and ``locked:``: read, inherit and compile the guardrails of an extends chain.

A policy is a JSON Schema (2020-12) that a workspace's resolved document must satisfy (the
config's document before apply, the live document in plan and drift). This module:

- reads each file's ``policies``/``locked`` once per run (cached on the file) and compiles each
  policy once (:class:`CompiledPolicy`), refusing a bad schema at its own line;
- joins the chain of one target: every policy of every file (names unique across the chain,
  so a file can neither redefine nor weaken an inherited policy; ``$remove`` is refused) and
  every lock (:class:`Lock`: only the locking file and the files it extends may set the key,
  its ``manage``/``ignore`` entry or a variable used in it, and a target may not reorder
  them);
- checks a document (:meth:`CompiledPolicy.violations`): located paths and messages that
  quote the policy, never the checked value.

The JSON Schema side (what is refused before compiling, the engines, how a violation is
worded) is :mod:`wscfg.config.policy_schema`; docs/policies.md says it for users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Diagnostic
from ..escape import describe as describe_char
from ..escape import first_unsafe
from ..escape import text as safe_text
from .desired import DocPath
from .diagnostics import did_you_mean, format_path, node_at
from .load import Node
from .policy_schema import compile_schema, describe, first, meta_problems, shape_problems

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
POLICY_KEYS = ("name", "description", "severity", "schema")
SEVERITIES = ("error", "warning")
MAX_POLICIES = 200  # per file
MAX_ERRORS = 50  # violations reported per policy and document
MAX_DESCRIPTION = 500  # characters (line breaks folded): it heads every report of the policy
UNLOCKABLE = ("version", "extends", "locked")
# wscfg's own rule ids in CI reports (config/reports.py): an error, an unset ${env:X}
WSCFG_RULE_IDS = ("config-invalid", "env-unset")


@dataclass(eq=False)
class CompiledPolicy:
    """One compiled policy and where it was declared."""

    name: str
    description: str
    severity: str
    file: str
    line: int
    column: int
    validator: Any = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def label(self) -> str:
        return f"policy '{self.name}' ({self.description})"

    def violations(self, document: Any) -> list[tuple[DocPath, DocPath, str]]:
        """(path named in the message, path to locate it at, what is wrong) per violation of
        ``document``; [] when it conforms. No message quotes a value of the document."""
        try:
            if self.validator.is_valid(document):
                return []
            errors = list(first(self.validator.iter_errors(document), MAX_ERRORS))
        except Exception:  # a value the Rust side cannot read (e.g. a lone surrogate)
            return [((), (), "the document holds a value the policy check cannot read")]
        # The words quote the policy's own values (a pattern, a const): never a raw control
        # or bidirectional character in any report, JSON included.
        out = [(named, at, safe_text(what)) for named, at, what in map(describe, errors)]
        return out or [((), (), "does not satisfy the policy")]


@dataclass
class Guardrails:
    """The policies and locks of one file (as read and compiled once per run)."""

    policies: list[CompiledPolicy] = field(default_factory=list)
    names: dict[str, Node] = field(default_factory=dict)  # policy name -> its `name:` node
    locked: list[tuple[str, Node]] = field(default_factory=list)  # (key, its node)
    problems: list[Diagnostic] = field(default_factory=list)


def of_file(root: Node | None, cache: dict[int, Guardrails]) -> Guardrails:
    """The guardrails a file declares (compiled once per run: ``cache`` keyed by the tree)."""
    if root is None or not root.is_map:
        return Guardrails()
    got = cache.get(id(root))
    if got is None:
        got = cache[id(root)] = _read(root)
    return got


@dataclass(frozen=True)
class Lock:
    """``locked: [key]`` in one file: only that file and the files it extends may set the key
    (directly, through ``manage``/``ignore`` of it, or through a ``vars`` value it uses)."""

    key: str
    file: str  # the locking file's name in messages
    node: Node  # the `key` item of its `locked:` list
    allowed: frozenset[str]  # real paths of the locking file and every file it extends
    real: str = ""  # the locking file's real path

    def said(self) -> str:
        return (
            f"(`locked: [{self.key}]` at {self.file}:{self.node.line}:{self.node.col}); only "
            f"{self.file} and the files it extends may set it"
        )


def for_chain(
    chain: Sequence[tuple[str, Node | None, Sequence[str]]], cache: dict[int, Guardrails]
) -> tuple[list[CompiledPolicy], list[Diagnostic], list[Lock]]:
    """Every policy and lock of an extends chain (bases first: (name, root, real paths of the
    file's own bases)) and the problems of joining them: a name used twice, a locked key set
    by a file that is neither the locking file nor one it extends, wherever that file stands
    in the merge order (a sibling listed before the locking file would otherwise survive the
    merge for what the locking file does not set)."""
    policies: list[CompiledPolicy] = []
    problems: list[Diagnostic] = []
    by_name: dict[str, CompiledPolicy] = {}
    defined_in: dict[str, str] = {}  # policy name -> real path of the file declaring it
    locks: list[Lock] = []
    ancestors: dict[str, frozenset[str]] = {}
    for _name, root, bases in chain:
        if root is None:
            continue
        got: set[str] = set()
        for real in bases:
            got.add(real)
            got |= ancestors.get(real, frozenset())
        ancestors[root.src.real] = frozenset(got)
    for name, root, _bases in chain:
        g = of_file(root, cache)
        problems.extend(g.problems)
        for p in g.policies:
            first = by_name.get(p.name)
            if first is not None:
                node = g.names[p.name]
                assert root is not None
                said = f"policy '{p.name}' is already defined at {first.where}"
                if defined_in[p.name] in ancestors.get(root.src.real, frozenset()):
                    said += (
                        "; policy names are unique across an extends chain, and a file cannot "
                        "redefine (or weaken) a policy it inherits"
                    )
                else:  # siblings of one target: neither extends the other
                    said += (
                        ", in another file this target extends (neither extends the other); "
                        "policy names are unique across an extends chain: one cannot replace "
                        "(or weaken) the other"
                    )
                problems.append(node.diagnostic(said, "policies"))
                continue
            by_name[p.name] = p
            assert root is not None
            defined_in[p.name] = root.src.real
            policies.append(p)
        if root is not None:
            real = root.src.real
            for key, node in g.locked:
                if not any(k.key == key for k in locks):
                    locks.append(Lock(key, name, node, ancestors[real] | {real}, real))
    for _name, root, _bases in chain:
        if root is not None and root.is_map:
            problems.extend(_set_below(root, locks))
    problems.extend(_reordered(chain, locks))
    return policies, problems, locks


def _reordered(
    chain: Sequence[tuple[str, Node | None, Sequence[str]]], locks: list[Lock]
) -> Iterator[Diagnostic]:
    """A target whose ``extends`` lists merge two files a lock allows in another order than
    the locking file itself does (naming them first, in the other order): later files win,
    so that would change the locked value (or a variable used in it) without setting it."""
    files = {root.src.real: (name, root, bases) for name, root, bases in chain if root}
    order = list(files)  # the target's merge order
    last = chain[-1][1]
    for lock in locks:
        own: list[str] = []  # the locking file's own merge order (resolve._Walk's rule)

        def visit(real: str, own: list[str] = own) -> None:
            for base in files[real][2] if real in files else ():
                if base not in own:
                    visit(base)
            own.append(real)

        visit(lock.real)
        matter = [r for r in order if r in lock.allowed and _sets(files[r][1], lock.key)]
        mine = [r for r in own if r in matter]
        if matter == mine or last is None:
            continue
        a, b = next((x, y) for x, y in zip(matter, mine, strict=True) if x != y)
        where = last.value.get("extends", last) if last.is_map else last
        yield where.diagnostic(
            f"`{lock.key}` is locked {lock.said()}; this target merges {files[a][0]} before "
            f"{files[b][0]}, which {lock.file} merges the other way round, and the later one "
            "wins: list them in its order, or not at all",
            "extends",
        )


def _lock_nodes(top: dict[str, Node], key: str) -> Iterator[tuple[str, Node]]:
    """What a file's top level writes of a locked ``key``: the key itself and its entries
    under ``manage`` and ``ignore`` (which change what the locked value means on the live
    workspace), each with its path (``security``, ``manage.security``)."""
    if key in top:
        yield key, top[key]
    for outer in ("manage", "ignore"):
        node = top.get(outer)
        if isinstance(node, Node) and node.is_map and key in node.value:
            yield f"{outer}.{key}", node.value[key]


def _sets(root: Node, key: str) -> bool:
    """Whether a file writes ``key``, a ``manage``/``ignore`` entry of it, or any variable."""
    return "vars" in root.value or any(_lock_nodes(root.value, key))


def _set_below(root: Node, locks: list[Lock]) -> Iterator[Diagnostic]:
    """A locked key this file may not set: the key itself, or its entry under ``manage`` or
    ``ignore``."""
    for lock in locks:
        if root.src.real in lock.allowed:
            continue
        key = lock.key
        for path, node in _lock_nodes(root.value, key):
            said = f"`{key}` is locked {lock.said()}"
            if path != key:
                said = f"`{path}` changes how the locked key `{key}` is applied: {said}"
            yield node.diagnostic(said, path, at_key=True)


def adopt_refusal(locks: Sequence[Lock], file: str, kind: str) -> str | None:
    """Why adopt may not write a live value of ``kind`` into ``file`` (a locked key that file
    may not set), or None."""
    real = os.path.realpath(file)
    for lock in locks:
        if lock.key == kind and real not in lock.allowed:
            return (
                f"`{kind}` is locked {lock.said()}: change it back in the workspace, or in "
                f"{lock.file}"
            )
    return None


def lock_var_problems(
    locks: Sequence[Lock], root: Node, variables: dict[str, Node]
) -> Iterator[Diagnostic]:
    """A ``${var.x}`` inside a locked key (or its ``manage``/``ignore`` entry) whose value
    comes from a file the lock does not allow: setting the key through ``vars``. Reported at
    the variable's value, once per lock and variable."""
    if not root.is_map:
        return
    for lock in locks:
        seen: set[str] = set()
        for var, used in _vars_in([node for _path, node in _lock_nodes(root.value, lock.key)]):
            value = variables.get(var)
            if var in seen or value is None or value.src.real in lock.allowed:
                continue
            seen.add(var)
            yield value.diagnostic(
                f"`${{var.{var}}}` is used in the locked key `{lock.key}` (at "
                f"{used.src.name}:{used.line}:{used.col}), so setting it sets `{lock.key}`: "
                f"`{lock.key}` is locked {lock.said()}",
                f"vars.{var}",
            )


def _vars_in(nodes: list[Node]) -> Iterator[tuple[str, Node]]:
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        for var in node.from_vars or ():
            yield var, node
        v = node.value
        if isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))


def policy_document(data: dict[str, Any]) -> dict[str, Any]:
    """What a policy sees of a resolved config: its settings, not how the file is built
    (``vars``, ``extends``, ``x-*`` keys), and no write-only field (a webhook's secret), so
    that it reads like the live document (``wscfg export``). A policy over a secret would be
    an oracle: one bit of it per policy, in a CI log."""
    from ..model.kinds import KINDS

    doc = {k: v for k, v in data.items() if k not in ("vars", "extends") and not k.startswith("x-")}
    for kind in KINDS:
        items = doc.get(kind.name)
        if kind.write_only and isinstance(items, list):
            doc[kind.name] = [
                {f: v for f, v in item.items() if f not in kind.write_only}
                if isinstance(item, dict)
                else item
                for item in items
            ]
    return doc


# --- reading one file ------------------------------------------------------------------------


def _read(root: Node) -> Guardrails:
    g = Guardrails()
    top = root.value
    if "locked" in top:
        _read_locked(g, top["locked"])
    node = top.get("policies")
    if node is None:
        return g
    if not node.is_seq:
        g.problems.append(
            node.diagnostic(
                "must be a list of policies ({name, description, severity, schema})", "policies"
            )
        )
        return g
    if len(node.value) > MAX_POLICIES:
        g.problems.append(
            node.diagnostic(f"at most {MAX_POLICIES} policies in one file", "policies")
        )
        return g
    for i, item in enumerate(node.value):
        p = _read_policy(g, item, f"policies[{i}]")
        if p is None:
            continue
        if p.name in g.names:
            first = g.names[p.name]
            g.problems.append(
                item.value["name"].diagnostic(
                    f"duplicate policy name '{p.name}' (first at line {first.line})",
                    f"policies[{i}].name",
                )
            )
            continue
        g.names[p.name] = item.value["name"]
        g.policies.append(p)
    return g


def _read_locked(g: Guardrails, node: Node) -> None:
    from .schemacheck import document_keys

    if not node.is_seq:
        g.problems.append(
            node.diagnostic("must be a list of top-level keys, e.g. `locked: [security]`", "locked")
        )
        return
    known = [k for k in document_keys() if k not in UNLOCKABLE]
    for i, item in enumerate(node.value):
        key = item.value
        path = f"locked[{i}]"
        if not isinstance(key, str) or key not in known:
            msg = (
                f"'{key}' cannot be locked"
                if key in UNLOCKABLE
                else f"'{key}' is not a top-level key"
                if isinstance(key, str)
                else "must be a top-level key (text)"
            )
            close = did_you_mean(key, known) if isinstance(key, str) else None
            msg += f"; did you mean '{close}'?" if close else f"; lockable: {', '.join(known)}"
            g.problems.append(item.diagnostic(msg, path))
            continue
        g.locked.append((key, item))


def _read_policy(g: Guardrails, item: Node, path: str) -> CompiledPolicy | None:
    if not item.is_map:
        g.problems.append(
            item.diagnostic("a policy is a mapping: {name, description, severity, schema}", path)
        )
        return None
    v = item.value
    ok = True
    if "$remove" in v:
        g.problems.append(
            v["$remove"].diagnostic(
                "a policy cannot be removed: every file that extends the one declaring it "
                "inherits it ($remove is not allowed on policies)",
                f"{path}.$remove",
                at_key=True,
            )
        )
        return None
    for key, node in v.items():
        if key not in POLICY_KEYS:
            close = did_you_mean(key, POLICY_KEYS)
            hint = f"did you mean '{close}'?" if close else "a policy has " + ", ".join(POLICY_KEYS)
            g.problems.append(
                node.diagnostic(f"unknown key '{key}'; {hint}", f"{path}.{key}", at_key=True)
            )
            ok = False
    for key in ("name", "description", "schema"):
        if key not in v:
            g.problems.append(item.diagnostic(f"missing required key '{key}'", path))
            ok = False
    name = v["name"].value if "name" in v else None
    if "name" in v and not (isinstance(name, str) and NAME_RE.match(name)):
        g.problems.append(
            v["name"].diagnostic(
                "a policy name is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit",
                f"{path}.name",
            )
        )
        ok = False
    if isinstance(name, str) and name.lower() in WSCFG_RULE_IDS:
        g.problems.append(
            v["name"].diagnostic(
                f"'{name}' is a rule id of wscfg itself (SARIF, GitHub annotations, GitLab); "
                "choose another policy name",
                f"{path}.name",
            )
        )
        ok = False
    desc = v["description"].value if "description" in v else None
    if "description" in v and not (isinstance(desc, str) and desc.strip()):
        g.problems.append(v["description"].diagnostic("must be text", f"{path}.description"))
        ok = False
    elif isinstance(desc, str) and len(" ".join(desc.split())) > MAX_DESCRIPTION:
        g.problems.append(
            v["description"].diagnostic(
                f"at most {MAX_DESCRIPTION} characters: it is repeated with every violation",
                f"{path}.description",
            )
        )
        ok = False
    elif isinstance(desc, str) and (bad := first_unsafe(" ".join(desc.split()))):
        # Line breaks fold to spaces; what is left would reach every report raw or escaped.
        g.problems.append(
            v["description"].diagnostic(
                f"must not contain {describe_char(bad)} (a control or bidirectional "
                "character): the description heads every report of the policy",
                f"{path}.description",
            )
        )
        ok = False
    severity = v["severity"].value if "severity" in v else "error"
    if severity not in SEVERITIES:
        g.problems.append(v["severity"].diagnostic("must be error or warning", f"{path}.severity"))
        ok = False
    if "schema" not in v or not ok:
        return None
    validator = _compile(g, v["schema"], f"{path}.schema")
    if validator is None:
        return None
    assert isinstance(name, str) and isinstance(desc, str)
    return CompiledPolicy(
        name,
        " ".join(desc.split()),
        str(severity),
        item.src.name,
        item.line,
        item.col,
        validator,
    )


# --- compiling one schema --------------------------------------------------------------------


def _compile(g: Guardrails, node: Node, path: str) -> Any:
    if not isinstance(node.value, (dict, bool)):
        g.problems.append(
            node.diagnostic("a policy's schema is a JSON Schema: a mapping (or true/false)", path)
        )
        return None
    schema = node.to_plain()
    problems = list(shape_problems(schema, ()))
    if not problems:
        # jsonschema-rs checks the meta-schema as it compiles, but names only the first
        # problem: only a schema it refuses pays for the Python library's complete list.
        validator, problem = compile_schema(schema)
        if validator is not None:
            return validator
        assert problem is not None
        problems = meta_problems(schema) or [problem]
    for at, message in problems:
        target, _ = node_at(node, at)
        shown = format_path(at)
        where = path + (shown if shown.startswith("[") or not shown else "." + shown)
        key = len(at) >= 2 and at[-2] == "patternProperties"  # the key is the pattern
        problem = target.diagnostic(f"invalid policy schema: {message}", where, at_key=key)
        g.problems.append(problem)
    return None
