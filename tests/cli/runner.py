"""Running the CLI in-process, as the CLI tests do."""

from __future__ import annotations

from click.testing import CliRunner, Result

from wscfg.cli import cli


def invoke(*args: str) -> Result:
    """Run ``wscfg ARGS...``; a bug surfaces as its exception, and no output is a traceback."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result
