"""The commands that need no server: `wscfg validate` checks config files and reports every
problem; `wscfg show` renders saved plans, or the parts of a sharded plan or drift run as one
fleet report (like `terraform show`); `wscfg schema` writes or checks the JSON documents in
schemas/; `wscfg completion` prints the shell completion script (click's)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..workflow.schemas import NAMES
from . import echo_err, handle_errors, print_diagnostics
from .run import config_root_option, show_plans

VALIDATE_FORMATS = ("text", "github", "sarif", "gitlab", "json")


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(VALIDATE_FORMATS),
    default="text",
    show_default=True,
    help="text for people (problems on stderr); github for workflow-command annotations; "
    "sarif for code scanning (SARIF 2.1.0); gitlab for a GitLab Code Quality report; json for "
    "machines (the last four on stdout). CI formats give paths from the repository root.",
)
@config_root_option
def validate(paths: tuple[str, ...], fmt: str, config_roots: tuple[str, ...]) -> None:
    """Check config files offline: YAML, schema, references, variables and environment.

    PATH may be a file, a directory (every *.yaml / *.yml below it) or a glob. Every problem
    of every file is reported as `file:line:col: path: message`, with the offending line once
    the file is known to be a wscfg config (docs/config.md: no line of a secrets file shows).
    A file whose resolved `workspace.slug` is set is a target; one without is a template,
    used through `extends:`, which may only name .yaml/.yml wscfg configs inside the config
    root (the enclosing git work tree, else the folder named; --config-root adds more).
    No network access.

    An unset `${env:NAME}` is a warning here (named and located), so validate works in CI
    without secrets, e.g. on pull requests from forks; plan and apply need the variable.

    \b
    Examples:
      wscfg validate examples/workspace.yaml examples/agency/
      wscfg validate config/ --format github        # annotations on the PR diff
      wscfg validate config/ --format sarif > wscfg.sarif   # upload to code scanning
      wscfg validate config/ --format gitlab > gl-code-quality-report.json   # MR widget

    \b
    Exit codes: 0 valid (warnings allowed), 1 a problem was found.
    """
    with handle_errors():
        from ..config.validate import check_paths

        report = check_paths(
            paths, config_roots=config_roots, unset_env_is_warning=True, models=False
        )
        if fmt != "text":
            from ..config.reports import ci_report

            out, err = ci_report(report, fmt)
            click.echo(out)
            if err is not None:
                echo_err(err)
        else:
            print_diagnostics(report.warnings, "warning")
            print_diagnostics(report.diagnostics)
            click.echo(
                report.summary() if report.ok else f"Error: {report.summary()}", err=not report.ok
            )
        if not report.ok:
            sys.exit(1)


SHOW_FORMATS = ("text", "json", "markdown", "html")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SHOW_FORMATS),
    default="text",
    show_default=True,
    help="As for `wscfg plan` and `wscfg drift`: text, json (the document; the parts merged), "
    "markdown (a PR comment or issue) or html (drift reports only).",
)
@click.option("--full", is_flag=True, help="List every change (text lists 20 per kind).")
def show(files: tuple[str, ...], fmt: str, full: bool) -> None:
    """Show a plan saved by `wscfg plan -o PLANFILE`, with what apply would refuse under the
    allowances it was made with; or the parts of one sharded run as one report. Reads no
    server; of the environment, only the plan key (WSCFG_PLAN_KEY, else WSCFG_TOKEN) to check
    seals, and $GITHUB_STEP_SUMMARY: markdown also goes there, whole up to 1 MiB (stdout fits
    a PR comment). A file changed after it was written is refused, as apply refuses it.

    Each job of a CI matrix runs `wscfg plan|drift … --shard i/n --format json -o part-i.json`;
    `wscfg show part-*.json` then renders the whole fleet, as the unsharded run would (what
    apply would refuse is worked out over the whole fleet). Every shard 1…n must be given
    exactly once, all made from the same config, against the same server, with the same
    options; otherwise show names the part that does not fit and exits 1.

    \b
    Examples:
      wscfg show plan.json
      wscfg show plan.json --format markdown > comment.md
      wscfg show part-*.json --format markdown > fleet.md
      wscfg show drift-*.json --format html > drift.html

    \b
    Exit codes: 0 shown, 1 a file is missing, unreadable, not a wscfg plan or drift report, or
    changed after it was written, or the parts are not exactly the shards of one run.
    """
    with handle_errors():
        from ..engine.shards import DRIFT
        from ..workflow import show as saved
        from ..workflow.keys import plan_key_here
        from ..workflow.report import partial_note

        key = plan_key_here(os.environ, Path.cwd())
        parts = saved.read_parts(files, key, lambda notice: echo_err(notice.text))
        if any(p.command == DRIFT for p in parts):
            click.echo(
                saved.drift_text(parts, fmt, os.environ.get("GITHUB_STEP_SUMMARY"), echo_err)
            )
            return
        if fmt == "html":
            from ..errors import PlanError

            raise PlanError(
                "--format html shows drift reports; show a plan as text, json or markdown"
            )
        doc, merged = saved.plan_document(parts)
        ps = saved.planset_of(doc)
        if ps.only:
            echo_err(partial_note(ps.only, "--only"))
        if fmt == "json":
            click.echo(saved.plan_json(doc, ps, merged))
            return
        ps.failures = saved.failures_of(doc)
        show_plans(ps, fmt, full=full)


def _said(shown: str, status: str) -> None:
    if status == "written":
        click.echo(f"wrote {shown}")
    elif status == "up to date":
        click.echo(f"{shown} is up to date")
    else:
        echo_err(f"{shown} is {status}; run `wscfg schema` to regenerate it")


@click.command()
@click.argument("names", nargs=-1, type=click.Choice(NAMES), metavar="[NAME]...")
@click.option("--check", is_flag=True, help="Do not write; exit 1 if a file is missing or stale.")
@click.option(
    "--dir",
    "directory",
    default="schemas",
    show_default=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Where the schema files live.",
)
def schema(names: tuple[str, ...], check: bool, directory: str) -> None:
    """Write (or --check) schemas/workspace.schema.json and schemas/openapi.json.

    workspace.schema.json is the JSON Schema of a config file (for editors: add
    `# yaml-language-server: $schema=<path>/workspace.schema.json` to a file); openapi.json
    describes the Workspace Settings API served by `wscfg sandbox`. `check` is the schema
    `wscfg validate` checks a resolved file against before it needs the models; it lives in the
    package (wscfg/config/document.schema.json), whatever --dir says. NAME limits the run to
    `workspace`, `openapi` or `check`.

    \b
    Examples:
      wscfg schema                  # write every schema (after changing a model)
      wscfg schema --check          # CI: exit 1 if a committed schema is stale
      wscfg schema workspace --dir /tmp/schemas
    """
    with handle_errors():
        from ..workflow.schemas import sync

        if sync(names, directory, check=check, on_result=_said):
            sys.exit(1)


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
