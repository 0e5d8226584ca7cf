"""The CI recipes (examples/ci/), the pre-commit hook and docs/ci.md stay true to the CLI.

Every ``wscfg …`` command line in them is pulled out of the shell snippets and checked against
the click command objects themselves: the subcommand must exist, every option must be one the
command declares, flags take no value, literal values must convert (``--format markdown``),
required arguments and options must be given. Rename or drop an option and these tests name the
recipe line that breaks.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from ruamel.yaml import YAML

from wscfg.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "examples" / "ci"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
ACTION = ROOT / "action.yml"
DOC = ROOT / "docs" / "ci.md"

EXPECTED = [
    "examples/ci/github/plan.yml",
    "examples/ci/github/apply.yml",
    "examples/ci/github/drift.yml",
    "examples/ci/gitlab/.gitlab-ci.yml",
    ".pre-commit-hooks.yaml",
    "action.yml",
    "docs/ci.md",
]
# The commands the recipes and docs rely on: each must exist in the CLI (none is skipped).
COMMANDS = ["validate", "plan", "apply", "export", "clone", "drift", "show"]


def yaml_files() -> list[Path]:
    files = sorted(p for p in CI.rglob("*") if p.suffix in (".yml", ".yaml"))
    return [*files, HOOKS, ACTION]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


# --- pulling shell out of the recipes -------------------------------------------------------


def shell_keys(path: Path) -> set[str]:
    """Which mapping keys hold shell: GitHub's `script:` (github-script) is JavaScript."""
    if path == HOOKS:
        return {"entry"}
    if "gitlab" in path.parts:
        return {"script", "before_script", "after_script"}
    return {"run"}


def shell_snippets(node: Any, keys: set[str], key: str | None = None) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from shell_snippets(v, keys, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from shell_snippets(item, keys, key)
    elif key in keys:  # e.g. `- echo "a: b"` unquoted is a mapping, not a command
        assert isinstance(node, str), f"`{key}:` holds {node!r}, not a command line"
        yield node


def doc_snippets(text: str) -> Iterator[str]:
    """Fenced shell blocks of a markdown page (`$ ` prompts removed)."""
    for m in re.finditer(r"^```(?:bash|sh|shell|console)\n(.*?)^```", text, re.M | re.S):
        yield re.sub(r"^\$ ", "", m.group(1), flags=re.M)


def snippets_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return list(doc_snippets(path.read_text(encoding="utf-8")))
    if path == HOOKS:  # pre-commit runs `entry` + `args` + the file names
        return [
            shlex.join([*shlex.split(h["entry"]), *h.get("args", []), "workspace.yaml"])
            for h in load(path)
        ]
    return list(shell_snippets(load(path), shell_keys(path)))


GHA_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]\w*)\1")
SEPARATOR_CHARS = ";&|()<>\n"
KEYWORDS = {"then", "else", "do", "if", "elif", "while", "until", "!", "time", "exec", "command"}
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


def strip_heredocs(script: str) -> str:
    """Drop heredoc bodies (embedded Python and the like are not shell)."""
    out: list[str] = []
    end: str | None = None
    for line in script.splitlines():
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        m = HEREDOC.search(line)
        if m:
            end = m.group(2)
    return "\n".join(out) + "\n"


def strip_comments(script: str) -> str:
    """Drop `# …` comments (a `#` starting a word, outside quotes), keeping the newlines."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(script):
        c = script[i]
        if quote is None and c == "\\":
            out.append(script[i : i + 2])
            i += 2
            continue
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (not out or out[-1][-1:] in " \t\n;&|()"):
            while i < len(script) and script[i] != "\n":
                i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokens(script: str) -> list[str]:
    script = GHA_EXPR.sub("GHA_EXPR", script)
    script = strip_comments(strip_heredocs(script)).replace("\\\n", " ")
    lex = shlex.shlex(script, posix=True, punctuation_chars=SEPARATOR_CHARS)
    lex.whitespace = " \t\r"  # newlines end commands: keep them as separators
    lex.whitespace_split = True
    lex.commenters = ""
    return list(lex)


def is_punct(tok: str) -> bool:
    return bool(tok) and all(c in SEPARATOR_CHARS for c in tok)


def is_redirect(tok: str) -> bool:
    return is_punct(tok) and ("<" in tok or ">" in tok)


def invocations(script: str) -> list[list[str]]:
    """The argument lists following each `wscfg` in command position."""
    toks = tokens(script)
    found: list[list[str]] = []
    at_start = True
    i = 0
    while i < len(toks):
        tok = toks[i]
        if is_punct(tok):
            at_start = not is_redirect(tok)
            i += 2 if is_redirect(tok) else 1  # a redirect's target is not a command
        elif at_start and (tok in KEYWORDS or ASSIGNMENT.match(tok)):
            i += 1
        elif at_start and tok == "wscfg":
            args: list[str] = []
            i += 1
            while i < len(toks) and not (is_punct(toks[i]) and not is_redirect(toks[i])):
                if is_redirect(toks[i]):
                    if args and args[-1].isdigit():  # the `2` of `2>&1`
                        args.pop()
                    i += 2
                else:
                    args.append(toks[i])
                    i += 1
            found.append(args)
        else:
            at_start = False
            i += 1
    return found


# --- checking an invocation against click ----------------------------------------------------


def is_literal(value: str) -> bool:
    return "$" not in value and "GHA_EXPR" not in value


def check_args(cmd: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    params = cmd.get_params(ctx)
    by_opt = {
        o: p for p in params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)
    }
    problems: list[str] = []
    given: set[str | None] = set()
    positionals: list[str] = []
    rest = iter(args)
    for tok in rest:
        if tok == "--":
            positionals.extend(rest)
            break
        if not tok.startswith("-") or tok == "-":
            positionals.append(tok)
            continue
        name, eq, value = tok.partition("=")
        param = by_opt.get(name)
        if param is None:
            problems.append(f"no such option {name} (has: {', '.join(sorted(by_opt))})")
            continue
        given.add(param.name)
        if param.is_flag or param.count:
            if eq:
                problems.append(f"{name} is a flag and takes no value")
            continue
        if not eq:
            nxt = next(rest, None)
            if nxt is None:
                problems.append(f"{name} needs a value")
                continue
            value = nxt
        if is_literal(value) and not isinstance(param.type, click.Path | click.File):
            try:
                param.type.convert(value, param, ctx)
            except click.BadParameter as exc:
                problems.append(f"{name} {value!r}: {exc.message}")
    arguments = [p for p in params if isinstance(p, click.Argument)]
    if positionals and not arguments:
        problems.append(f"takes no arguments, got {positionals}")
    if not positionals and any(a.required for a in arguments):
        problems.append("missing a required argument")
    for p in params:
        if isinstance(p, click.Option) and p.required and p.name not in given:
            problems.append(f"missing required option {p.opts[-1]}")
    return problems


def check_invocation(args: list[str]) -> list[str]:
    """Problems of `wscfg ARGS`, walking into (sub)groups the way click would."""
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="wscfg")
    path = "wscfg"
    while isinstance(cmd, click.Group):
        n = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
        problems = check_args(cmd, ctx, args[:n])  # options before the command (`--debug`)
        if not problems and n == len(args) and {"--version", "--help"} & set(args):
            return []
        if problems or n == len(args):
            return [f"`{path}`: {p}" for p in problems] or [f"`{path}` without a command"]
        name, args = args[n], args[n + 1 :]
        sub = cmd.get_command(ctx, name)
        if sub is None:
            available = ", ".join(cmd.list_commands(ctx))
            return [f"`{path} {name}`: no such command (the CLI has: {available})"]
        ctx = click.Context(sub, info_name=name, parent=ctx)
        cmd, path = sub, f"{path} {name}"
    return [f"`{path}`: {p}" for p in check_args(cmd, ctx, args)]


@dataclass
class Found:
    file: str
    args: list[str]

    def __str__(self) -> str:
        return f"{self.file}: wscfg {shlex.join(self.args)}"


def all_invocations(path: Path) -> list[Found]:
    return [Found(rel(path), a) for s in snippets_of(path) for a in invocations(s)]


# --- tests -------------------------------------------------------------------------------------


def test_every_recipe_is_there() -> None:
    missing = [f for f in EXPECTED if not (ROOT / f).is_file()]
    assert not missing
    assert {rel(p) for p in yaml_files()} >= {f for f in EXPECTED if f.endswith((".yml", ".yaml"))}


@pytest.mark.parametrize("path", yaml_files(), ids=rel)
def test_recipe_is_yaml(path: Path) -> None:
    assert isinstance(load(path), dict | list)


@pytest.mark.parametrize("name", COMMANDS)
def test_cli_has_the_command(name: str) -> None:
    ctx = click.Context(cli)
    assert cli.get_command(ctx, name) is not None, (
        f"`wscfg {name}` is used by the CI recipes and docs/ci.md but the CLI does not have it "
        f"(it has: {', '.join(cli.list_commands(ctx))})"
    )


@pytest.mark.parametrize("path", [*yaml_files(), DOC], ids=rel)
def test_wscfg_command_lines_match_the_cli(path: Path) -> None:
    found = all_invocations(path)
    uses_action = path.suffix == ".yml" and "github" in path.parts and action_uses(rel(path))
    assert found or uses_action, f"no `wscfg …` command in {rel(path)}: is the extraction broken?"
    problems = [f"{f}\n    {p}" for f in found for p in check_invocation(f.args)]
    assert not problems, "\n".join(problems)


def test_recipes_cover_the_ci_flow() -> None:
    """plan.yml plans with markdown + detailed exit code; drift.yml runs `wscfg drift` against
    a baseline, sharded; apply auto-approves."""
    by_file = {rel(p): all_invocations(p) for p in yaml_files()}

    def has(file: str, *words: str) -> bool:
        return any(all(w in f.args for w in words) for f in by_file[file])

    github = "examples/ci/github/"
    # plan.yml runs validate and plan through the wscfg action (action.yml), which runs
    # `wscfg plan … --format markdown --detailed-exitcode -o plan.json` itself.
    assert {"validate", "plan"} <= {w["with"]["command"] for w in action_uses(github + "plan.yml")}
    assert has("action.yml", "validate", "--format", "github")
    assert has("action.yml", "plan", "--format", "markdown", "--detailed-exitcode", "-o")
    assert has("action.yml", "drift", "--format", "markdown")
    assert has(github + "apply.yml", "apply", "--auto-approve")
    assert has(github + "drift.yml", "drift", "--baseline", "--format", "--shard")
    # matrix plus merge: each shard writes a JSON part, one job merges them with `wscfg show`
    assert has(github + "drift.yml", "drift", "--shard", "json", "-o")
    assert has(github + "drift.yml", "show", "markdown")
    gitlab = "examples/ci/gitlab/.gitlab-ci.yml"
    for words in [
        ("validate",),
        ("validate", "--format", "gitlab"),
        ("plan", "--detailed-exitcode"),
        ("apply", "--auto-approve"),
        ("drift", "--baseline", "--shard"),
        ("drift", "--shard", "json", "-o"),
        ("show", "markdown"),
    ]:
        assert has(gitlab, *words), words


def test_the_merge_jobs_read_the_parts_the_shards_write() -> None:
    """The glob `wscfg show` merges matches the file each shard job writes with -o."""
    from fnmatch import fnmatch

    def outs(path: Path, words: tuple[str, ...]) -> list[list[str]]:
        return [f.args for f in all_invocations(path) if all(w in f.args for w in words)]

    for recipe, folder in (("github/drift.yml", "shards/drift-1/"), ("gitlab/.gitlab-ci.yml", "")):
        path = CI / recipe
        (shard,) = outs(path, ("drift", "--shard", "-o"))
        written = folder + shard[shard.index("-o") + 1].replace("$SHARD", "1").replace(
            "$shard", "1"
        )
        globs = [a for args in outs(path, ("show",)) for a in args if a.endswith(".json")]
        assert globs, recipe
        for glob in globs:
            assert fnmatch(written, glob), (recipe, written, glob)


def action_uses(recipe: str) -> list[dict[str, Any]]:
    """The steps of a workflow recipe that use the wscfg action (``…/wscfg@vN``)."""
    jobs = load(ROOT / recipe)["jobs"].values()
    found = [
        s for job in jobs for s in job.get("steps", []) if re.search(r"/wscfg@", s.get("uses", ""))
    ]
    return found


@pytest.mark.parametrize("path", [p for p in yaml_files() if "github" in p.parts], ids=rel)
def test_recipes_give_the_action_only_its_inputs(path: Path) -> None:
    inputs = load(ACTION)["inputs"]
    for used in action_uses(rel(path)):
        given = used.get("with", {})
        assert set(given) <= set(inputs), set(given) - set(inputs)
        assert given.get("command") in ("validate", "plan", "drift")


def test_pre_commit_hook() -> None:
    (hook,) = load(HOOKS)
    assert hook["id"] == "wscfg-validate"
    assert hook["entry"] == "wscfg validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    assert hook["name"]
    files = re.compile(hook["files"])
    assert files.search("workspaces/acme.yaml") and files.search("base.yml")
    assert not files.search("plan.json") and not files.search("notes.yaml.bak")


@pytest.mark.parametrize("path", [p for p in yaml_files() if p != HOOKS], ids=rel)
def test_secrets_stay_in_env(path: Path) -> None:
    """Keys reach wscfg through the environment only: never expanded or echoed in a script."""
    text = path.read_text(encoding="utf-8")
    assert "WSCFG_SERVER" in text, "a CI recipe must set WSCFG_SERVER (else: a local sandbox)"
    for snippet in snippets_of(path):
        assert "secrets." not in snippet, f"a secret interpolated into a script:\n{snippet}"
        assert not re.search(r"\$\{?WSCFG_TOKEN\b", snippet), f"WSCFG_TOKEN expanded:\n{snippet}"


@pytest.mark.parametrize("path", sorted((CI / "github").glob("*.yml")), ids=rel)
def test_actions_pinned_to_a_major_version(path: Path) -> None:
    uses = re.findall(r"^\s*(?:- )?uses:\s*(\S+)", path.read_text(encoding="utf-8"), re.M)
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action), action


# The extraction itself, on the shapes the recipes use.


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "wscfg plan a --format markdown > plan.md 2>&1 || code=$?",
            [["plan", "a", "--format", "markdown"]],
        ),
        (
            "X=1 wscfg plan a\nwscfg apply p.json --auto-approve",
            [["plan", "a"], ["apply", "p.json", "--auto-approve"]],
        ),
        ("run=$(wscfg export --all -o d); echo wscfg plan", [["export", "--all", "-o", "d"]]),
        ("echo hi # wscfg plan --nope\nwscfg validate x", [["validate", "x"]]),
        (
            "if true; then\n  wscfg plan a \\\n    --shard ${{ matrix.shard }}/4\nfi",
            [["plan", "a", "--shard", "GHA_EXPR/4"]],
        ),
        (
            "python3 - <<'PY'\nwscfg plan --inside-heredoc\nPY\nwscfg validate y",
            [["validate", "y"]],
        ),
    ],
)
def test_invocations_are_extracted(script: str, expected: list[list[str]]) -> None:
    assert invocations(script) == expected


def test_checker_catches_mistakes() -> None:
    assert check_invocation(["nope"])
    assert check_invocation(["plan", "a", "--no-such-option"])
    assert check_invocation(["plan", "a", "--format", "html"])
    assert check_invocation(["plan", "a", "--detailed-exitcode=yes"])
    assert check_invocation(["plan"])  # PATHS is required
    assert check_invocation(["export", "stray-positional"])
    assert not check_invocation(["plan", "a", "--format", "$FMT", "--target", "acme-*"])
