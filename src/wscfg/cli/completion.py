"""`wscfg completion SHELL`: the shell completion script (click's) for bash, zsh or fish."""

from __future__ import annotations

import click

COMPLETE_VAR = "_WSCFG_COMPLETE"


@click.command()
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; load it from your shell's start-up file.

    \b
    Examples:
      eval "$(wscfg completion bash)"      # in ~/.bashrc
      eval "$(wscfg completion zsh)"       # in ~/.zshrc
      wscfg completion fish > ~/.config/fish/completions/wscfg.fish
    """
    from click.shell_completion import get_completion_class

    from . import cli

    comp_cls = get_completion_class(shell)
    assert comp_cls is not None  # click.Choice admits only the shells click knows
    click.echo(comp_cls(cli, {}, "wscfg", COMPLETE_VAR).source())
