"""Write a config document as YAML (ruamel.yaml): stable key order, a header, comments."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

SCHEMA_LINE = "# yaml-language-server: $schema={schema}"


def to_yaml(
    document: Mapping[str, Any],
    *,
    header: list[str] = (),  # type: ignore[assignment]
    schema: str | None = None,
    secrets: Mapping[str, str] | None = None,
    footer: list[str] = (),  # type: ignore[assignment]
) -> str:
    """YAML text for ``document``; ``secrets`` maps webhook names to the env var to suggest."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from ..escape import text

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            m = CommentedMap()
            for k, v in value.items():
                m[k] = convert(v)
            return m
        if isinstance(value, list):
            seq = CommentedSeq()
            for v in value:
                seq.append(convert(v))
            if value and all(not isinstance(v, Mapping | list) for v in value) and len(value) <= 8:
                seq.fa.set_flow_style()
            return seq
        return value

    root = convert(document)
    for hook in root.get("webhooks") or []:
        env = (secrets or {}).get(hook.get("name"))
        if env and isinstance(hook, CommentedMap):
            hook.yaml_add_eol_comment(
                text(
                    f"secret set on the platform (unreadable); to manage it: secret: ${{env:{env}}}"
                ),
                "name",
            )
    lines = [*header]
    if schema:
        lines.insert(0, SCHEMA_LINE.format(schema=schema))
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    buf = io.StringIO()
    yaml.dump(root, buf)
    # Comment lines hold server values (a URL, integration names): escaped, one line each.
    lines = [text(line) for line in lines]
    prefix = "".join(f"{line}\n" if line.startswith("#") else f"# {line}\n" for line in lines)
    suffix = "".join(f"# {text(line)}\n" for line in footer)
    return prefix + buf.getvalue() + ("#\n" + suffix if suffix else "")
