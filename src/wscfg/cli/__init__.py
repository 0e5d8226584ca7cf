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

# name -> (module in wscfg.cli holding the command of that name, one-line help shown by
# `wscfg --help` without importing it)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("offline", "Check config files offline; report every problem."),
    "plan": ("plan", "Show what would change in the live workspace(s)."),
    "apply": ("plan", "Make the live workspace(s) match the config or a saved plan."),
    "drift": (
        "live",
        "Report drift only: who changed what, via what, when; new drift vs a baseline.",
    ),
    "adopt": (
        "live",
        "Write live values (changes made in the UI) back into the YAML, comments kept.",
    ),
    "show": ("offline", "Render a saved plan file; no server needed."),
    "export": ("live", "Write a live workspace's settings as YAML."),
    "clone": ("plan", "Copy one workspace's settings onto others."),
    "schema": ("offline", "Write or check the JSON Schemas in schemas/."),
    "sandbox": ("sandbox", "Run the reference Workspace Settings API locally."),
    "completion": ("offline", "Print the shell completion script (bash, zsh, fish)."),
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
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        cmd = getattr(importlib.import_module(f"{__name__}.{COMMANDS[cmd_name][0]}"), cmd_name)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help) for name, (_, help) in COMMANDS.items()])


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
    warning = severity == "warning"
    for d in diagnostics:
        headline, *lines = d.shown()
        click.secho(
            f"Warning: {headline}" if warning else headline,
            fg="yellow" if warning else "red",
            err=True,
        )
        for line in lines:
            click.echo(line, err=True)


# The flag of each option of the API that library errors name (errors.Worded, OptionError,
# DeadlineError): the command line words them its own way, so its messages read as they always
# have.
FLAGS = {
    "allow_fleet_change": "--allow-fleet-change",
    "as_user": "--as-user",
    "baseline": "--baseline",
    "into_template": "--into-template",
    "only": "--only",
    "parallel": "--parallel",
    "rate_limit": "--rate-limit",
    "shard": "--shard",
    "target_patterns": "--target",
    "timeout": "--timeout",
    "update_baseline": "--update-baseline",
    "embedded": "--embedded",
    "force": "--force",
    "secrets_file": "--new-secrets-to",
    "new_secrets": "--new-secrets-to FILE",
    "server": "--server URL",
}


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Turn every error into a message and an exit code; never show a traceback unless --debug."""
    from ..errors import ApplyCancelled, ConfigError, OptionError, WscfgError, said

    ctx = click.get_current_context(silent=True)
    debug = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("debug"))
    try:
        yield
    except WscfgError as exc:
        if isinstance(exc, OptionError) and exc.value is None:  # a usage error naming the flag
            if exc.option == "target_patterns":
                raise click.UsageError(
                    "no target workspace selected (check PATHS and --target)"
                ) from None
            flag = FLAGS.get(exc.option, "--" + exc.option.replace("_", "-"))
            raise click.BadParameter(exc.reason, param_hint=flag) from None
        if isinstance(exc, ConfigError):
            print_diagnostics(exc.diagnostics)
        elif debug and not isinstance(exc, ApplyCancelled | OptionError):
            import traceback

            traceback.print_exc()
        cancelled = isinstance(exc, ApplyCancelled)
        echo_err("Apply cancelled." if cancelled else f"Error: {said(exc, FLAGS)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        echo_err("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # a bug (or click's own exits and usage errors): say so plainly
        if debug or isinstance(exc, click.exceptions.Exit | click.ClickException):
            raise
        echo_err(
            f"Error: internal error ({type(exc).__name__}); rerun with --debug for details "
            "and please report it."
        )
        sys.exit(1)


def main() -> None:
    # No pydantic plugins in the command: looking for them scans the entry points of every
    # installed distribution (about a tenth of a second of each start-up). An explicit
    # PYDANTIC_DISABLE_PLUGINS (even empty, to load them) is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = cli.main(obj={})
    sys.exit(code if isinstance(code, int) else 0)
