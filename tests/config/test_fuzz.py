"""Property: whatever the bytes, the loader and validator return diagnostics or a model.

Random text, mutated copies of the examples, and random documents over wscfg's own
vocabulary all go through the public entry points; the only outcomes allowed are a Report
(check_paths) and a list of TargetConfig or a ConfigError (load_targets), and every diagnostic is
well formed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscfg.config.desired import TargetConfig
from wscfg.config.validate import check_paths, load_targets
from wscfg.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    (ROOT / "examples/workspace.yaml").read_text(encoding="utf-8"),
    (ROOT / "examples/agency/lakeside.yaml").read_text(encoding="utf-8"),
]
ENV = {"ACME_WEBHOOK_SECRET": "fuzz-secret-value", "SMILE_WEBHOOK_SECRET": "fuzz-secret-2"}
YAML_CHARS = ":-[]{}&*!|>'\"#%@`,?\t\n $\\~<=." + "abcxyz019+_\ufeff\u2028é"
VOCAB = [
    "version", "extends", "vars", "manage", "ignore", "workspace", "roles", "members",
    "call_tags", "call_rules", "blocked_callers", "webhooks", "notifications", "slug", "name",
    "timezone", "email", "role", "owner", "rule", "all", "any", "tag", "not_tag", "duration",
    "at_least", "at_most", "number", "note", "url", "events", "secret", "filters", "tags",
    "$remove", "status", "system", "in_app", "permissions", "<<",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "acme", "owner", "x@y.example", "+1 555 010 0100", "https://h.example.com/x",
            "http://10.0.0.1/", "America/Chicago", "${var.x}", "${env:ACME_WEBHOOK_SECRET}",
            "${env:NOPE}", "$${", "${", "call.completed", "spam", "#fff", "", "a.yaml",
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip


def json_docs() -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(VOCAB), st.text(max_size=6))
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)
        ),
        max_leaves=25,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "base.yaml").write_text("version: 1\nvars: {x: 1}\ncall_tags: [{name: spam}]\n")
    return d


def run(workdir: Path, data: bytes) -> None:
    path = workdir / "doc.yaml"
    path.write_bytes(data)
    report = check_paths([str(path)], environ=ENV)
    for d in report.diagnostics:
        assert d.file and isinstance(d.message, str) and d.message
        assert d.line >= 0 and d.column >= 0
        assert "fuzz-secret" not in d.message and "fuzz-secret" not in d.source_line
        assert "Traceback" not in d.message
    if report.ok:
        assert len(report.configs) + len(report.templates) == 1
    try:
        targets = load_targets([str(path)], environ=ENV)
    except ConfigError as exc:
        assert exc.diagnostics
        assert not report.ok
    else:
        assert report.ok
        assert all(isinstance(t, TargetConfig) for t in targets)
        for t in targets:
            t.config.model_dump(mode="json", exclude_unset=True)


FUZZ = settings(
    max_examples=int(__import__("os").environ.get("WSCFG_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(st.text(alphabet=st.sampled_from(YAML_CHARS), max_size=200))
def test_random_yaml_like_text(workdir: Path, text: str) -> None:
    run(workdir, text.encode("utf-8"))


@FUZZ
@given(st.binary(max_size=120))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    run(workdir, data)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["delete", "insert", "dup_line", "drop_line", "swap"]))
        n = len(text)
        i = draw(st.integers(min_value=0, max_value=max(n - 1, 0)))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)) :]
        elif op == "insert":
            text = (
                text[:i]
                + draw(st.text(st.sampled_from(YAML_CHARS), min_size=1, max_size=4))
                + text[i:]
            )
        else:
            rows = text.split("\n")
            j = draw(st.integers(0, len(rows) - 1))
            k = draw(st.integers(0, len(rows) - 1))
            if op == "dup_line":
                rows.insert(k, rows[j])
            elif op == "drop_line":
                del rows[j]
            else:
                rows[j], rows[k] = rows[k], rows[j]
            text = "\n".join(rows)
    return text


@FUZZ
@given(mutated())
def test_mutated_examples(workdir: Path, text: str) -> None:
    run(workdir, text.encode("utf-8"))  # lakeside's `extends: base.yaml` finds workdir's base


@FUZZ
@given(json_docs())
def test_random_documents_over_the_vocabulary(workdir: Path, doc: Any) -> None:
    if isinstance(doc, dict) and doc and not doc.get("extends"):
        doc.setdefault("version", 1)
    run(workdir, json.dumps(doc).encode("utf-8"))


@FUZZ
@given(
    st.fixed_dictionaries(
        {"version": st.just(1), "workspace": st.fixed_dictionaries({"slug": st.just("fuzz")})},
        optional={
            k: json_docs()
            for k in ("members", "roles", "call_tags", "call_rules", "webhooks", "blocked_callers")
        },
    )
)
def test_random_targets(workdir: Path, doc: dict[str, Any]) -> None:
    run(workdir, json.dumps(doc).encode("utf-8"))
