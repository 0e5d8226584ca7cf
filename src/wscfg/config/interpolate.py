"""``${var.name}`` and ``${env:NAME}`` inside strings, and the ``${env:NAME}`` rule for secrets.

- A string that is exactly one ``${var.name}`` takes the variable's value with its type
  (``enabled: ${var.hooks_on}`` is a boolean); anywhere else the value is inserted as text.
- ``${env:NAME}`` is always text. An unset variable is an error naming it; its value is
  recorded only so that messages can be redacted, and never appears in a diagnostic.
- ``$${`` is a literal ``${``. Any other ``${...}`` is an error.
- A write-only field (``webhooks[].secret``) must be exactly ``${env:NAME}``.
- An undefined ``${var.x}`` is not an error here: the string is kept as written and marked
  ``unresolved``; validation reports it for a target and tolerates it in a template.

Each file of an ``extends`` chain is interpolated on its own (with the chain's merged vars),
producing a new tree; loaded trees are never changed.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Diagnostic
from ..model.kinds import COLLECTIONS
from .desired import DocPath
from .diagnostics import format_path
from .load import Node

WRITE_ONLY: dict[str, frozenset[str]] = {k.name: k.write_only for k in COLLECTIONS if k.write_only}
REF_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
VAR_RE = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_]*)\Z")
ENV_RE = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)\Z")
# top-level keys that are not settings (policies and locks: wscfg.config.policies reads them)
SKIPPED = ("extends", "vars", "policies", "locked")


def skipped(key: str) -> bool:
    """Top-level keys that are not interpolated nor merged: extends, vars, policies, locked
    and ``x-*``."""
    return key in SKIPPED or key.startswith("x-")


def quiet(node: Node) -> Node:
    """A copy marked as already reported: validation says nothing more about it."""
    n = node.copy(node.value)
    n.unresolved = ("",)
    return n


class Interpolator:
    """Replaces ``${var.x}`` and ``${env:X}`` in every string of one file (a new tree)."""

    def __init__(
        self,
        vars: dict[str, Node],
        environ: Any,
        diagnostics: list[Diagnostic],
        env_values: dict[str, str],
    ) -> None:
        self.vars = vars
        self.environ = environ
        self.diagnostics = diagnostics
        self.env_values = env_values

    def document(self, root: Node) -> Node:
        top: dict[str, Node] = {}
        for key, node in root.value.items():
            if skipped(key):
                continue
            secret_fields = WRITE_ONLY.get(key)
            if secret_fields and node.is_seq:
                top[key] = node.copy(
                    [self.item(n, (key, i), secret_fields) for i, n in enumerate(node.value)]
                )
            else:
                top[key] = self.node(node, (key,))
        return root.copy(top)

    def item(self, node: Node, path: DocPath, secret_fields: frozenset[str]) -> Node:
        if not node.is_map:
            return self.node(node, path)
        return node.copy(
            {
                k: self.secret(v, (*path, k)) if k in secret_fields else self.node(v, (*path, k))
                for k, v in node.value.items()
            }
        )

    def node(self, node: Node, path: DocPath) -> Node:
        """``node`` itself when nothing below it changes (most of a big file), else a copy."""
        if not node.dollar:
            return node
        v = node.value
        if isinstance(v, str):
            return self.string(node, v, path)
        if isinstance(v, dict):
            new = {k: self.node(n, (*path, k)) for k, n in v.items()}
            return node if all(new[k] is n for k, n in v.items()) else node.copy(new)
        if isinstance(v, list):
            items = [self.node(n, (*path, i)) for i, n in enumerate(v)]
            return node if all(a is b for a, b in zip(items, v, strict=True)) else node.copy(items)
        return node

    def secret(self, node: Node, path: DocPath) -> Node:
        v = node.value
        m = None
        if isinstance(v, str) and v.startswith("${") and v.endswith("}"):
            m = ENV_RE.match(v[2:-1])
        if m is None:
            return self._bad(
                node,
                path,
                "a secret must be written as ${env:NAME}, so that it never appears in a file; "
                "wscfg reads the value from the environment variable NAME",
            )
        name = m.group(1)
        value = self.environ.get(name)
        if value is None:
            return self._bad(node, path, f"environment variable {name} is not set")
        if not value:
            return self._bad(
                node, path, f"environment variable {name} is empty; a secret must not be empty"
            )
        self.env_values[name] = value
        n = node.copy(value)
        n.secret_ref = name
        n.env = ((name, value),)
        return n

    def string(self, node: Node, text: str, path: DocPath) -> Node:
        parts: list[str] = []
        env: list[tuple[str, str]] = []
        used: list[str] = []
        unresolved: list[str] = []
        pos = 0
        whole: Any = _NOTHING
        for m in REF_RE.finditer(text):
            parts.append(text[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token == "$${":
                parts.append("${")
                continue
            ref = m.group(1)
            if ref is None:
                return self._bad(node, path, "unterminated ${ (write $${ for a literal ${)")
            var = VAR_RE.match(ref)
            if var:
                name = var.group(1)
                if name not in self.vars:
                    unresolved.append(name)
                    parts.append(token)
                    continue
                value = self.vars[name].value
                used.append(name)
                if m.start() == 0 and m.end() == len(text):
                    whole = value
                parts.append(_text(value))
                continue
            envm = ENV_RE.match(ref)
            if envm:
                name = envm.group(1)
                value = self.environ.get(name)
                if value is None:
                    return self._bad(node, path, f"environment variable {name} is not set")
                self.env_values[name] = value
                env.append((name, value))
                parts.append(value)
                continue
            hint = ""
            if ref.strip() != ref or ref.startswith(("var:", "vars.", "env.")):
                hint = " (no spaces; 'var.' with a dot, 'env:' with a colon)"
            return self._bad(
                node,
                path,
                f"unknown reference ${{{ref}}}{hint}; use ${{var.name}} or ${{env:NAME}}, "
                "or write $${ for a literal ${",
            )
        if not parts:
            return node
        parts.append(text[pos:])
        result = node.copy(whole if whole is not _NOTHING and not unresolved else "".join(parts))
        result.env = tuple(env)
        result.from_vars = tuple(used)
        result.unresolved = tuple(unresolved)
        return result

    def _bad(self, node: Node, path: DocPath, message: str) -> Node:
        self.diagnostics.append(node.diagnostic(message, format_path(path)))
        return quiet(node)


_NOTHING = object()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
