"""scripts/cli-transcript's extraction: it finds the documented commands it is meant to compare.

The before/after comparison itself (`scripts/cli-transcript check DIR`) is a migration check run
by hand (docs/testing.md, "CLI transcript"), not a suite test: it runs about 200 commands.
Here only the part that decides *which* commands are compared is tested, against the real
README and docs, so a documented command the script would silently skip fails here.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cli-transcript"


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("cli_transcript", str(SCRIPT))
    spec = importlib.util.spec_from_loader("cli_transcript", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules["cli_transcript"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


ct = _load()


def test_the_readme_commands_are_all_found_in_order() -> None:
    found = [(c.where, c.cmd) for c in ct.doc_commands(ROOT) if c.group == "README.md"]
    # Every line of a shell/text block of the README that runs wscfg, found independently of the
    # script: a line that starts with `wscfg `, `$ wscfg ` or has `&& … wscfg `.
    expected_lines = []
    lang = None
    for no, line in enumerate((ROOT / "README.md").read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence:
            lang = None if lang is not None else fence.group(1)
            continue
        if lang in ("sh", "text", "") and re.search(r"(^|\$ |&& )(\w+=\S+ )*wscfg ", line):
            expected_lines.append(f"README.md:{no}")
    assert [where for where, _ in found] == expected_lines
    # The commands the README's reader runs first, found in the order the README gives them (line
    # numbers move whenever the README is edited; the check above pins them against the text).
    commands = [cmd for _, cmd in found]
    wanted = [
        "ACME_WEBHOOK_SECRET=example-only wscfg plan examples/workspace.yaml",
        "wscfg apply --auto-approve examples/workspace.yaml",
        "wscfg plan --detailed-exitcode examples/workspace.yaml",
        "wscfg validate bad.yaml",
    ]
    positions = [commands.index(cmd) for cmd in wanted]
    assert positions == sorted(positions)


def test_every_docs_page_with_a_shell_wscfg_line_contributes_commands() -> None:
    groups = {c.group for c in ct.doc_commands(ROOT)}
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.S)
        runs_wscfg = any(
            re.match(r"\s*(\w+=\S+ )*wscfg ", line) for b in blocks for line in b.splitlines()
        )
        assert (f"docs/{page.name}" in groups) == runs_wscfg, page.name


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("wscfg plan x.yaml   # exit 0: no changes", [("wscfg plan x.yaml", False)]),
        ("$ wscfg validate bad.yaml", [("wscfg validate bad.yaml", False)]),
        (
            "python -m pip install . && A=b wscfg plan e.yaml",
            [("A=b wscfg plan e.yaml", False)],
        ),
        (
            "wscfg plan w --format markdown -o p.json > p.md || code=$?",
            [("wscfg plan w --format markdown -o p.json > p.md", False)],
        ),
        (
            "export WSCFG_TOKEN=$(wscfg sandbox init --db d.db --workspace acme)",
            [("wscfg sandbox init --db d.db --workspace acme", False)],
        ),
        (
            "printenv WSCFG_TOKEN | wscfg sandbox revoke -",
            [("printenv WSCFG_TOKEN | wscfg sandbox revoke -", False)],
        ),
        ("wscfg sandbox serve --db d.db &", [("wscfg sandbox serve --db d.db", True)]),
        ("wscfg sandbox serve   # http://127.0.0.1:8787/v1", [("wscfg sandbox serve", True)]),
        ('eval "$(wscfg completion bash)"', [("wscfg completion bash", False)]),
        (
            "wscfg adopt c/ --target 'clinic-north*' # only",
            [("wscfg adopt c/ --target 'clinic-north*'", False)],
        ),
        ("pip install 'wscfg[postgres]'   # psycopg 3", []),
        ("createdb wscfg", []),
    ],
)
def test_a_line_yields_its_wscfg_commands(line: str, expected: list[tuple[str, bool]]) -> None:
    assert ct.commands_in_line(line) == expected


def test_yaml_and_python_blocks_are_not_commands(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "```yaml\n- run: wscfg plan a\n```\n```python\nwscfg plan b\n```\n"
        "```sh\nwscfg plan c\n```\n```\n$ wscfg plan d\nPlan: 1 to add\n```\n",
        encoding="utf-8",
    )
    assert [c.cmd for c in ct.doc_commands(tmp_path)] == ["wscfg plan c", "wscfg plan d"]
