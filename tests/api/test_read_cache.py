"""The read cache (``wscfg.connect(..., cache=DIR)``, ``WSCFG_CACHE``): DESIGN §6 invariant
"the cache is only an optimization", over real HTTP against the sandbox.

- Results with and without the cache are identical, for any sequence of live edits (people in
  the UI, other integrations) between runs: drift reports (attribution from the audit log
  included) and plans, as JSON.
- An unchanged workspace is answered ``304`` (the sandbox's access log counts them), both its
  snapshot and the audit read drift attribution makes.
- An entry that is missing, corrupt, of another server, another key or another workspace means
  a full read (``200``), then a fresh entry.
- Entries hold no secret (no webhook secret or fingerprint, no ``${env:…}`` value, no API key
  or hash of it), files are mode 0600 in folders made 0700.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wscfg
from wscfg.api.cache import ReadCache
from wscfg.model.webhooks import secret_fingerprint
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace, running_server, unique

SECRET = "hook-secret-4f1c9e"
HOOK_URL = "https://hooks.cache-test.example/t/9d8c7b6a"
TAGS = ("a", "b", "c")
COLOURS = ("#111111", "#222222", "#333333")


@dataclass
class Fleet:
    server: SandboxServer
    lines: list[str]
    agency_key: str
    slugs: list[str]
    keys: dict[str, str]
    configs: Path
    env: dict[str, str] = field(default_factory=dict)

    def connect(self, cache: Path | None, token: str | None = None) -> wscfg.Session:
        return wscfg.connect(
            server=self.server.url, token=token or self.agency_key, cache=cache, environ=self.env
        )

    def load(self) -> list[object]:
        with mock.patch.dict(os.environ, self.env):
            return wscfg.load(self.configs)

    def drift(self, cache: Path | None, token: str | None = None) -> str:
        loaded = self.load()
        with self.connect(cache, token) as ws:
            return wscfg.render(ws.drift(loaded), "json")  # type: ignore[arg-type]

    def plan(self, cache: Path | None) -> str:
        loaded = self.load()
        with self.connect(cache) as ws:
            return wscfg.render(ws.plan(loaded), "json")  # type: ignore[arg-type]

    def statuses(self, what: str, since: int) -> dict[str, list[str]]:
        """Status of each ``GET …/<slug>/<what>`` logged after line ``since``, per slug."""
        out: dict[str, list[str]] = {s: [] for s in self.slugs}
        for line in self.lines[since:]:
            method, path, status = line.split()[:3]
            for slug in self.slugs:
                if method == "GET" and path == f"/v1/workspaces/{slug}/{what}":
                    out[slug].append(status)
        return out

    def edit(self, slug: str, action: str, tag: str, colour: str) -> None:
        """A live edit with the workspace's own key (someone else's integration)."""
        base = f"{self.server.url}/v1/workspaces/{slug}/call-tags"
        auth = {"Authorization": f"Bearer {self.keys[slug]}"}
        if action == "create":
            httpx.post(base, json={"name": tag, "color": colour}, headers=auth, timeout=30)
        elif action == "set":
            httpx.patch(f"{base}/{tag}", json={"color": colour}, headers=auth, timeout=30)
        elif action == "delete":
            httpx.delete(f"{base}/{tag}", headers=auth, timeout=30)
        else:  # the workspace's name
            httpx.patch(
                f"{self.server.url}/v1/workspaces/{slug}",
                json={"name": f"renamed {colour}"},
                headers=auth,
                timeout=30,
            )


def yaml_of(slug: str) -> str:
    return (
        "version: 1\n"
        f"workspace: {{slug: {slug}, name: {slug}, timezone: UTC}}\n"
        "call_tags:\n"
        '  - {name: a, color: "#111111"}\n'
        '  - {name: b, color: "#222222"}\n'
        "webhooks:\n"
        "  - name: reports\n"
        "    url: ${env:HOOK_URL}\n"
        "    events: [call.completed]\n"
        "    secret: ${env:HOOK_SECRET}\n"
    )


@pytest.fixture(scope="module")
def logged(db_url: str | None) -> Iterator[tuple[SandboxServer, list[str]]]:
    """A sandbox of this module's own whose access log is kept in a list."""
    lines: list[str] = []
    with running_server(db_url, access_log=lines.append) as server:
        yield server, lines


def make_fleet(
    logged: tuple[SandboxServer, list[str]], folder: Path, count: int = 3, apply: bool = True
) -> Fleet:
    server, lines = logged
    agency = server.new_agency()
    slugs = sorted(unique("cache") for _ in range(count))
    keys = {s: server.create_workspace(s, agency=agency.name) for s in slugs}
    configs = folder / "configs"
    configs.mkdir()
    for slug in slugs:
        (configs / f"{slug}.yaml").write_text(yaml_of(slug))
    fleet = Fleet(
        server,
        lines,
        agency.key,
        slugs,
        keys,
        configs,
        {"HOOK_SECRET": SECRET, "HOOK_URL": HOOK_URL},
    )
    if apply:
        with fleet.connect(None) as ws:
            ws.apply(ws.plan(fleet.load())).raise_for_errors()  # type: ignore[arg-type]
    return fleet


def test_unchanged_workspaces_are_answered_304_and_read_the_same(
    logged: tuple[SandboxServer, list[str]], tmp_path: Path
) -> None:
    fleet = make_fleet(logged, tmp_path)
    drifted = fleet.slugs[0]
    fleet.edit(drifted, "set", "a", "#333333")  # drift: attribution reads the audit log
    cache = tmp_path / "cache"

    cold = fleet.drift(None)
    mark = len(fleet.lines)
    first = fleet.drift(cache)  # fills the cache: every read in full
    assert fleet.statuses("settings", mark) == {s: ["200"] for s in fleet.slugs}
    assert fleet.statuses("audit", mark)[drifted] == ["200"]

    mark = len(fleet.lines)
    warm = fleet.drift(cache)
    assert fleet.statuses("settings", mark) == {s: ["304"] for s in fleet.slugs}
    assert fleet.statuses("audit", mark)[drifted] == ["304"]
    assert cold == first == warm
    assert json.loads(warm)["drift"]  # there is drift to attribute

    # one live edit: that workspace is read in full, the others still 304, same as cold
    fleet.edit(fleet.slugs[1], "create", "c", "#111111")
    mark = len(fleet.lines)
    after = fleet.drift(cache)
    got = fleet.statuses("settings", mark)
    assert got[fleet.slugs[1]] == ["200"]
    assert got[fleet.slugs[0]] == got[fleet.slugs[2]] == ["304"]
    assert after == fleet.drift(None) != warm

    assert fleet.plan(cache) == fleet.plan(None)


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def _damage_truncate(path: Path, fleet: Fleet, cache: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _damage_not_json(path: Path, fleet: Fleet, cache: Path) -> None:
    path.write_bytes(b"\x00\xff not json")


def _damage_shape(path: Path, fleet: Fleet, cache: Path) -> None:
    path.write_text(json.dumps({"wscfg_cache": 1, "entries": []}))


def _damage_version(path: Path, fleet: Fleet, cache: Path) -> None:
    doc = json.loads(path.read_text())
    doc["wscfg_cache"] = 2
    path.write_text(json.dumps(doc))


def _damage_one_byte(path: Path, fleet: Fleet, cache: Path) -> None:
    doc = json.loads(path.read_text())
    raw = bytearray(base64.b64decode(doc["data"]))
    raw[len(raw) // 2] ^= 1
    doc["data"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(doc))


def _damage_other_workspace(path: Path, fleet: Fleet, cache: Path) -> None:
    """The entry of another workspace (renamed into place)."""
    slug = path.name.split(".")[0]
    other = next(s for s in fleet.slugs if s != slug)
    path.write_bytes(path.with_name(path.name.replace(slug, other)).read_bytes())


def _damage_wrong_snapshot(path: Path, fleet: Fleet, cache: Path) -> None:
    """A well-sealed entry whose snapshot is another workspace's (or not a snapshot)."""
    slug, what = path.name.split(".")
    store = ReadCache(cache, fleet.server.url, fleet.agency_key)
    entry = store.load(slug, what)
    assert entry is not None
    other = next(s for s in fleet.slugs if s != slug)
    value = entry.value
    if what == "settings":
        value = {**value, "workspace": {**value["workspace"], "slug": other}}
    else:
        value = {"not": "entries"}
    store.store(slug, what, type(entry)(entry.etag, value, entry.query))


def _damage_another_key(path: Path, fleet: Fleet, cache: Path) -> None:
    """The entry another key wrote for this workspace (copied over)."""
    other = ReadCache(cache, fleet.server.url, fleet.server.create_agency(unique("other")))
    slug, what = path.name.split(".")
    mine = ReadCache(cache, fleet.server.url, fleet.agency_key)
    entry = mine.load(slug, what)
    assert entry is not None
    other.store(slug, what, entry)
    path.write_bytes((other.folder / path.name).read_bytes())


def _damage_another_server(path: Path, fleet: Fleet, cache: Path) -> None:
    """The entry the same key wrote for another server (copied over)."""
    other = ReadCache(cache, "https://elsewhere.example", fleet.agency_key)
    slug, what = path.name.split(".")
    entry = ReadCache(cache, fleet.server.url, fleet.agency_key).load(slug, what)
    assert entry is not None
    other.store(slug, what, entry)
    path.write_bytes((other.folder / path.name).read_bytes())


def _damage_missing(path: Path, fleet: Fleet, cache: Path) -> None:
    path.unlink()


DAMAGE = [
    _damage_missing,
    _damage_truncate,
    _damage_not_json,
    _damage_shape,
    _damage_version,
    _damage_one_byte,
    _damage_other_workspace,
    _damage_wrong_snapshot,
    _damage_another_key,
    _damage_another_server,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__[len("_damage_") :])
def test_an_entry_that_cannot_be_used_means_a_full_read(
    logged: tuple[SandboxServer, list[str]], tmp_path: Path, damage: object
) -> None:
    fleet = make_fleet(logged, tmp_path, count=2)
    for slug in fleet.slugs:
        fleet.edit(slug, "set", "a", "#333333")  # drift, so the audit is read too
    cache = tmp_path / "cache"
    cold = fleet.drift(cache)
    mine = ReadCache(cache, fleet.server.url, fleet.agency_key).folder
    slug = fleet.slugs[0]
    for what in ("settings", "audit"):
        damage(mine / f"{slug}.{what}", fleet, cache)  # type: ignore[operator]
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold
    assert fleet.statuses("settings", mark) == {slug: ["200"], fleet.slugs[1]: ["304"]}
    assert fleet.statuses("audit", mark) == {slug: ["200"], fleet.slugs[1]: ["304"]}
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold  # the entry was written afresh
    assert fleet.statuses("settings", mark) == {s: ["304"] for s in fleet.slugs}
    assert fleet.statuses("audit", mark) == {s: ["304"] for s in fleet.slugs}


def test_another_key_or_server_never_uses_the_entries(
    logged: tuple[SandboxServer, list[str]], tmp_path: Path
) -> None:
    """A second key of the same fleet shares the folder: its reads are full, then its own."""
    fleet = make_fleet(logged, tmp_path, count=2)
    cache = tmp_path / "cache"
    fleet.drift(cache)
    other = fleet.server.issue_key(agency=fleet.agency_key)
    mark = len(fleet.lines)
    assert fleet.drift(cache, token=other) == fleet.drift(None, token=other)
    assert fleet.statuses("settings", mark) == {s: ["200", "200"] for s in fleet.slugs}
    folders = sorted(p.name for p in cache.iterdir())
    assert len(folders) == 2  # one per server and key


def test_the_cache_holds_no_secret_and_is_private(
    logged: tuple[SandboxServer, list[str]], tmp_path: Path
) -> None:
    fleet = make_fleet(logged, tmp_path, count=2)
    fleet.edit(fleet.slugs[0], "set", "a", "#333333")
    cache = tmp_path / "fresh" / "cache"
    (tmp_path / "fresh").mkdir()
    old = os.umask(0o022)
    try:
        fleet.drift(cache)
    finally:
        os.umask(old)
    files = _entries(cache)
    assert {p.name.split(".", 1)[1] for p in files} == {"settings", "audit"}
    key = fleet.agency_key
    never = [
        SECRET,
        secret_fingerprint(SECRET),
        secret_fingerprint(SECRET).split(":", 1)[1],
        HOOK_URL,
        "cache-test.example",
        key,
        hashlib.sha256(key.encode()).hexdigest(),
        key[:12],  # the key's prefix, as the API shows it
        "#333333",  # a live value: settings are stored encrypted
    ]
    for path in files:
        text = path.read_bytes().decode()
        for value in never:
            assert value not in text, (path.name, value)
        doc = json.loads(text)
        assert set(doc) == {"wscfg_cache", "server", "key_id", "name", "nonce", "data"}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (cache, *{p.parent for p in files}):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not [p for p in cache.rglob(".*")]  # no temporary file left behind


def test_settings_from_env_reads_wscfg_cache(tmp_path: Path) -> None:
    env = {"WSCFG_SERVER": "http://127.0.0.1:9", "WSCFG_TOKEN": "wscfg_x", "WSCFG_CACHE": "c"}
    assert wscfg.settings_from_env(env)["cache"] == "c"
    del env["WSCFG_CACHE"]
    assert "cache" not in wscfg.settings_from_env(env)


def test_a_cache_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    path.write_text("not a folder")
    with pytest.raises(wscfg.SetupError) as raised:
        wscfg.connect(server="http://127.0.0.1:9", token="wscfg_x", cache=path)
    assert str(raised.value) == f"the cache {path} is not a folder"
    nowhere = tmp_path / "no" / "cache"
    with pytest.raises(wscfg.SetupError) as raised:
        wscfg.connect(server="http://127.0.0.1:9", token="wscfg_x", cache=nowhere)
    assert str(raised.value) == (
        f"the cache {nowhere} cannot be made: {nowhere.parent} is not a folder"
    )


edits = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["create", "set", "delete", "rename"]),
        st.sampled_from(TAGS),
        st.sampled_from(COLOURS),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def paged(db_url: str | None) -> Iterator[tuple[SandboxServer, list[str]]]:
    """A sandbox that answers at most 2 entries a page: every audit read of a few edits pages."""
    lines: list[str] = []
    with running_server(db_url, access_log=lines.append, max_page_size=2) as server:
        yield server, lines


@pytest.fixture(scope="module", params=["one page", "pages of 2"])
def property_fleet(
    request: pytest.FixtureRequest,
    logged: tuple[SandboxServer, list[str]],
    paged: tuple[SandboxServer, list[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Fleet, Path]:
    folder = tmp_path_factory.mktemp("property")
    server = paged if request.param == "pages of 2" else logged
    return make_fleet(server, folder), folder / "cache"


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(edits, min_size=1, max_size=3))
def test_results_with_and_without_the_cache_are_identical(
    property_fleet: tuple[Fleet, Path], runs: list[list[tuple[int, str, str, str]]]
) -> None:
    """Invariant: for any live edits between runs, a run with the (warm) cache reports exactly
    what a run without it reports: drift (with its attribution, from an audit log of one page
    or of many) and plans."""
    fleet, cache = property_fleet
    for run in runs:
        for index, action, tag, colour in run:
            fleet.edit(fleet.slugs[index], action, tag, colour)
        assert fleet.drift(cache) == fleet.drift(None)
    assert fleet.plan(cache) == fleet.plan(None)


def test_an_audit_log_of_many_pages_is_answered_304_page_by_page(
    paged: tuple[SandboxServer, list[str]], tmp_path: Path
) -> None:
    """Drift attribution's audit read pages (2 entries a page): a warm run asks each page
    with its tag and is answered 304 for every one; after a new entry only the pages down to
    where the cached ones resume are read in full; the result is always what a run without
    the cache reports."""
    fleet = make_fleet(paged, tmp_path, count=2)
    drifted = fleet.slugs[0]
    for colour in ("#333333", "#222222", "#333333", "#222222", "#333333"):
        fleet.edit(drifted, "set", "a", colour)  # five entries for the drifted tag
    cache = tmp_path / "cache"
    cold = fleet.drift(None)
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold
    first = fleet.statuses("audit", mark)[drifted]
    assert len(first) >= 3 and set(first) == {"200"}  # it pages
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold
    assert fleet.statuses("audit", mark)[drifted] == ["304"] * len(first)
    assert fleet.statuses("settings", mark) == {s: ["304"] for s in fleet.slugs}

    # a new entry moves every page by one: the new first page and the next one are read in
    # full, down to the last entry of the first cached page; from its cursor on, the cached
    # pages are current (304)
    fleet.edit(drifted, "set", "a", "#222222")
    cold = fleet.drift(None)
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold
    assert fleet.statuses("audit", mark)[drifted] == ["200", "200"] + ["304"] * (len(first) - 1)
    mark = len(fleet.lines)
    assert fleet.drift(cache) == cold
    assert fleet.statuses("audit", mark)[drifted] == ["304"] * (len(first) + 1)


@pytest.fixture(scope="module")
def audited(
    paged: tuple[SandboxServer, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[SandboxServer, SandboxWorkspace, Path]:
    server, _lines = paged
    ws = server.new_workspace("audit")
    httpx.post(
        f"{ws.url}/call-tags", json={"name": "a", "color": "#111111"}, headers=ws.headers
    ).raise_for_status()
    return server, ws, tmp_path_factory.mktemp("audit") / "cache"


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=4),
)
def test_a_paged_audit_read_with_the_cache_is_the_read_without_it(
    audited: tuple[SandboxServer, SandboxWorkspace, Path], steps: list[tuple[int, bool]]
) -> None:
    """Invariant 15 on the audit read alone: for any number of new entries between reads
    (none, fewer than a page, several pages) and either query, the entries read with the
    warm cache (pages resumed from the cached cursors) are those read without it."""
    import asyncio

    from wscfg.api.client import ApiClient

    server, ws, cache = audited

    async def read(folder: Path | None, kinds: tuple[str, ...]) -> list[dict[str, object]]:
        async with ApiClient(server.url, ws.key, cache_dir=folder) as client:
            return await client.workspace(ws.slug).audit(kinds)

    for added, filtered in steps:
        for n in range(added):
            httpx.patch(
                f"{ws.url}/call-tags/a", json={"color": COLOURS[n % 3]}, headers=ws.headers
            ).raise_for_status()
        kinds = ("call_tags",) if filtered else ()
        assert asyncio.run(read(cache, kinds)) == asyncio.run(read(None, kinds))
