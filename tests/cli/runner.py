"""Running the CLI in-process, as the CLI tests do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from wscfg.cli import cli


def invoke(*args: str) -> Result:
    """Run ``wscfg ARGS...``; a bug surfaces as its exception, and no output is a traceback."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def reseal(path: Path | str, doc: dict[str, Any], key: str) -> None:
    """Write ``doc`` to ``path`` sealed under ``key`` (the plan key of the run): what an
    edit by someone who holds the plan key looks like, to reach the checks after the seal."""
    from wscfg.engine.seal import seal_document

    Path(path).write_text(json.dumps(seal_document(doc, key.encode())))
