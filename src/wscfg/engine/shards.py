"""Sharded runs: what each part records about its run, and the check that parts merge.

A CI matrix runs ``wscfg plan|drift … --shard i/n --format json -o part-i.json`` once per
shard; ``wscfg show part-*.json`` renders the parts as the one report the unsharded run would
have made. Each part carries a ``"run"`` object (:func:`run_identity`):

- ``command``: ``plan`` or ``drift``;
- ``shard`` and ``shards``: which share *i* of *n* the part holds;
- ``targets``: how many workspaces the whole selection (every shard) holds;
- ``config``: a keyed digest of the desired state of the whole selection (:func:`config_digest`),
  so parts made from different commits, or with different ``${env:…}`` values, do not merge;
- ``key``: the id of the plan key the digest is keyed with (jobs with different plan keys
  are told apart from jobs with different configs);
- ``select``: the ``--target`` globs;
- ``order``: where each workspace of the part stands among all targets, so the merged report
  lists them in the unsharded run's order;
- ``baseline`` (drift): a digest of the known drift the ``--baseline`` file accepted.

Parts merge only when all of that agrees (shard index apart), with the same format version and
server, and for plans the same allowances, ``--only`` selection and sealing key; for drift the
same baseline. Every shard index 1…n must be there exactly once, each workspace in the part of
the shard its slug hashes to, and together they must cover ``targets`` workspaces. Pure: the
CLI reads the files and hands over ``(name, data)`` pairs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import WscfgError
from .state import DesiredState

PLAN = "plan"
DRIFT = "drift"
MAX_SHARDS = 1000  # n of --shard i/n: more jobs than any CI matrix runs (GitHub's: 256)
FORMATS = {"wscfg-plan": PLAN, "wscfg-drift": DRIFT}


class PartError(WscfgError):
    """Parts of a sharded run that are missing, duplicated or do not belong together."""


def config_digest(states: Iterable[DesiredState], key: bytes) -> str:
    """An HMAC-SHA-256 of the desired state of every target (in slug order), keyed with the
    plan key: equal configs give equal digests, and the digest says nothing about the values
    (environment values included) to anyone without the key."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for s in sorted(states, key=lambda s: s.slug):
        record = [
            s.slug,
            s.items,
            s.modes,
            s.ignore,
            s.resend_expired,
            s.required_integrations,
        ]
        mac.update(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode())
        mac.update(b"\n")
    return "hmac-sha256:" + mac.hexdigest()


def run_identity(
    command: str,
    shard: tuple[int, int],
    targets: int,
    digest: str,
    select: Sequence[str],
    order: dict[str, int],
) -> dict[str, Any]:
    """The ``"run"`` object of a part."""
    return {
        "command": command,
        "shard": shard[0],
        "shards": shard[1],
        "targets": targets,
        "config": digest,
        "select": list(select),
        "order": order,
    }


def part_record(command: str, whole: dict[str, Any]) -> dict[str, Any]:
    """The ``"run"`` object of a part from what the selection recorded of the whole run
    (:attr:`wscfg.workflow.selection.Selection.whole`), with the id of the plan key that
    keyed its config digest when it says."""
    run = run_identity(
        command, whole["shard"], whole["targets"], whole["config"], whole["select"], whole["order"]
    )
    if whole.get("key") is not None:
        run["key"] = whole["key"]
    return run


def order_of(parts: Sequence[Part]) -> dict[str, int]:
    """Where each workspace of checked parts stands in the whole run's order."""
    return {slug: n for p in parts for slug, n in (p.run or {}).get("order", {}).items()}


def in_shard(slug: str, shard: int, shards: int) -> bool:
    """The rule of :func:`wscfg.fleet.select`."""
    return zlib.crc32(slug.encode()) % shards == shard - 1


@dataclass(frozen=True)
class Part:
    """One file given to ``show``: its name, what it is and its document."""

    name: str
    command: str  # plan | drift
    data: dict[str, Any]

    @property
    def run(self) -> dict[str, Any] | None:
        run = self.data.get("run")
        return run if isinstance(run, dict) else None

    def workspaces(self) -> list[str]:
        """Every workspace the part reports on: planned (or drift-checked) and failed."""
        if self.command == PLAN:
            names = [
                t.get("workspace") for t in self.data.get("targets", []) if isinstance(t, dict)
            ]
        else:
            names = list(self.data.get("workspaces", []))
        names += [e.get("target") for e in self.data.get("errors", []) if isinstance(e, dict)]
        return [str(n) for n in names]


def command_of(name: str, data: Any) -> str:
    """``plan`` or ``drift`` for a plan document or drift report (PartError otherwise)."""
    kind = FORMATS.get(str(data.get("format"))) if isinstance(data, dict) else None
    if kind is None:
        raise PartError(
            f'{name} is not a wscfg plan or drift report (want "format": "wscfg-plan" made by '
            '`wscfg plan -o` or "wscfg-drift" made by `wscfg drift --format json`)'
        )
    return kind


# what must agree between parts, besides the run object: (where, what to call it)
_SAME_TOP = {
    PLAN: (("version", "format version"), ("server", "server"), ("allowances", "allowances"),
           ("only", "--only selection"), ("plan_key_id", "plan key")),
    DRIFT: (("version", "format version"), ("server", "server")),
}  # fmt: skip
_IF_BOTH = {"plan_key_id"}
_SAME_RUN = (
    ("targets", "number of targets"),
    ("key", "plan key (WSCFG_PLAN_KEY, else WSCFG_TOKEN; it keys the config digest)"),
    ("config", "config (or the ${env:…} values it uses)"),
    ("select", "--target selection"),
    ("baseline", "--baseline"),
)


def check_parts(parts: Sequence[Part]) -> list[Part]:
    """The parts in shard order when they are exactly the shards of one run; PartError naming
    the offending file otherwise. One file made without ``--shard`` passes as it is."""
    if not parts:
        raise PartError("no part given")
    first = parts[0]
    for p in parts:
        if p.command != first.command:
            raise PartError(
                f"{p.name} is a {_noun(p)} but {first.name} is a {_noun(first)}: merge the parts "
                "of one run only"
            )
    for p in parts:
        check_document(p)
    if len(parts) == 1 and first.run is None:
        return list(parts)
    for p in parts:
        _check_run(p)
    base = first.run
    assert base is not None
    for p in parts[1:]:
        run = p.run
        assert run is not None
        if run["shards"] != base["shards"]:
            raise PartError(
                f"{p.name} is shard {run['shard']}/{run['shards']} but {first.name} is shard "
                f"{base['shard']}/{base['shards']}: the shard counts disagree"
            )
        for key, what in _SAME_TOP[first.command]:
            mine, theirs = p.data.get(key), first.data.get(key)
            if key in _IF_BOTH and (mine is None or theirs is None):
                continue  # a part with nothing to seal records no key
            if mine != theirs:
                raise PartError(_mismatch(p, first, what))
        for key, what in _SAME_RUN:
            if run.get(key) != base.get(key):
                raise PartError(_mismatch(p, first, what))
    seen: dict[int, Part] = {}
    for p in parts:
        index = p.run["shard"]  # type: ignore[index]
        if index in seen:
            raise PartError(
                f"{p.name} and {seen[index].name} are both shard {index}/{base['shards']}: "
                "give each part once"
            )
        seen[index] = p
    missing = [i for i in range(1, base["shards"] + 1) if i not in seen]
    if missing:
        shown = ", ".join(f"{i}/{base['shards']}" for i in missing)
        raise PartError(
            f"missing shard{'s' if len(missing) > 1 else ''} {shown}: no part file given for "
            f"{'them' if len(missing) > 1 else 'it'} (got {', '.join(p.name for p in parts)})"
        )
    ordered = [seen[i] for i in sorted(seen)]
    total = 0
    for p in ordered:
        run = p.run
        assert run is not None
        names = p.workspaces()
        stray = next((n for n in names if not in_shard(n, run["shard"], run["shards"])), None)
        if stray is not None:
            raise PartError(
                f"{p.name} holds workspace {stray}, which is not in shard "
                f"{run['shard']}/{run['shards']}: the part is damaged"
            )
        if len(set(names)) != len(names) or set(names) != set(run["order"]):
            raise PartError(f"{p.name}: its workspaces and its run record disagree")
        total += len(names)
    if total != base["targets"]:
        raise PartError(
            f"the parts hold {total} workspace(s) but the run selected {base['targets']}: "
            f"a part is incomplete or damaged ({', '.join(p.name for p in ordered)})"
        )
    return ordered


def _noun(p: Part) -> str:
    return "plan" if p.command == PLAN else "drift report"


def _mismatch(p: Part, first: Part, what: str) -> str:
    return f"{p.name} is not from the same run as {first.name}: the {what} differs"


def _check_run(p: Part) -> None:
    run = p.run
    if run is None:
        raise PartError(
            f"{p.name} was not made with --shard: only the parts of one sharded run merge "
            f"(`wscfg {p.command} … --shard i/n --format json -o part-i.json`)"
        )
    shard: Any = run.get("shard")
    shards: Any = run.get("shards")
    order: Any = run.get("order")
    checks = (
        ("command", run.get("command") == p.command, f"is not {p.command!r}"),
        ("shards", _count(shards) and int(shards) <= MAX_SHARDS, f"is not 1…{MAX_SHARDS}"),
        (
            "shard",
            _count(shard) and _count(shards) and int(shard) <= int(shards),
            "is not 1…shards",
        ),
        ("targets", _count(run.get("targets"), zero=True), "is not a count"),
        ("config", isinstance(run.get("config"), str), "is not a digest"),
        ("key", run.get("key") is None or isinstance(run.get("key"), str), "is not a key id"),
        ("select", _strings(run.get("select")), "is not a list of globs"),
        (
            "order",
            isinstance(order, dict) and all(_count(n, zero=True) for n in order.values()),
            "is not an object of positions",
        ),
    )
    for field, ok, what in checks:
        if not ok:
            raise PartError(f'{p.name}: its "run" record is damaged ("{field}" {what})')


def _count(value: Any, *, zero: bool = False) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= (0 if zero else 1)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _damaged(p: Part, field: str, what: str) -> PartError:
    return PartError(f'{p.name}: the {_noun(p)} is damaged ("{field}" {what})')


def check_document(p: Part) -> None:
    """PartError naming the file and the field when a field of the part that ``show`` reads
    or merges is not what wscfg writes there (a damaged or hand-edited part), so nothing
    after this meets a value of the wrong type. Drift entries are checked as they are read
    (:func:`drift_report_of`)."""
    data = p.data
    errors = data.get("errors", [])
    if not isinstance(errors, list):
        raise _damaged(p, "errors", "is not a list")
    for n, e in enumerate(errors, 1):
        if not (
            isinstance(e, dict)
            and isinstance(e.get("target"), str)
            and isinstance(e.get("message"), str)
        ):
            raise _damaged(p, "errors", f"entry {n} is not a target and a message")
    if p.command == DRIFT:
        if not _strings(data.get("workspaces")):
            raise _damaged(p, "workspaces", "is not a list of workspace names")
        if not isinstance(data.get("drift"), list):
            raise _damaged(p, "drift", "is not a list")
        if not _count(data.get("known", 0), zero=True):
            raise _damaged(p, "known", "is not a count")
        if not _count(data.get("known_violations", 0), zero=True):
            raise _damaged(p, "known_violations", "is not a count")
        _check_violations(p)
        return
    from .plan import Plan

    targets = data.get("targets", [])
    if not isinstance(targets, list):
        raise _damaged(p, "targets", "is not a list")
    for n, t in enumerate(targets, 1):
        if not (isinstance(t, dict) and isinstance(t.get("workspace"), str)):
            raise _damaged(p, "targets", f"entry {n} names no workspace")
        try:
            Plan.from_dict(t)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _damaged(p, "targets", f"entry {n} ({t['workspace']}) is not a plan") from None
    _check_violations(p)


def _check_violations(p: Part) -> None:
    """The live policy violations a part lists (plan and drift parts alike)."""
    from .violations import Violation

    violations = p.data.get("violations", [])
    if not isinstance(violations, list):
        raise _damaged(p, "violations", "is not a list")
    for n, v in enumerate(violations, 1):
        try:
            Violation.from_dict(v)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _damaged(p, "violations", f"entry {n} is not a policy violation") from None


def merge_plan_documents(parts: Sequence[Part]) -> dict[str, Any]:
    """One plan document of checked parts (in shard order): every target and error, the run
    record of the whole run (shard 1/1). Refusals are left for the caller to recompute over
    the whole fleet (a fleet-wide refusal depends on every target)."""
    first = parts[0].data
    # not sealed: a report of the parts (each verified as read), not a plan to apply
    doc = {
        k: v
        for k, v in first.items()
        if k not in ("targets", "errors", "refusals", "run", "seal", "violations")
    }
    doc["refusals"] = []
    order = order_of(parts)
    doc["targets"] = sorted(
        (t for p in parts for t in p.data.get("targets", [])), key=lambda t: order[t["workspace"]]
    )
    doc["errors"] = sorted(
        (e for p in parts for e in p.data.get("errors", [])), key=lambda e: order[e["target"]]
    )
    found = [v for p in parts for v in p.data.get("violations", [])]
    if found:  # live policy violations, kept as each part listed them
        doc["violations"] = found
    if parts[0].run is not None:
        doc["run"] = {**parts[0].run, "shard": 1, "shards": 1, "order": order}
    return doc


def drift_report_of(doc: dict[str, Any], name: str) -> Any:
    """The :class:`~wscfg.engine.drift.DriftReport` a drift report document holds (PartError
    naming ``name`` and the field when it is damaged)."""
    from .drift import DriftReport
    from .render import Failure
    from .violations import Violation

    part = Part(name, DRIFT, doc)
    check_document(part)
    workspaces = list(doc["workspaces"])
    known = set(workspaces)
    items = []
    for n, d in enumerate(doc["drift"], 1):
        item = _drift_item(d)
        if item is None or item.workspace not in known:
            raise _damaged(part, "drift", f"entry {n} is not drift this report found")
        items.append(item)
    failures = [Failure(e["target"], e["message"]) for e in doc.get("errors", [])]
    violations = [Violation.from_dict(v) for v in doc.get("violations", [])]
    for n, v in enumerate(violations, 1):
        if v.workspace not in known:
            raise _damaged(part, "violations", f"entry {n} names a workspace not in the report")
    return DriftReport(
        items, doc.get("known", 0), workspaces, failures, violations, doc.get("known_violations", 0)
    )


def _drift_item(d: Any) -> Any:
    """The DriftItem a drift entry records; None when it is damaged (a field of the wrong
    type or missing, an unknown kind, or a fingerprint that does not match)."""
    from ..model.kinds import BY_NAME
    from .changes import DRIFT as ATTRIBUTED_DRIFT
    from .changes import Origin
    from .drift import DriftItem

    if not isinstance(d, dict) or not all(
        isinstance(d.get(f), str) for f in ("workspace", "kind", "key", "field", "what")
    ):
        return None
    actor = {} if d.get("actor") is None else d["actor"]
    kind = BY_NAME.get(d["kind"])
    if kind is None or not isinstance(actor, dict) or "live" not in d or "config" not in d:
        return None
    texts = (actor.get("type"), actor.get("name"), d.get("via"), d.get("at"), d.get("client"))
    if not all(t is None or isinstance(t, str) for t in texts):
        return None
    try:
        origin = Origin(ATTRIBUTED_DRIFT, *texts)
        key = d["key"]
        label = f"{kind.label} {key}" if key else kind.label
        item = DriftItem(
            d["workspace"], kind.name, key, label, d["field"], d["what"], d["live"], d["config"],
            origin,
        )  # fmt: skip
        return item if item.fingerprint == d.get("fingerprint") else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
