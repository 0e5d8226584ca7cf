"""The shape of the package holds (docs/architecture.md): every module sits on a floor and
imports only its own floor or lower ones, nothing imports click outside cli/, only cli/ prints
or exits, no two modules import each other (at run time or for type checking), and modules
stay small.

The import graph is read from the source with ``ast`` (nothing is imported): an edge for every
``import``/``from … import`` of a wscfg module anywhere in a module (a function's lazy import
runs too), marked type-only when it sits under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOC = ROOT / "docs" / "architecture.md"

# Highest floor first. A module sits on the floor of its longest matching name (a package
# name covers its modules); "wscfg" is the package root alone (the public API, PEP 562).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("wscfg.cli", "wscfg.__main__")),
    ("workflow", ("wscfg.workflow", "wscfg")),
    ("connection", ("wscfg.fleet", "wscfg.connection", "wscfg.embedded")),
    ("engine", ("wscfg.engine",)),
    ("config, api, sandbox", ("wscfg.config", "wscfg.api", "wscfg.sandbox")),
    ("model", ("wscfg.model",)),
    ("leaves", ("wscfg.errors", "wscfg.escape", "wscfg.files")),
)
# Packages of one floor that must not import each other (they stand side by side).
SIDE_BY_SIDE = ("wscfg.config", "wscfg.api", "wscfg.sandbox")
# The engine is pure: it neither talks HTTP nor touches the reference server.
ENGINE_NEVER_IMPORTS = ("wscfg.api", "wscfg.sandbox")
# `from wscfg import __version__` reads a constant of the package root, not its API.
ROOT_CONSTANTS = frozenset({"__version__"})

# Library modules whose errors still spell a command-line flag, and why (#23: a library error
# names the option of the API, errors.Worded, and the CLI words it with its flag). The list
# holds what is left; a module not on it may not start.
FLAG_ERRORS_LEFT = {
    "wscfg.api.settings": "the server from --server/WSCFG_SERVER: resolved for the CLI",
    "wscfg.engine.drift": "a missing baseline: written with --update-baseline",
    "wscfg.engine.shards": "merging a sharded run's parts: the message is the CLI recipe",
    "wscfg.fleet": "parse_shard's --shard text (the CLI wraps it in a usage error)",
    "wscfg.sandbox.manage": "--db of the sandbox admin commands",
    "wscfg.sandbox.serve": "--port of `wscfg sandbox serve`",
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")

MAX_MODULE_LINES = 600
MAX_CLI_LINES = 1500


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    type_only: bool
    line: int

    def __str__(self) -> str:
        how = "for type checking" if self.type_only else "at run time"
        return f"{self.importer} imports {self.imported} {how} (line {self.line})"


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((SRC / "wscfg").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                yield from _imports_in(stmt, True)
            for stmt in node.orelse:
                yield from _imports_in(stmt, type_only)
        else:
            yield from _imports_in(node, type_only)


def _imports_in(node: ast.AST, type_only: bool) -> Iterator[tuple[ast.stmt, bool]]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_only
    else:
        yield from _imports(node, type_only)


@cache
def edges() -> tuple[Edge, ...]:
    mods = modules()
    out: list[Edge] = []
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, type_only in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name in mods]
            else:
                assert isinstance(node, ast.ImportFrom)
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                if source.split(".")[0] != "wscfg":
                    continue
                for alias in node.names:
                    if f"{source}.{alias.name}" in mods:  # a module: `from . import store`
                        targets.append(f"{source}.{alias.name}")
                    elif source == "wscfg" and alias.name in ROOT_CONSTANTS:
                        continue
                    elif source in mods:
                        targets.append(source)
            for target in dict.fromkeys(targets):
                if target != name:
                    out.append(Edge(name, target, type_only, node.lineno))
    return tuple(out)


def floor_of(module: str) -> int:
    """The floor's index, 0 the top (cli); -1 for a module no floor names."""
    best, where = "", -1
    for index, (_, names) in enumerate(FLOORS):
        for prefix in names:
            covers = module == prefix or (prefix != "wscfg" and module.startswith(prefix + "."))
            if covers and len(prefix) > len(best):
                best, where = prefix, index
    return where


def package_of(module: str, packages: tuple[str, ...]) -> str | None:
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def cycles(type_only_too: bool) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for e in edges():
        if type_only_too or not e.type_only:
            graph[e.importer].add(e.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


# ---- the checker itself ------------------------------------------------------------------


def test_the_graph_reads_imports_of_every_form() -> None:
    """The checks below rest on the graph: it holds the forms the package uses (relative,
    absolute, lazy in a function, type-only) with the modules they resolve to."""
    got = {(e.importer, e.imported, e.type_only) for e in edges()}
    assert ("wscfg.sandbox.store", "wscfg.sandbox.db", False) in got  # from .db import …
    assert ("wscfg.sandbox.keyrows", "wscfg.sandbox.store", False) in got  # from . import store
    assert ("wscfg.cli", "wscfg.errors", False) in got  # relative from a package __init__
    assert any(
        e.importer == "wscfg.api.client" and e.imported == "wscfg.api.workspace" for e in edges()
    )
    assert any(e.type_only for e in edges())
    assert floor_of("wscfg") == 1 and floor_of("wscfg.cli.plan") == 0
    assert floor_of("wscfg.engine.plan") == 3 and floor_of("wscfg.errors") == 6
    assert floor_of("wscfg.elsewhere") == -1


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = (*edges(), Edge("wscfg.errors", "wscfg.escape", False, 1))
    back = Edge("wscfg.escape", "wscfg.errors", True, 1)
    monkeypatch.setattr(sys.modules[__name__], "edges", lambda: (*fake, back))
    assert ["wscfg.errors", "wscfg.escape"] in cycles(type_only_too=True)
    assert ["wscfg.errors", "wscfg.escape"] not in cycles(type_only_too=False)


@pytest.mark.parametrize(
    ("planted", "rule"),
    [
        (
            Edge("wscfg.engine.plan", "wscfg.cli", False, 1),
            "test_nothing_imports_a_floor_above_its_own",
        ),
        (
            Edge("wscfg.model.kinds", "wscfg.engine.plan", True, 1),
            "test_nothing_imports_a_floor_above_its_own",
        ),
        (
            Edge("wscfg.config.load", "wscfg.api.client", False, 1),
            "test_config_api_and_sandbox_stand_side_by_side",
        ),
        (Edge("wscfg.engine.plan", "wscfg.sandbox.db", False, 1), "test_the_engine_is_pure"),
    ],
)
def test_each_rule_fails_on_an_import_that_breaks_it(
    planted: Edge, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = sys.modules[__name__]
    getattr(here, rule)()  # holds on the package as it is
    real = edges()
    monkeypatch.setattr(here, "edges", lambda: (*real, planted))
    with pytest.raises(AssertionError, match=str(planted).split(" (")[0]):
        getattr(here, rule)()


# ---- the rules -----------------------------------------------------------------------------


def test_every_module_sits_on_a_floor() -> None:
    unplaced = [m for m in modules() if floor_of(m) < 0]
    assert not unplaced, (
        f"place {unplaced} on a floor (FLOORS here and docs/architecture.md; ask the lead)"
    )


def test_the_floors_are_written_down_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [p for _, names in FLOORS for p in names if f"`{p}`" not in text]
    assert not missing, f"docs/architecture.md does not place {missing}"


def test_nothing_imports_a_floor_above_its_own() -> None:
    upward = [str(e) for e in edges() if floor_of(e.imported) < floor_of(e.importer)]
    assert not upward, "\n".join(upward)


def test_config_api_and_sandbox_stand_side_by_side() -> None:
    across = [
        str(e)
        for e in edges()
        if (a := package_of(e.importer, SIDE_BY_SIDE))
        and (b := package_of(e.imported, SIDE_BY_SIDE))
        and a != b
    ]
    assert not across, "\n".join(across)


def test_the_engine_is_pure() -> None:
    impure = [
        str(e)
        for e in edges()
        if e.importer.startswith("wscfg.engine") and package_of(e.imported, ENGINE_NEVER_IMPORTS)
    ]
    assert not impure, "\n".join(impure)


def test_no_two_modules_import_each_other_at_run_time() -> None:
    assert cycles(type_only_too=False) == []


def test_no_import_cycle_for_type_checking_either() -> None:
    assert cycles(type_only_too=True) == []


def test_only_cli_imports_click() -> None:
    found = []
    for name, path in modules().items():
        if floor_of(name) == 0:
            continue
        for node, _ in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [getattr(node, "module", None) or ""]
            )
            if any(n == "click" or n.startswith("click.") for n in names):
                found.append(f"{name} (line {node.lineno})")
    assert not found, found


def _speaks_or_exits(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("print", "exit", "quit", "input"):
                yield f"{node.func.id}() on line {node.lineno}"
        elif isinstance(node, ast.Name) and node.id == "SystemExit":
            yield f"SystemExit on line {node.lineno}"
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
            and node.attr in ("exit", "argv", "stdout", "stderr", "stdin")
        ):
            yield f"sys.{node.attr} on line {node.lineno}"


def test_only_cli_prints_exits_or_reads_the_command_line() -> None:
    found = [
        f"{name}: {what}"
        for name, path in modules().items()
        if floor_of(name) != 0
        for what in _speaks_or_exits(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "\n".join(found)


def test_the_speech_finder_sees_prints_and_exits() -> None:
    code = "import sys\nprint('x')\nsys.exit(2)\nraise SystemExit(1)\nsys.argv[1:]\n"
    assert len(list(_speaks_or_exits(ast.parse(code)))) == 4


def flags_in_raises(tree: ast.AST) -> Iterator[str]:
    """The flags (``--name``) the text of a ``raise`` statement spells."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for part in ast.walk(node.exc):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    yield from FLAG.findall(part.value)


def test_the_flag_finder_finds_flags_in_raises() -> None:
    code = 'raise E(f"pass --allow-mass-changes or {x}")\nraise E("a--b, 3 -- 4")\ny = "--no"\n'
    assert list(flags_in_raises(ast.parse(code))) == ["--allow-mass-changes"]


def test_library_errors_name_options_not_flags() -> None:
    found = {
        name: sorted(set(flags))
        for name, path in modules().items()
        if floor_of(name) != 0 and name not in FLAG_ERRORS_LEFT
        if (flags := list(flags_in_raises(ast.parse(path.read_text(encoding="utf-8")))))
    }
    assert not found, f"word the option with errors.Worded, the flag in cli.FLAGS: {found}"


def test_no_module_outside_cli_is_over_the_size_limit() -> None:
    big = {
        name: lines_of(path)
        for name, path in modules().items()
        if floor_of(name) != 0 and lines_of(path) > MAX_MODULE_LINES
    }
    assert not big, f"over {MAX_MODULE_LINES} lines: {big}"


def test_the_command_line_is_thin() -> None:
    """cli/ parses, prompts, prints and exits over the library: under 1,500 lines in all, and
    no module of it over the size limit either (LIB.md, #23)."""
    cli = {name: lines_of(path) for name, path in modules().items() if floor_of(name) == 0}
    big = {name: n for name, n in cli.items() if n > MAX_MODULE_LINES}
    assert not big, f"over {MAX_MODULE_LINES} lines: {big}"
    assert sum(cli.values()) < MAX_CLI_LINES, sorted(cli.items(), key=lambda kv: -kv[1])
