"""The wscfg command line: parse, call the library, render, choose the exit code.

Only this package prints or exits. Subcommands live in their own modules and are imported
only when invoked, so ``wscfg --help`` stays fast and pulls in neither httpx nor FastAPI.
Every command body runs inside :func:`handle_errors`, the one place a :class:`WscfgError`
becomes ``Error: …`` and an exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

# name -> (module, attribute, one-line help shown by `wscfg --help` without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "wscfg.cli.validate",
        "validate",
        "Check config files offline; report every problem.",
    ),
    "plan": ("wscfg.cli.plan", "plan", "Show what would change in the live workspace(s)."),
    "apply": (
        "wscfg.cli.plan",
        "apply",
        "Make the live workspace(s) match the config or a saved plan.",
    ),
    "drift": (
        "wscfg.cli.drift",
        "drift",
        "Report drift only: who changed what, via what, when; new drift vs a baseline.",
    ),
    "adopt": (
        "wscfg.cli.adopt",
        "adopt",
        "Write live values (changes made in the UI) back into the YAML, comments kept.",
    ),
    "show": ("wscfg.cli.show", "show", "Render a saved plan file; no server needed."),
    "export": ("wscfg.cli.export", "export", "Write a live workspace's settings as YAML."),
    "clone": ("wscfg.cli.export", "clone", "Copy one workspace's settings onto others."),
    "schema": ("wscfg.cli.schema", "schema", "Write or check the JSON Schemas in schemas/."),
    "sandbox": (
        "wscfg.cli.sandbox",
        "sandbox",
        "Run the reference Workspace Settings API locally.",
    ),
    "completion": (
        "wscfg.cli.completion",
        "completion",
        "Print the shell completion script (bash, zsh, fish).",
    ),
}


class LazyGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``--debug`` may stand anywhere before ``--``: after the command name too
        (``wscfg plan x.yaml --debug``), where it is moved to the front for the group."""
        cut = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:cut] and ctx.parent is None:
            args = ["--debug", *(a for a in args[:cut] if a != "--debug"), *args[cut:]]
        return super().parse_args(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Like click's, but a usage error exits 1: exit 2 means "changes present"."""
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            echo_err("Aborted.")
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _, _) in COMMANDS.items() if _exists(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _exists(COMMANDS[cmd_name][0]):
            return None
        module, attr, _ = COMMANDS[cmd_name]
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wscfg")
@click.option(
    "--debug",
    is_flag=True,
    envvar="WSCFG_DEBUG",
    help="Show tracebacks of unexpected errors (before or after the command name).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Config-as-code for SaaS workspace settings.

    Declare members, roles, call tags, qualified-call rules, blocked callers, webhooks and
    notification defaults in YAML; `wscfg plan` shows what would change in the live workspace,
    `wscfg apply` makes it so.

    \b
    Typical flow:
      wscfg validate workspace.yaml          # offline: schema, references, env
      wscfg plan workspace.yaml -o plan.json # review (in a pull request)
      wscfg apply plan.json                  # apply exactly what was reviewed

    With no --server / WSCFG_SERVER, wscfg uses an embedded sandbox in ./.wscfg/, for
    trying it out; with WSCFG_TOKEN set or in a CI job (CI, GITHUB_ACTIONS, JENKINS_URL, …)
    it refuses instead (--embedded forces it).
    Exit codes: 0 ok / no changes, 1 error, 2 changes present (--detailed-exitcode),
    3 apply stopped part-way.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def print_diagnostics(diagnostics: Any, severity: str = "error") -> None:
    """Problems on stderr, each with its line and a caret; warnings say so. File names,
    messages and source lines are escaped (:func:`wscfg.escape.text`): one line each."""
    from ..escape import text

    for d in diagnostics:
        if severity == "warning":
            click.echo(click.style(f"Warning: {text(d.headline())}", fg="yellow"), err=True)
        else:
            click.echo(click.style(text(d.headline()), fg="red"), err=True)
        if d.source_line:
            click.echo(f"    {text(d.source_line.rstrip())}", err=True)
            caret = d.source_column or d.column
            if caret:
                click.echo("    " + " " * (caret - 1) + "^", err=True)


def _lines(message: str) -> str:
    """A message as printed: its own lines kept, every other control character, separator or
    bidi control in it escaped (it may quote a server or a config)."""
    from ..escape import text

    return "\n".join(text(line) for line in message.split("\n"))


# The flag of each option of the API that library errors name (errors.Worded): the command
# line words them its own way, so its messages read as they always have.
FLAGS = {
    "allow_fleet_change": "--allow-fleet-change",
    "as_user": "--as-user",
    "baseline": "--baseline",
    "into_template": "--into-template",
    "shard": "--shard",
    "targets": "--target",
    "target_patterns": "--target",
    "update_baseline": "--update-baseline",
    "embedded": "--embedded",
    "force": "--force",
    "secrets_file": "--new-secrets-to",
    "new_secrets": "--new-secrets-to FILE",
    "server": "--server URL",
}


@contextlib.contextmanager
def handle_errors(debug: bool = False) -> Iterator[None]:
    """Turn every error into a message and an exit code; never show a traceback unless --debug."""
    from ..errors import ApplyCancelled, ConfigError, OptionError, WscfgError

    try:
        yield
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except ConfigError as exc:
        print_diagnostics(exc.diagnostics)
        echo_err(f"Error: {_lines(exc.worded(FLAGS))}")
        sys.exit(exc.exit_code)
    except ApplyCancelled:
        echo_err("Apply cancelled.")
        sys.exit(1)
    except OptionError as exc:
        flagged = option_error(exc)
        if isinstance(flagged, click.ClickException):
            raise flagged from None
        echo_err(f"Error: {_lines(flagged)}")
        sys.exit(exc.exit_code)
    except WscfgError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        echo_err(f"Error: {_lines(message_of(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        echo_err("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly
        if debug:
            raise
        echo_err(
            f"Error: internal error ({type(exc).__name__}); rerun with --debug for details "
            "and please report it."
        )
        sys.exit(1)


# The flag of each argument of the API an OptionError or a DeadlineError names.
OPTION_FLAGS = {
    "only": "--only",
    "shard": "--shard",
    "target_patterns": "--target",
    "timeout": "--timeout",
}


def option_error(exc: Any) -> click.ClickException | str:
    """A library OptionError as the command line says it: a usage error naming the flag, or
    the message of an ``Error:`` line."""
    if exc.option == "target_patterns" and exc.value is None:
        return click.UsageError("no target workspace selected (check PATHS and --target)")
    flag = OPTION_FLAGS.get(exc.option, "--" + exc.option.replace("_", "-"))
    if exc.value is None:
        return click.BadParameter(exc.reason, param_hint=flag)
    return f"{flag} {exc.value} {exc.reason}"


def message_of(exc: Any) -> str:
    """The message of a library error, with the command line's words for the options it
    names (``timeout`` is ``--timeout``)."""
    from ..errors import ApplyError, DeadlineError, OptionError

    replaced = getattr(exc, "replaced", None)
    if replaced is not None:  # workspaces were created before this error: it says so
        first = "apply stopped part-way" if isinstance(replaced, ApplyError) else None
        first = first or message_of(replaced)
        return f"{first}\n{exc.written_note}; run `wscfg plan` to see what is left"
    if isinstance(exc, DeadlineError):
        seconds = f"{OPTION_FLAGS['timeout']} {exc.seconds:g} s"
        if exc.partial:
            return (
                f"apply stopped after {seconds}; some changes may have been made: run "
                "`wscfg plan` to see what is left"
            )
        return (
            f"gave up after {seconds}; nothing was written (raise --timeout for a slow server "
            "or a large fleet)"
        )
    if isinstance(exc, OptionError):
        flagged = option_error(exc)
        return flagged if isinstance(flagged, str) else flagged.format_message()
    return str(exc.worded(FLAGS))


def debug_of(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("debug"))


def main() -> None:
    # No pydantic plugins in the command: looking for them scans the entry points of every
    # installed distribution (about a tenth of a second of each start-up). An explicit
    # PYDANTIC_DISABLE_PLUGINS (even empty, to load them) is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = cli.main(obj={})
    sys.exit(code if isinstance(code, int) else 0)
