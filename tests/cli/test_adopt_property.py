"""Invariant 11 (adopt round-trip), as a property against the real sandbox: random call tags
(flow or block style, quoted or not, with comments), random live edits (colors changed, tags
deleted and created through the API), then `wscfg adopt`: `plan` is empty for the adopted
items, and the lines of every item the edit did not need are unchanged byte for byte."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.cli import cli

JANE = "jane@acme.example"
COLORS = ["#ff0000", "#00ff00", "#0000ff", "#123456", "#abcdef"]


def item_lines(name: str, color: str, flow: bool, quote: str, comment: bool) -> list[str]:
    value = f"{quote}{color}{quote}"
    lines = [f"  # about {name}"] if comment else []
    if flow:
        lines.append(f"  - {{name: {name}, color: {value}}}")
    else:
        lines += [f"  - name: {name}", f"    color: {value}"]
    return lines


items = st.lists(
    st.tuples(
        st.sampled_from(COLORS),
        st.booleans(),
        st.sampled_from(['"', "'"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)
edits = st.lists(
    st.tuples(st.sampled_from(["color", "delete"]), st.integers(0, 4), st.sampled_from(COLORS)),
    max_size=3,
)


@settings(max_examples=15, deadline=None)
@given(items=items, edits=edits, created=st.booleans())
def test_adopt_then_plan_is_empty(sandbox, items, edits, created):
    ws = sandbox.new_workspace(owner=JANE)
    env = {"WSCFG_SERVER": sandbox.url, "WSCFG_TOKEN": ws.key}
    names = [f"tag{i}" for i in range(len(items))]
    blocks = [item_lines(n, *spec) for n, spec in zip(names, items, strict=True)]
    head = [
        "# generated",
        "version: 1",
        f"workspace: {{slug: {ws.slug}, name: Acme, timezone: UTC}}",
        "members:",
        f"  - {{email: {JANE}, role: owner}}",
        "call_tags:",
    ]
    text = "\n".join(head + [ln for b in blocks for ln in b]) + "\n"
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "ws.yaml"
        cfg.write_text(text)
        got = runner.invoke(cli, ["apply", "--auto-approve", str(cfg)], env=env)
        assert got.exit_code == 0, got.output
        touched: set[str] = set()
        with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
            for what, index, color in edits:
                name = names[index % len(names)]
                if name in touched:
                    continue
                touched.add(name)
                if what == "delete":
                    c.delete(f"/call-tags/{name}").raise_for_status()
                else:
                    c.patch(f"/call-tags/{name}", json={"color": color}).raise_for_status()
            if created:
                c.post("/call-tags", json={"name": "zz-new", "color": "#0f0f0f"})
        got = runner.invoke(cli, ["adopt", str(cfg)], env=env)
        assert got.exit_code == 0, got.output
        after = cfg.read_text().splitlines()
        plan = runner.invoke(cli, ["plan", str(cfg), "--format", "json"], env=env)
        assert plan.exit_code == 0, plan.output
        changes = [c for t in json.loads(plan.stdout)["targets"] for c in t["changes"]]
        assert changes == []
        assert after[: len(head) - 1] == head[:-1]
        assert after[len(head) - 1] in ("call_tags:", "call_tags: []")
        for name, block in zip(names, blocks, strict=True):
            if name in touched:
                continue
            code = [ln for ln in block if not ln.lstrip().startswith("#")]
            start = after.index(code[0])
            assert after[start : start + len(code)] == code
