"""The runtime dependencies in pyproject.toml are exactly what src/ imports, each with its reason.

- Every third-party module that src/wscfg imports (at the top of a module or lazily inside a
  function) comes from a runtime dependency, an optional extra, or a package a declared
  dependency provides (``INSIDE``).
- Every runtime dependency is imported by src/wscfg, or is in ``NOT_IMPORTED`` with the reason
  it is needed all the same.
- Every runtime dependency has a comment in pyproject.toml saying why it is there (on its line,
  or on the comment lines right above it).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
SRC = ROOT / "src" / "wscfg"

# Needed at run time although src/ never imports them.
NOT_IMPORTED = {
    "email-validator": "pydantic's validate_email (model/email.py) imports it",
    "tzdata": "zoneinfo's time zone data where the system has none (Windows, slim images)",
    "sniffio": "httpcore asks it which event loop runs, on every request",
    "publicsuffixlist": "model/urls.py reads the Public Suffix List it ships, as data",
}
# Imported by src/ but shipped by a declared dependency that pins their version.
INSIDE = {"starlette": "fastapi", "pydantic-core": "pydantic"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return normalize(match.group())


def project() -> dict[str, object]:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert isinstance(data, dict)
    return data


def runtime() -> set[str]:
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    return {requirement_name(d) for d in deps}


def optional() -> set[str]:
    """The extras a user installs (``postgres``); ``dev`` is the tests' and never counts."""
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return {requirement_name(d) for name, deps in extras.items() if name != "dev" for d in deps}


def imported_modules(root: Path) -> dict[str, list[str]]:
    """Top-level third-party module → the files that import it (anywhere in the file)."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "wscfg":
                    found.setdefault(top, []).append(path.relative_to(root).as_posix())
    return found


def distributions_of(modules: dict[str, list[str]]) -> dict[str, list[str]]:
    """Distribution (normalized) → files importing it, through the installed packages."""
    by_module = metadata.packages_distributions()
    result: dict[str, list[str]] = {}
    for module, files in modules.items():
        dists = by_module.get(module)
        assert dists, f"{module} (imported by {files[0]}) is not installed: not a dependency?"
        for dist in dists:
            result.setdefault(normalize(dist), []).extend(files)
    return result


def test_every_import_is_a_declared_dependency() -> None:
    used = distributions_of(imported_modules(SRC))
    declared = runtime() | optional()
    undeclared = {
        dist: files[0]
        for dist, files in used.items()
        if dist not in declared and INSIDE.get(dist) not in runtime()
    }
    assert not undeclared, f"imported by src/ but not a dependency in pyproject.toml: {undeclared}"


def test_every_runtime_dependency_is_used() -> None:
    used = set(distributions_of(imported_modules(SRC)))
    unused = runtime() - used - {normalize(n) for n in NOT_IMPORTED}
    assert not unused, (
        f"runtime dependencies nothing in src/ imports: {sorted(unused)} (drop them, move them "
        "to an extra, or say in NOT_IMPORTED why they are needed anyway)"
    )
    # NOT_IMPORTED is kept honest too: a name there must still be a dependency, not imported.
    assert {normalize(n) for n in NOT_IMPORTED} <= runtime()
    assert not ({normalize(n) for n in NOT_IMPORTED} & used)


def test_every_runtime_dependency_says_why() -> None:
    lines = PYPROJECT.read_text(encoding="utf-8").splitlines()
    start = lines.index("dependencies = [")
    end = lines.index("]", start)
    missing = []
    for i in range(start + 1, end):
        line = lines[i].strip()
        if not line.startswith('"'):
            continue
        commented = "#" in line.split('",', 1)[-1] or lines[i - 1].strip().startswith("#")
        if not commented:
            missing.append(line)
    assert not missing, f"runtime dependencies without a comment saying why: {missing}"


def test_the_checks_see_imports_inside_functions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n    import httpx.x\n    from yaml import y\n")
    (tmp_path / "n.py").write_text("from . import z\nimport os\nimport wscfg.cli\n")
    found = imported_modules(tmp_path)
    assert set(found) == {"httpx", "yaml"}
