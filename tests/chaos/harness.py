"""The chaos harness: apply random plans against a faulty sandbox and check every promise.

Shared by the CI-bounded suite (tests/chaos/test_chaos_apply.py) and the soak
(bench/soak.py, ``pytest -m soak``). One *run* is:

1. setup, faults off: a fresh workspace is made to hold a random live state L;
2. the plan for a random desired state D is made and applied with faults on (500 before
   handling, 500 after the write committed, 429, connections reset after the commit, latency),
   optionally with a concurrent editor (another API key, as a person in the UI would) changing
   items the plan is about to write;
3. faults off, the server is checked against the report (:func:`check_run`);
4. a second plan + apply, faults on again, must complete; then the plan must be empty.

Every check reads the server directly: stored rows (``item_rows``, byte for byte, ETags
included) and the audit log (``GET …/audit``). A violated promise becomes a line in
``RunResult.violations``; the callers assert that list is empty (the soak counts them).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from wscfg.api.client import ApiClient
from wscfg.api.retry import RetryPolicy
from wscfg.api.workspace import matches
from wscfg.engine.apply import ApplyReport, Outcome, apply_plan, secrets_from_desired
from wscfg.engine.changes import Change, Create, Delete, Resend, Update
from wscfg.engine.plan import Plan, make_plan
from wscfg.engine.state import DesiredState, desired_state
from wscfg.fleet import read_live
from wscfg.model import BY_NAME, WorkspaceConfig
from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace

# Probabilities per /v1 request; latency small so a run stays fast; injected 429s ask for 0 s
# (honouring Retry-After itself is proven in tests/api/test_retries.py).
FAULTS = "500=0.07,500after=0.07,429=0.04,reset=0.07,latency=0-2ms,retry-after=0,seed=0"


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.002))


# Enough attempts and budget that faults at the rates above essentially never exhaust them
# (0.25**10): a run with this policy must converge in one go.
GENEROUS = RetryPolicy(
    max_attempts=10, backoff_base=0.002, budget_ratio=1.0, budget_floor=100_000, sleep=_no_sleep
)
# Two attempts and a small shared budget: runs stop part-way, and the report must say so
# accurately (done landed, failed did not land unless marked "may have been made").
STINGY = RetryPolicy(
    max_attempts=2, backoff_base=0.002, budget_ratio=0.1, budget_floor=0, sleep=_no_sleep
)
POLICIES = {"generous": GENEROUS, "stingy": STINGY}

# What the concurrent editor changes, per kind: a field and a value no config ever uses.
EDITABLE: dict[str, tuple[str, Callable[[int], str]]] = {
    "call_tags": ("description", lambda n: f"edited in the UI #{n}"),
    "roles": ("description", lambda n: f"edited in the UI #{n}"),
    "webhooks": ("url", lambda n: f"https://ui-edit.example.com/{n}"),
    "workspace": ("name", lambda n: f"UI edit {n}"),
}


# --- random documents: the convergence strategy, plus bulk so plans have tens of changes ----

EXTRA_TAGS = [f"x{i:02d}" for i in range(24)]
EXTRA_MEMBERS = [f"m{i:02d}@chaos.example" for i in range(16)]
EXTRA_NUMBERS = [f"+1555020{i:04d}" for i in range(40)]
COLORS = ["#112233", "#abcdef", "#ff0000"]


def chaos_doc(slug: str) -> Any:
    """A hypothesis strategy: ``workspace_doc(slug)`` with up to 24 more call tags, 16 more
    members and 40 more blocked callers (only where the document manages that kind)."""
    from hypothesis import strategies as st

    from engine.strategies import workspace_doc

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        doc: dict[str, Any] = draw(workspace_doc(slug))
        # API keys stay out: a create retried under faults is replayed without its secret (by
        # design: the secret exists once), which apply reports as a failed change. Their
        # convergence is proven without faults (tests/engine/test_convergence.py).
        doc.pop("api_keys", None)
        if isinstance(doc.get("manage"), dict):
            doc["manage"].pop("api_keys", None)
        if "call_tags" in doc:
            for name in draw(st.lists(st.sampled_from(EXTRA_TAGS), unique=True, max_size=24)):
                tag = {"name": name}
                if draw(st.booleans()):
                    tag["color"] = draw(st.sampled_from(COLORS))
                doc["call_tags"].append(tag)
        if "members" in doc:
            emails = draw(st.lists(st.sampled_from(EXTRA_MEMBERS), unique=True, max_size=16))
            doc["members"] += [
                {"email": e, "role": draw(st.sampled_from(["member", "client", "admin"]))}
                for e in emails
            ]
        if "blocked_callers" in doc or draw(st.booleans()):
            numbers = draw(st.lists(st.sampled_from(EXTRA_NUMBERS), unique=True, max_size=40))
            doc.setdefault("blocked_callers", []).extend(
                {"number": n, "note": draw(st.sampled_from(["", "spam", "robocaller"]))}
                if draw(st.booleans())
                else n
                for n in numbers
            )
        return doc

    return build()


class Clock:
    """The sandbox's clock in chaos runs: real time plus an offset that only moves forward.

    After setup a run moves it 8 days on, so the invitations setup sent have expired and the
    plan re-sends those of declared members (a POST whose repetition would show in the audit
    log). Pass it as ``running_server(clock=...)``."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.offset += timedelta(**delta)


@dataclass
class RunResult:
    seed: int
    mode: str
    editor: bool
    skipped: str = ""  # why the run did not happen (a plan the platform would refuse)
    violations: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # done/failed/maybe/skipped
    faults: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    edits: int = 0
    lost_updates: int = 0
    duplicate_creates: int = 0
    repeated_writes: int = 0
    first_complete: bool = False
    changes: int = 0
    actions: Counter[str] = field(default_factory=Counter)  # planned: create/update/…


@dataclass
class Harness:
    """A faulty server (faults switched off between runs) and a neighbour workspace that no
    run may ever touch."""

    server: SandboxServer
    neighbour: SandboxWorkspace
    neighbour_rows: dict[tuple[str, str], str]
    clock: Clock | None = None

    @classmethod
    def start(cls, server: SandboxServer) -> Harness:
        assert server.faults is not None, "the harness needs a server started with faults"
        server.faults.configure(enabled=False)
        neighbour = server.new_workspace("neighbour")
        with httpx.Client(base_url=neighbour.url, headers=neighbour.headers) as c:
            for body in ({"name": "lead", "color": "#00ff00"}, {"name": "spam"}):
                c.post("/call-tags", json=body).raise_for_status()
            c.post("/roles", json={"name": "desk"}).raise_for_status()
            c.post(
                "/blocked-callers:batch", json={"add": ["+15550100100", "+15550100101"]}
            ).raise_for_status()
        clock = server.settings.clock
        return cls(
            server,
            neighbour,
            server.item_rows(neighbour.slug),
            clock if isinstance(clock, Clock) else None,
        )

    def faults(self, *, seed: int | None = None, on: bool) -> None:
        self.server.faults.configure(seed=seed, enabled=on)

    def run(
        self,
        seed: int,
        live_doc: dict[str, Any],
        want_doc: dict[str, Any],
        *,
        mode: str,
        editor: bool,
    ) -> RunResult:
        """One chaos run on a fresh workspace (``live_doc``/``want_doc`` are for its slug)."""
        result = RunResult(seed, mode, editor)
        slug = live_doc["workspace"]["slug"]
        key = self.server.create_workspace(slug)
        from engine.strategies import INTEGRATIONS

        for name in INTEGRATIONS:  # connected in the UI: what `integrations.required` may name
            self.server.set_integration(slug, name)
        ws = SandboxWorkspace(slug, key, self.server.url)
        ui_key = self.server.issue_key(workspace=slug, name="the UI")
        start = self.server.faults.counts()
        try:
            asyncio.run(self._run(ws, ui_key, live_doc, want_doc, result))
        finally:
            self.faults(on=False)
        # every request made while faults were on: plan reads, both applies, the editor
        end = self.server.faults.counts()
        result.requests = end.pop("requests") - start.pop("requests")
        result.faults.update({k: v - start[k] for k, v in end.items() if v - start[k]})
        if self.server.item_rows(self.neighbour.slug) != self.neighbour_rows:
            result.violations.append("the neighbour workspace changed")
        return result

    async def _run(
        self,
        ws: SandboxWorkspace,
        ui_key: str,
        live_doc: dict[str, Any],
        want_doc: dict[str, Any],
        result: RunResult,
    ) -> None:
        slug = ws.slug
        # 1. setup, without faults
        async with ApiClient(self.server.url, ws.key) as client:
            setup = await _converge(client, _desired(live_doc))
            if setup is None:
                result.skipped = "the live state cannot be set up"
                return
            if not setup.complete:
                result.violations.append(f"setup without faults failed: {_failures(setup)}")
                return
        if self.clock is not None:
            self.clock.advance(days=8)  # setup's invitations expire: the plan re-sends them
        want = _desired(want_doc)
        rows_before = self.server.item_rows(slug)
        audit_mark = _audit_mark(ws)
        # 2. plan and apply with faults on
        self.faults(seed=result.seed, on=True)
        async with ApiClient(self.server.url, ws.key, retry=GENEROUS) as reader:
            plan = make_plan(want, await read_live(reader, slug))
        why = _refused(plan)
        if why:
            result.skipped = why
            return
        result.changes = len(plan.changes)
        result.actions.update(c.action for c in plan.changes)
        editor = Editor(ws, ui_key, plan, random.Random(result.seed)) if result.editor else None
        async with ApiClient(self.server.url, ws.key, retry=POLICIES[result.mode]) as client:
            report = await apply_plan(
                plan,
                client.workspace(slug),
                secrets_from_desired(want),
                on_outcome=editor.after if editor else None,
            )
        self.faults(on=False)
        result.first_complete = report.complete
        for o in report.outcomes:
            result.outcomes["maybe" if o.maybe_applied else o.status] += 1
        # 3. the report against the server
        rows_after = self.server.item_rows(slug)
        entries = _audit_since(ws, audit_mark)
        per_item = Counter((c.kind, c.key) for c in plan.changes)
        result.repeated_writes = sum(
            1 for item, n in _apply_writes(entries).items() if n > per_item[item]
        )
        result.violations += check_run(plan, want, report, rows_before, rows_after, entries)
        if editor is not None:
            result.edits = len(editor.edits)
            lost = editor.lost(rows_after)
            result.lost_updates = len(lost)
            result.violations += [f"lost update: {x}" for x in lost]
        if mode_must_converge(result) and not report.complete:
            result.violations.append(f"a generous run did not complete: {_failures(report)}")
        # 4. a second run (faults on, another seed) always converges
        rows_before = self.server.item_rows(slug)
        audit_mark = _audit_mark(ws)
        self.faults(seed=result.seed + 1_000_003, on=True)
        async with ApiClient(self.server.url, ws.key, retry=GENEROUS) as client:
            plan2 = make_plan(want, await read_live(client, slug))
            if _refused(plan2):
                result.violations.append(f"the second plan is refused: {_refused(plan2)}")
                return
            report2 = await apply_plan(plan2, client.workspace(slug), secrets_from_desired(want))
        self.faults(on=False)
        entries = _audit_since(ws, audit_mark)
        rows_after = self.server.item_rows(slug)
        result.violations += [
            f"second run: {v}"
            for v in check_run(plan2, want, report2, rows_before, rows_after, entries)
        ]
        if not report2.complete:
            result.violations.append(f"the second run did not complete: {_failures(report2)}")
        async with ApiClient(self.server.url, ws.key) as client:
            again = make_plan(want, await read_live(client, slug))
        if not again.empty:
            result.violations.append(
                f"not converged after the second run: {[c.address for c in again.changes]}"
            )
        history = _audit_since(ws, 0)
        creates = Counter((e["kind"], e["key"]) for e in history if e["action"] == "create")
        dupes = sorted(k for k, n in creates.items() if n > 1)
        result.duplicate_creates = len(dupes)
        result.violations += [f"created more than once: {k}" for k in dupes]


def mode_must_converge(result: RunResult) -> bool:
    return result.mode == "generous" and not result.editor


# --- checks ----------------------------------------------------------------------------------


def check_run(
    plan: Plan,
    want: DesiredState,
    report: ApplyReport,
    before: dict[tuple[str, str], str],
    after: dict[tuple[str, str], str],
    audit: list[dict[str, Any]],
) -> list[str]:
    """Everything the report claims, checked against the stored rows and the audit log.

    - every change of the plan has exactly one outcome;
    - ``done``: the item holds what was sent (a delete: it is gone; a re-sent invitation: a
      new expiry), and apply's writes to the item in the audit log include its action;
    - ``failed`` without ``maybe_applied``, and ``skipped``: the change did not land;
    - per item, apply wrote exactly once per done change, plus at most once per failed change
      marked "may have been made": never twice for one change;
    - no row outside the plan changed (bytes and ETag), and apply wrote to nothing else.
    """
    out: list[str] = []
    by_change = {id(o.change): o for o in report.outcomes}
    if len(report.outcomes) != len(plan.changes) or set(by_change) != {id(c) for c in plan.changes}:
        out.append("the report does not have one outcome per planned change")
    secrets = secrets_from_desired(want)
    writes = _apply_writes(audit)
    actions: dict[tuple[str, str], Counter[str]] = {}
    for e in _by_apply(audit):
        actions.setdefault((e["kind"], e["key"]), Counter())[e["action"]] += 1
    named: dict[tuple[str, str], list[tuple[Change, Outcome]]] = {}
    for change in plan.changes:
        o = by_change.get(id(change))
        if o is not None:
            named.setdefault((change.kind, change.key), []).append((change, o))
    for item in sorted(set(writes) - set(named)):
        out.append(f"{item} is outside the plan but was written")
    for item in sorted((set(before) | set(after)) - set(named)):
        if before.get(item) != after.get(item):
            out.append(
                f"{item} is outside the plan but changed: {before.get(item)!r} → "
                f"{after.get(item)!r}"
            )
    for item, pairs in named.items():
        done = Counter(_audit_action(c) for c, o in pairs if o.status == "done")
        maybe = sum(1 for _, o in pairs if o.maybe_applied)
        n = writes.get(item, 0)
        if not sum(done.values()) <= n <= sum(done.values()) + maybe:
            out.append(
                f"{pairs[0][0].address}: apply wrote it {n} times "
                f"({dict(actions.get(item, {}))}) for {dict(done)} done and {maybe} that may "
                "have been made"
            )
        elif done - actions.get(item, Counter()):
            out.append(f"{pairs[0][0].address}: done {dict(done)}, audited {actions.get(item)}")
        for change, o in pairs:
            landed = _landed(change, secrets, before.get(item), after.get(item))
            if o.status == "done" and not landed:
                out.append(f"{change.address} {change.action} reported done but did not land")
            elif o.maybe_applied and o.status != "failed":
                out.append(f"{change.address}: maybe_applied on a {o.status} outcome")
            elif o.status != "done" and not o.maybe_applied and landed:
                out.append(
                    f"{change.address} {change.action} reported {o.status} ({o.detail}) but it "
                    "landed, and the report does not say it may have been made"
                )
    return out


def _by_apply(audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries written by apply, not by the concurrent editor (its X-Request-Ids start
    "ui-")."""
    return [e for e in audit if not (e.get("client_request_id") or "").startswith("ui-")]


def _apply_writes(audit: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((e["kind"], e["key"]) for e in _by_apply(audit))


def _audit_action(change: Change) -> str:
    if isinstance(change, Create):
        return "create"
    if isinstance(change, Delete):
        return "delete"
    return change.action  # update / resend


def _landed(change: Change, secrets: Any, before: str | None, row: str | None) -> bool:
    """Does the stored item show this change (a delete: is it gone; a re-sent invitation: a
    new expiry; a create or update: does it hold what was sent)?"""
    if isinstance(change, Delete):
        return row is None
    if row is None:
        return False
    current = json.loads(row)
    if isinstance(change, Resend):
        old = json.loads(before).get("expires_at") if before else None
        return current.get("status") == "pending" and current.get("expires_at") != old
    body = change.body()
    kind = BY_NAME[change.kind]
    for name in kind.write_only:
        if isinstance(body.get(name), dict):
            body[name] = secrets(change, name, body[name])
    if kind.identity and kind.identity not in body and not kind.singleton:
        stored = current.get(kind.identity)  # keys are text; an identity may be a number
        body[kind.identity] = stored if str(stored) == change.key else change.key
    return matches(body, current, kind.write_only)


def _refused(plan: Plan) -> str:
    return "; ".join(plan.refusal_messages(allow_mass_changes=True))


async def _converge(client: ApiClient, d: DesiredState) -> ApplyReport | None:
    plan = make_plan(d, await read_live(client, d.slug))
    if _refused(plan):
        return None
    return await apply_plan(plan, client.workspace(d.slug), secrets_from_desired(d))


def _desired(doc: dict[str, Any]) -> DesiredState:
    from wscfg.config.desired import TargetConfig

    config = WorkspaceConfig.model_validate({"version": 1, **doc})
    refs = {
        ("webhooks", i, "secret"): "CHAOS_HOOK_SECRET"
        for i, hook in enumerate(config.webhooks or [])
        if hook.secret is not None
    }
    return desired_state(TargetConfig("chaos.yaml", config, secret_refs=refs))


def _failures(report: ApplyReport) -> list[tuple[str, str, str]]:
    return [(o.change.address, o.status, o.detail) for o in report.outcomes if o.status != "done"]


def audit_entries(ws: SandboxWorkspace) -> list[dict[str, Any]]:
    """The whole audit log of ``ws``, oldest first (faults must be off)."""
    out: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=ws.url, headers=ws.headers, timeout=30) as c:
        while True:
            params = {"limit": "5000", **({"cursor": cursor} if cursor else {})}
            page = c.get("/audit", params=params)
            page.raise_for_status()
            data = page.json()
            out.extend(data["items"])
            cursor = data["next_cursor"]
            if not cursor:
                return out[::-1]


def _audit_mark(ws: SandboxWorkspace) -> int:
    with httpx.Client(base_url=ws.url, headers=ws.headers) as c:
        items = c.get("/audit", params={"limit": "1"}).raise_for_status().json()["items"]
    return int(items[0]["id"]) if items else 0


def _audit_since(ws: SandboxWorkspace, mark: int) -> list[dict[str, Any]]:
    return [e for e in audit_entries(ws) if e["id"] > mark]


def item_url(ws: SandboxWorkspace, kind_name: str, key: str) -> str:
    kind = BY_NAME[kind_name]
    url = f"{ws.url}/{kind.path}" if kind.path else ws.url
    return url if kind.singleton else f"{url}/{quote(key, safe='')}"


# --- the concurrent editor -----------------------------------------------------------------


class Editor:
    """Someone editing in the UI while apply runs: after each outcome, sometimes, a PATCH
    (another API key, no If-Match: last writer wins, as a UI does) to an item a *later*
    change of the plan will update or delete. Every edit that succeeded must survive the run:
    apply's write of that item was planned against the older ETag and must fail with 412."""

    def __init__(self, ws: SandboxWorkspace, key: str, plan: Plan, rng: random.Random) -> None:
        self.ws = ws
        self.key = key
        self.rng = rng
        self.pending = [
            c for c in plan.changes if isinstance(c, Update | Delete) and c.kind in EDITABLE
        ]
        self.edits: dict[tuple[str, str, str], str] = {}
        self.n = 0

    def after(self, outcome: Outcome) -> None:
        self.pending = [c for c in self.pending if c is not outcome.change]
        if not self.pending or self.rng.random() > 0.9:
            return
        target = self.rng.choice(self.pending)
        name, value_of = EDITABLE[target.kind]
        self.n += 1
        value = value_of(self.n)
        if self._patch(item_url(self.ws, target.kind, target.key), {name: value}):
            self.edits[(target.kind, target.key, name)] = value

    def _patch(self, url: str, body: dict[str, Any]) -> bool:
        """PATCH until the server gives a real answer (the value is fixed: repeating is safe)."""
        with httpx.Client(headers={"Authorization": f"Bearer {self.key}"}, timeout=30) as c:
            for attempt in range(30):
                try:
                    r = c.patch(url, json=body, headers={"X-Request-Id": f"ui-{self.n}-{attempt}"})
                except httpx.TransportError:
                    continue
                if r.status_code in (429, 500, 502, 503, 504):
                    continue
                return r.status_code == 200
        raise AssertionError(f"the editor could not get an answer for PATCH {url}")

    def lost(self, rows: dict[tuple[str, str], str]) -> list[str]:
        """Edits that the run overwrote (or deleted): lost updates."""
        out = []
        for (kind, key, name), value in self.edits.items():
            row = rows.get((kind, key))
            got = json.loads(row).get(name) if row is not None else "<deleted>"
            if got != value:
                out.append(f"{kind}[{key}].{name}: the UI set {value!r}, now {got!r}")
        return out


# --- the soak --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What many runs met and found (bench/soak.py prints it; docs/reliability.md records it)."""

    runs: int = 0
    skipped: int = 0
    generous: int = 0
    with_editor: int = 0
    first_complete: int = 0
    changes: int = 0
    requests: int = 0
    edits: int = 0
    duplicate_creates: int = 0
    repeated_writes: int = 0
    lost_updates: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    violations: list[tuple[int, str]] = field(default_factory=list)

    def add(self, r: RunResult) -> None:
        if r.skipped:
            self.skipped += 1
            return
        self.runs += 1
        self.generous += r.mode == "generous"
        self.with_editor += r.editor
        self.first_complete += r.first_complete
        self.changes += r.changes
        self.requests += r.requests
        self.edits += r.edits
        self.duplicate_creates += r.duplicate_creates
        self.repeated_writes += r.repeated_writes
        self.lost_updates += r.lost_updates
        self.faults.update(r.faults)
        self.outcomes.update(r.outcomes)
        self.actions.update(r.actions)
        self.violations += [(r.seed, v) for v in r.violations]

    def summary(self) -> str:
        faults = sum(self.faults.values())
        kinds = ", ".join(f"{k}: {self.faults[k]}" for k in ("500", "500after", "429", "reset"))
        o = self.outcomes
        return "\n".join(
            [
                f"runs: {self.runs} (+{self.skipped} skipped: plans the platform would refuse); "
                f"{self.generous} generous / {self.runs - self.generous} stingy retry policy, "
                f"{self.with_editor} with a concurrent editor",
                f"changes planned: {self.changes} ("
                + ", ".join(f"{n} {a}" for a, n in sorted(self.actions.items()))
                + f"); outcomes: {o['done']} done, {o['failed']} "
                f"failed, {o['maybe']} failed but may have landed, {o['skipped']} skipped",
                f"first apply complete: {self.first_complete} of {self.runs}; second run "
                f"complete and converged: {self.runs - self._second_run_failures()} of {self.runs}",
                f"requests while faults were on: {self.requests}; faults injected: "
                f"{faults} ({kinds})",
                f"concurrent UI edits: {self.edits}",
                f"duplicates found: {self.duplicate_creates + self.repeated_writes} "
                f"(items created twice: {self.duplicate_creates}, planned changes written more "
                f"than once: {self.repeated_writes})",
                f"lost updates: {self.lost_updates}",
                f"violations: {len(self.violations)}",
            ]
        )

    def _second_run_failures(self) -> int:
        return len(
            {
                seed
                for seed, v in self.violations
                if v.startswith(("second run", "the second", "not converged"))
            }
        )


def soak(
    harness: Harness, runs: int, *, seed: int = 0, progress: Callable[[Tally], None] | None = None
) -> Tally:
    """``runs`` chaos runs with documents drawn by hypothesis from ``seed``; every violation
    is collected (not raised) so a long soak reports all it found."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from wscfg.sandbox.testing import unique

    tally = Tally()

    @hypothesis_seed(seed)
    @settings(
        max_examples=runs,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one(data: Any) -> None:
        slug = unique("soak")
        live = data.draw(chaos_doc(slug))
        want = data.draw(chaos_doc(slug))
        run_seed = data.draw(st.integers(0, 2**31))
        mode = data.draw(st.sampled_from(sorted(POLICIES)))
        editor = data.draw(st.booleans())
        tally.add(harness.run(run_seed, live, want, mode=mode, editor=editor))
        if progress is not None:
            progress(tally)

    one()
    return tally
