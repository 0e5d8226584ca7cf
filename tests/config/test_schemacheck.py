"""`wscfg validate`'s schema check (wscfg.config.schemacheck) never says "valid" where the
models would not, takes the quick path for valid files, and leaves every report unchanged.

The check is one-sided: ``conforms(doc)`` is True only if pydantic accepts ``doc`` and no two
items of a collection share a normalized identity. The properties run it on valid generated
configs (it must say True) and on copies with one value replaced by something tricky (a padded,
mis-cased or retyped value, an unknown key, a duplicate item): whenever it says True, the
models must agree; and ``check_paths`` with and without the models reports the same."""

from __future__ import annotations

import copy
import json
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, ValidationError

from engine.strategies import workspace_doc
from wscfg.config import schemacheck
from wscfg.config.resolve import IDENTITY
from wscfg.config.validate import check_paths
from wscfg.model import KINDS, WorkspaceConfig
from wscfg.model.base import Resource
from wscfg.model.values import CHECKS, _zone_file

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("WSCFG_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY = [
    "",
    " ",
    "  padded  ",
    "\u3000wide\u3000",
    "\x1cfs",
    "UPPER",
    "owner",
    "admin",
    "key_abc",
    "#ABC",
    "#abcd",
    "+1 555 010 0100",
    "+15550100101",
    "+1 (555) 010-0101",
    "0044 20 7183 8750",
    "+999",
    "Bob@ACME.example",
    "bob@acme.example ",
    "x@localhost",
    "https://127.0.0.1/x",
    "http://hooks.example.com/x",
    "https://hooks.example.com/x",
    "america/chicago",
    "Mars/Base",
    "2099-12-31",
    "2099-02-30",
    "0000-01-01",
    "\udcff",
    "settings:read",
    "call.completed",
    "x" * 70,
    0,
    1,
    -1,
    50,
    60.0,
    60.5,
    86401,
    1001,
    10**20,
    True,
    False,
    None,
    [],
    {},
    ["x"],
    {"at_least": 5},
    {"at_least": 9, "at_most": 3},
    {"unknown": 1},
]


def paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here] if here else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*here, i))
    return out


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def leaves(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in leaves(v, (*here, k))]
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in leaves(v, (*here, i))]
    return [(here, node)]


@st.composite
def perturbed(draw: st.DrawFn, value: Any, strings: list[str]) -> Any:
    """A value near ``value``: often still valid, sometimes just not."""
    if isinstance(value, str):
        return draw(
            st.sampled_from(
                [f"  {value} ", value.upper(), value.lower(), value.title(), value + "x",
                 value[1:], f"{value}\t", draw(st.sampled_from(strings))]
            )
        )  # fmt: skip
    if isinstance(value, bool):
        return draw(st.sampled_from([not value, int(value), str(value).lower()]))
    if isinstance(value, int):
        return draw(st.sampled_from([value + 1, value - 1, float(value), value + 0.5, -value]))
    return draw(st.sampled_from(TRICKY))


@st.composite
def mutated_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(workspace_doc("acme-north")))
    doc["version"] = 1
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["perturb", "perturb", "perturb", "replace", "add_key", "dup"]))
        where = paths(doc)
        if op == "perturb":
            found = leaves(doc)
            strings = [v for _, v in found if isinstance(v, str)] or ["x"]
            path, value = draw(st.sampled_from(found))
            if path:
                put(doc, path, draw(perturbed(value, strings)))
        elif op == "replace" and where:
            put(doc, draw(st.sampled_from(where)), copy.deepcopy(draw(st.sampled_from(TRICKY))))
        elif op == "add_key":
            maps = [p for p in [(), *where] if isinstance(_get(doc, p), dict)]
            target = _get(doc, draw(st.sampled_from(maps)))
            target[draw(st.sampled_from(["extra", "name", "$remove", "secret", "status"]))] = draw(
                st.sampled_from(TRICKY)
            )
        elif op == "dup":
            lists = [p for p in where if isinstance(_get(doc, p), list) and _get(doc, p)]
            if lists:
                seq = _get(doc, draw(st.sampled_from(lists)))
                seq.append(copy.deepcopy(seq[draw(st.integers(0, len(seq) - 1))]))
    return doc


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def models_accept(doc: dict[str, Any]) -> bool:
    """What the pydantic path decides: the models accept the document and no collection holds
    two items with the same identity once normalized."""
    try:
        config = WorkspaceConfig.model_validate(doc)
    except ValidationError:
        return False
    for kind, ident in IDENTITY.items():
        keys = [str(getattr(item, ident)) for item in getattr(config, kind, None) or []]
        if len(keys) != len(set(keys)):
            return False
    return True


@SETTINGS
@given(workspace_doc("acme-north"))
def test_valid_configs_take_the_quick_path(doc: dict[str, Any]) -> None:
    doc = {"version": 1, **doc}
    assert models_accept(doc)
    assert schemacheck.conforms(doc)


@SETTINGS
@given(mutated_docs())
def test_a_quick_yes_is_never_wrong(doc: dict[str, Any]) -> None:
    if schemacheck.conforms(copy.deepcopy(doc)):
        assert models_accept(doc), json.dumps(doc, default=str)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schemacheck")


@SETTINGS
@given(mutated_docs())
def test_validate_reports_the_same_with_and_without_the_models(
    workdir: Path, doc: dict[str, Any]
) -> None:
    path = workdir / "doc.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    quick = check_paths([str(path)], unset_env_is_warning=True, models=False)
    full = check_paths([str(path)], unset_env_is_warning=True)
    assert quick.to_dict() == full.to_dict()


@pytest.mark.parametrize(
    ("name", "slug"),
    [("workspace.yaml", "acme-dental"), ("agency/harbor.yaml", "smile-harbor"),
     ("agency/lakeside.yaml", "smile-lakeside"), ("agency/north.yaml", "smile-north")],
)  # fmt: skip
def test_the_example_targets_take_the_quick_path(
    name: str, slug: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wscfg.config import validate

    calls: list[bool] = []
    real = validate._conforms
    monkeypatch.setattr(
        validate, "_conforms", lambda data, target: calls.append(real(data, target)) or calls[-1]
    )
    report = check_paths([str(ROOT / "examples" / name)], unset_env_is_warning=True, models=False)
    assert report.ok, report.diagnostics
    assert calls == [True]
    assert report.configs == []  # no settings: the models did not run
    assert [(t.file, t.slug) for t in report.targets] == [(str(ROOT / "examples" / name), slug)]


def test_the_schema_knows_what_the_models_know() -> None:
    assert schemacheck.document_keys() == tuple(WorkspaceConfig.model_fields)
    assert schemacheck.read_only() == {k.name: k.read_only for k in KINDS if k.read_only}


def test_a_validator_without_a_mark_is_refused() -> None:
    """The generator cannot produce a schema that checks less than the models."""
    from wscfg.config.schema import marking_generator

    def unmarked(value: str) -> str:
        return value

    class Toy(Resource):
        name: Annotated[str, AfterValidator(unmarked)]

    with pytest.raises(RuntimeError, match="unmarked has no check mark"):
        Toy.model_json_schema(schema_generator=marking_generator())


def test_a_type_json_schema_reads_differently_is_refused() -> None:
    """A datetime (or time, URL, ...) field has no check yet: the generator says so."""
    import datetime

    from wscfg.config.schema import marking_generator

    class Toy(Resource):
        at: datetime.datetime

    with pytest.raises(RuntimeError, match="a datetime field"):
        Toy.model_json_schema(schema_generator=marking_generator())


def test_zone_files_are_the_available_time_zones() -> None:
    zones = zoneinfo.available_timezones()
    assert all(_zone_file(z) for z in zones)
    for key in ("posixrules", "right/UTC", "posix/UTC", "America", "America/../UTC", "./UTC",
                "UTC/", "", "America//Chicago", "zone.tab", "Mars/Base"):  # fmt: skip
        assert not _zone_file(key), key


# Every marked place, once: a valid document in which each check of CHECKS runs.
FULL: dict[str, Any] = {
    "version": 1,
    "workspace": {
        "slug": "acme-north",
        "name": "Acme",
        "timezone": "America/Chicago",
        "business_profile": {"company": "Acme LLC", "audience": "Families\nand clinics"},
    },
    "roles": [{"name": "desk", "permissions": ["billing:read"]}],
    "members": [{"email": "ann@acme.example", "role": "owner"}],
    "call_tags": [{"name": "spam", "color": "#abc"}],
    "call_rules": {
        "rule": {
            "all": [
                {"duration": {"at_least": 30}},
                {"any": [{"ai_score": {"at_most": 90}}, {"not_tag": "spam"}, {"tag": "spam"}]},
            ]
        }
    },
    "webhooks": [
        {
            "name": "crm",
            "url": "https://hooks.example.com/x",
            "events": ["call.completed"],
            "filters": {"tags": ["spam"]},
        }
    ],
    "blocked_callers": ["+1 555 010 0100", {"number": "+15550100101"}],
    "usage_alerts": [{"threshold": 80, "channels": ["email"], "recipients": ["admin"]}],
    "api_keys": [
        {"name": "ci", "mode": "test", "scopes": ["settings:read"], "expires": "2099-12-31"}
    ],
    "integrations": {"required": ["hubspot"]},
}


@pytest.fixture
def fresh_validator() -> Any:
    schemacheck._validator.cache_clear()
    yield
    schemacheck._validator.cache_clear()


def test_full_document_is_valid_both_ways(fresh_validator: None) -> None:
    assert models_accept(FULL)
    assert schemacheck.conforms(copy.deepcopy(FULL))


@pytest.mark.parametrize("mark", sorted(CHECKS))
def test_each_check_runs_where_the_models_run_it(
    mark: str, fresh_validator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that refuses everything makes the full document fail: the schema runs every
    check somewhere (and the generator puts one wherever the models run a validator)."""
    seen: list[Any] = []

    def refuse(value: Any) -> Any:
        seen.append(value)
        raise ValueError("no")

    monkeypatch.setitem(CHECKS, mark, refuse)
    assert not schemacheck._validator().is_valid(copy.deepcopy(FULL))
    assert seen


def test_without_jsonschema_rs_the_models_decide(
    fresh_validator: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "jsonschema_rs", None)  # import fails
    assert not schemacheck.conforms(copy.deepcopy(FULL))
    path = tmp_path / "full.yaml"
    path.write_text(json.dumps(FULL), encoding="utf-8")
    report = check_paths([str(path)], models=False)
    assert report.ok and [t.slug for t in report.targets] == ["acme-north"]
    assert len(report.configs) == 1  # the models ran


# --- found in review: values JSON Schema (or jsonschema-rs) reads differently from pydantic --


def _with_key(**fields: Any) -> dict[str, Any]:
    doc = copy.deepcopy(FULL)
    doc["api_keys"] = [{"name": "ci", "mode": "test", "scopes": ["settings:read"], **fields}]
    return doc


@pytest.mark.parametrize(
    ("expires", "valid"),
    [("0000-01-01", False), ("0000-02-29", False), ("2096-02-29", True), ("2097-02-29", False),
     ("9999-12-31", True), ("0001-01-01", False), ("2024-02-29", False),
     ("2099-12-31T00:00:00", False), ("2099-12-31 00:00", False)],
)  # fmt: skip
def test_a_date_is_what_pydantic_reads_as_one(expires: str, valid: bool) -> None:
    """JSON Schema's ``format: date`` (RFC 3339 full-date) takes year 0000; pydantic's date
    does not (year 0 is out of range). A key's last day is also after today on both sides,
    and a date and time is not a date (#21 item 8)."""
    doc = _with_key(expires=expires)
    assert models_accept(doc) is valid
    assert schemacheck.conforms(copy.deepcopy(doc)) is valid


def test_the_date_check_never_takes_what_pydantic_refuses() -> None:
    from pydantic import TypeAdapter

    from wscfg.model.values import date_text

    dates = TypeAdapter(__import__("datetime").date)
    for year in (0, 1, 4, 100, 1900, 2000, 2024, 2100, 9999):
        for month in range(14):
            for day in range(33):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    date_text(text)
                except ValueError:
                    continue
                dates.validate_python(text)  # raises if pydantic refuses it


@pytest.mark.parametrize("where", [("workspace", "name"), ("roles", 0, "description")])
def test_text_that_is_not_unicode_goes_to_the_models(where: tuple[Any, ...]) -> None:
    """A lone surrogate (an environment value that is not UTF-8: os.environ decodes it with
    surrogateescape) is text to Python but not to pydantic, and jsonschema-rs reads it
    lossily."""
    doc = copy.deepcopy(FULL)
    put(doc, where, "\udcff")
    assert not models_accept(doc)
    assert not schemacheck.conforms(copy.deepcopy(doc))


def test_an_environment_value_that_is_not_unicode_is_reported_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text(
        'version: 1\nworkspace: {slug: acme-north, name: "${env:WS_NAME}"}\n', encoding="utf-8"
    )
    env = {"WS_NAME": "\udcff"}
    quick = check_paths([str(path)], environ=env, unset_env_is_warning=True, models=False)
    full = check_paths([str(path)], environ=env, unset_env_is_warning=True)
    assert not full.ok
    assert quick.to_dict() == full.to_dict()


@pytest.mark.parametrize("expires", ["0000-01-01", "1970-01-01", "2099-12-31T00:00:00"])
def test_year_zero_is_reported_the_same(tmp_path: Path, expires: str) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text(
        "version: 1\nworkspace: {slug: acme-north}\n"
        f"api_keys: [{{name: ci, mode: test, scopes: [settings:read], expires: {expires}}}]\n",
        encoding="utf-8",
    )
    quick = check_paths([str(path)], unset_env_is_warning=True, models=False)
    full = check_paths([str(path)], unset_env_is_warning=True)
    assert not full.ok
    assert quick.to_dict() == full.to_dict()
