"""One vocabulary across commands: the same option means the same thing everywhere.

Walks every command of the CLI (subgroups too) and checks:
- an option name used by several commands has one metavar, one help text and one
  repeatability (a few, listed in ``MEANS_DIFFERENT``, name different things by design);
- no option shows a bare type name (TEXT, INTEGER, PATH…) as its metavar: each says what it
  takes (SLUG, FILE, URL, N…);
- commands that read config files take them as ``PATHS...``;
- the commands that work on a fleet share its options (--target, --shard; --only where a
  selection of items applies), and every command that talks to a server has --server,
  --embedded and --timeout;
- every command and group shows examples in its --help;
- --debug works before and after the command name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner

from wscfg.cli import cli

# Same name, different things (the help text or metavar says which).
MEANS_DIFFERENT = {
    "--format",  # each command offers the formats it can write
    "--out",  # a plan file, a report, an export (with --all: a folder)
    "--name",  # a workspace's display name (init) or a key's name (key)
    "--workspace",  # the workspace to export / to create / to change
    "--rate-limit",  # the pace a client keeps (N/s) / the limit a sandbox serves (RATE[:BURST])
}
BARE_TYPES = {"TEXT", "INTEGER", "FLOAT", "PATH", "FILENAME", "DIRECTORY", "BOOLEAN", "FILE_PATH"}
FLEET = ["plan", "apply", "drift", "adopt", "clone"]
ITEM_SELECTION = ["plan", "apply", "drift", "adopt"]
SERVER = ["plan", "apply", "drift", "adopt", "export", "clone"]
CONFIG_PATHS = ["validate", "plan", "apply", "drift", "adopt"]


def commands() -> Iterator[tuple[str, click.Command, click.Context]]:
    root = click.Context(cli, info_name="wscfg")

    def walk(group: click.Group, ctx: click.Context, prefix: str) -> Iterator[Any]:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            sub = click.Context(cmd, info_name=name, parent=ctx)
            path = f"{prefix}{name}"
            yield path, cmd, sub
            if isinstance(cmd, click.Group):
                yield from walk(cmd, sub, path + " ")

    yield from walk(cli, root, "")


def options_of(cmd: click.Command) -> dict[str, click.Option]:
    """Options by their long name (``-o/--out`` is ``--out``)."""
    return {p.opts[-1]: p for p in cmd.params if isinstance(p, click.Option)}


def by_name() -> dict[str, click.Command]:
    return {path: cmd for path, cmd, _ in commands()}


def test_an_option_means_one_thing_everywhere() -> None:
    seen: dict[str, dict[tuple[object, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for path, cmd, ctx in commands():
        for name, opt in options_of(cmd).items():
            if name in MEANS_DIFFERENT:
                continue
            shape = (opt.is_flag, opt.multiple, opt.make_metavar(ctx), opt.help)
            seen[name][shape].append(path)
    different = {name: dict(shapes) for name, shapes in seen.items() if len(shapes) > 1}
    assert not different, different


def test_no_option_shows_a_type_name_as_its_metavar() -> None:
    bare = [
        f"{path} {opt.opts[-1]} {opt.make_metavar(ctx)}"
        for path, cmd, ctx in commands()
        for opt in options_of(cmd).values()
        if not opt.is_flag and opt.make_metavar(ctx).split()[0].strip("[].") in BARE_TYPES
    ]
    assert not bare, bare


@pytest.mark.parametrize("name", CONFIG_PATHS)
def test_config_files_are_paths(name: str) -> None:
    cmd = by_name()[name]
    ctx = click.Context(cmd, info_name=name)
    (argument,) = [p for p in cmd.params if isinstance(p, click.Argument)]
    assert argument.make_metavar(ctx) == "PATHS..."


@pytest.mark.parametrize("name", FLEET)
def test_fleet_commands_share_the_workspace_selection(name: str) -> None:
    options = options_of(by_name()[name])
    assert {"--target", "--shard"} <= set(options)
    assert options["--target"].multiple


@pytest.mark.parametrize("name", ITEM_SELECTION)
def test_item_selection_is_only_everywhere(name: str) -> None:
    assert "--only" in options_of(by_name()[name])


@pytest.mark.parametrize("name", SERVER)
def test_server_commands_share_the_connection_options(name: str) -> None:
    assert {"--server", "--embedded", "--timeout"} <= set(options_of(by_name()[name]))


def test_apply_and_clone_share_the_allowances() -> None:
    apply, clone = options_of(by_name()["apply"]), options_of(by_name()["clone"])
    for flag in ("--allow-mass-changes", "--fleet-delete-share", "--skip-unsafe", "--auto-approve"):
        assert flag in apply and flag in clone, flag


def test_repeatable_options_take_one_value_each() -> None:
    """Lists are given by repeating an option (`--to a --to b`), like --target and --only."""
    clone = options_of(by_name()["clone"])
    assert clone["--to"].multiple


def test_every_command_and_group_shows_examples() -> None:
    missing = [path for path, cmd, _ in commands() if "Examples:" not in (cmd.help or "")]
    assert not missing
    assert "Typical flow:" in (cli.help or "")


def test_debug_may_follow_the_command_name(tmp_path, monkeypatch) -> None:
    """--debug shows the traceback of an error wherever it stands before `--`."""
    monkeypatch.chdir(tmp_path)
    for name in ("WSCFG_SERVER", "WSCFG_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    args = ["export", "--workspace", "no-such-workspace"]
    plain = CliRunner().invoke(cli, args)
    before = CliRunner().invoke(cli, ["--debug", *args])
    after = CliRunner().invoke(cli, [*args, "--debug"])
    assert plain.exit_code == before.exit_code == after.exit_code == 1
    assert "Traceback" not in plain.stderr
    assert "Traceback" in before.stderr and "Traceback" in after.stderr
    assert after.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1]
    literal = CliRunner().invoke(cli, ["validate", "--", "--debug"])
    assert literal.exit_code == 1  # after `--` it is a path, not the option
    assert "--debug" in literal.stderr and "Traceback" not in literal.stderr
