"""A plan: the ordered changes that make one live workspace match its config.

Safety lives on the plan (``refusals``, with codes; see :mod:`wscfg.engine.safety`): a
workspace never loses its last active owner, and mass changes (more than 30% of a kind holding
10 or more items deleted, or updated) need an explicit opt-in. A plan saves to a versioned JSON
file holding each touched item's ETag, the allowances it was made with and no secret value
(write-only fields appear as ``{"env": NAME, "fingerprint": …}``), and :func:`check_fresh`
refuses a saved plan whose items changed since it was made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PlanFileError, StalePlanError, UnsafePlanError
from ..model import rule_tags
from ..model.kinds import BY_NAME, KINDS
from .apikeys import key_checks
from .changes import Change, Create, Delete, Update
from .checks import live_checks
from .diff import KindReport, diff
from .fields import overlay, project
from .safety import ALLOW_MASS, Allowances, Refusal, refusals
from .seal import Sealer, seal_change, seal_document
from .state import DesiredState, LiveState

PLAN_FORMAT = "wscfg-plan"
PLAN_VERSION = 2  # 2: sealed (the whole document), workspaces bound to their server-side id
MASS_SHARE = 0.30
MASS_MIN_ITEMS = 10
ACTION_ORDER = ("create", "update", "resend", "delete")


@dataclass
class Plan:
    slug: str
    file: str = ""
    changes: list[Change] = field(default_factory=list)
    reports: dict[str, KindReport] = field(default_factory=dict)
    live_owners: set[str] = field(default_factory=set)  # active owners before the plan
    in_use: list[str] = field(default_factory=list)  # deletes the platform would refuse
    invitations: dict[str, str] = field(default_factory=dict)  # declared member -> live status
    resend_expired: bool = True  # invitations.resend_expired of the config
    without_2fa: list[str] | None = None  # active members without 2FA, when 2FA is required
    failed_checks: list[tuple[str, str]] = field(default_factory=list)  # (code, message) pairs
    workspace_id: str | None = None  # the server-side identity of the workspace planned

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        c = Counter(ch.action for ch in self.changes)
        return {a: c.get(a, 0) for a in ACTION_ORDER}

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for ch in self.changes:
            out.setdefault(ch.kind, dict.fromkeys(ACTION_ORDER, 0))[ch.action] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        text = f"Plan: {c['create']} to add, {c['update'] + c['resend']} to change, "
        text += f"{c['delete']} to delete."
        return text

    def notes(self) -> list[str]:
        """Ownership facts a reviewer should see even when nothing changes."""
        out = []
        for name, rep in self.reports.items():
            label = BY_NAME[name].name.replace("_", " ")
            if rep.kept:
                out.append(f"{rep.kept} undeclared {label} kept (manage: additive)")
            if rep.ignored:
                out.append(f"{rep.ignored} {label} ignored (ignore: patterns)")
            if rep.declared_ignored:
                shown = ", ".join(rep.declared_ignored[:5])
                out.append(f"declared but matching ignore, not touched: {label} {shown}")
        return out + self._invitation_notes() + self._two_factor_notes()

    def _two_factor_notes(self) -> list[str]:
        """With ``security.require_2fa``, who would be asked to set up 2FA (a note, not a
        failure: the platform asks them at their next login)."""
        if not self.without_2fa:
            return []
        n = len(self.without_2fa)
        return [
            f"security.require_2fa: {n} active member{'s' if n != 1 else ''} "
            f"{'have' if n != 1 else 'has'} no two-factor authentication yet "
            f"({_few(self.without_2fa)}); they are asked to set it up at their next login"
        ]

    def _invitation_notes(self) -> list[str]:
        """Each declared member's live state, and what happens to expired invitations."""
        if not self.invitations:
            return []
        by_status: dict[str, list[str]] = {}
        for email, status in sorted(self.invitations.items()):
            by_status.setdefault(status, []).append(email)
        if set(by_status) <= {"active"}:
            return []  # everyone in the config has joined: nothing to say
        parts = []
        for status, one, many in STATUS_NOUNS:
            names = by_status.get(status, [])
            if names:
                shown = "" if status == "active" else f" ({_few(names)})"
                parts.append(f"{len(names)} {one if len(names) == 1 else many}{shown}")
        out = ["members in the config: " + "; ".join(parts)]
        if by_status.get("expired"):
            out.append(
                "expired invitations are re-sent (invitations.resend_expired: true)"
                if self.resend_expired
                else "expired invitations are left as they are (invitations.resend_expired: false)"
            )
        return out

    # --- safety --------------------------------------------------------------------------

    def refusals(self, *, allow_mass_changes: bool = False) -> list[Refusal]:
        """What apply would refuse in this workspace (see :mod:`wscfg.engine.safety`)."""
        one = (self.slug,)
        out = [Refusal("last_owner", r, one) for r in self._owner_reasons()]
        out += [Refusal("in_use", r, one) for r in self.in_use]
        out += [Refusal(code, r, one) for code, r in self.failed_checks]
        if not allow_mass_changes:
            out += [Refusal(code, r, one, ALLOW_MASS) for code, r in self._mass_reasons()]
        return out

    def refusal_messages(self, *, allow_mass_changes: bool = False) -> list[str]:
        return [r.message for r in self.refusals(allow_mass_changes=allow_mass_changes)]

    def raise_if_unsafe(self, *, allow_mass_changes: bool = False) -> None:
        found = self.refusals(allow_mass_changes=allow_mass_changes)
        if found:
            allowances = {r.allowance for r in found}
            raise UnsafePlanError(
                [f"{self.slug}: {r.message}" for r in found],
                allowances=() if "" in allowances else sorted(allowances),
            )

    def _owner_reasons(self) -> list[str]:
        if not self.live_owners:
            return []
        lost = {
            ch.key
            for ch in self.changes
            if ch.kind == "members"
            and ch.key in self.live_owners
            and (isinstance(ch, Delete) or (ch.after or {}).get("role", "owner") != "owner")
        }
        promoted = {
            ch.key
            for ch in self.changes
            if isinstance(ch, Update)
            and ch.kind == "members"
            and (ch.after or {}).get("role") == "owner"
            and ch.before is not None
            and ch.before.get("status", "active") == "active"
        }
        if (self.live_owners - lost) | promoted:
            return []
        names = ", ".join(sorted(lost))
        return [
            f"the plan removes or demotes the last active owner ({names}); keep an owner until "
            "a new one has accepted their invitation"
        ]

    def _mass_reasons(self) -> list[tuple[str, str]]:
        out = []
        counts = self.counts_by_kind()
        for kind in KINDS:
            rep = self.reports.get(kind.name)
            if kind.singleton or rep is None or rep.live < MASS_MIN_ITEMS:
                continue
            for action in ("delete", "update"):
                n = counts.get(kind.name, {}).get(action, 0)
                if n > MASS_SHARE * rep.live:
                    verb = "deletes" if action == "delete" else "updates"
                    out.append(
                        (
                            f"mass_{action}",
                            f"{verb} {n} of {rep.live} {kind.name.replace('_', ' ')} "
                            f"(more than {MASS_SHARE:.0%}); pass {ALLOW_MASS} if intended",
                        )
                    )
        return out

    # --- files ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.slug,
            "workspace_id": self.workspace_id,
            "file": self.file,
            "summary": self.counts(),
            "reports": {
                k: {"live": r.live, "kept": r.kept, "ignored": r.ignored}
                for k, r in self.reports.items()
            },
            "live_owners": sorted(self.live_owners),
            "conflicts": self.in_use,
            "invitations": {"resend_expired": self.resend_expired, "members": self.invitations},
            "without_2fa": self.without_2fa,
            "checks": [{"code": c, "message": m} for c, m in self.failed_checks],
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            slug=data["workspace"],
            file=data.get("file", ""),
            changes=[Change.from_dict(c) for c in data["changes"]],
            reports={
                k: KindReport(live=r["live"], kept=r["kept"], ignored=r["ignored"])
                for k, r in data.get("reports", {}).items()
            },
            live_owners=set(data.get("live_owners", [])),
            in_use=list(data.get("conflicts", [])),
            invitations=dict(data.get("invitations", {}).get("members", {})),
            resend_expired=data.get("invitations", {}).get("resend_expired", True) is not False,
            without_2fa=_names(data.get("without_2fa")),
            failed_checks=[(str(c["code"]), str(c["message"])) for c in data.get("checks", [])],
            workspace_id=_text_or_none(data.get("workspace_id")),
        )


STATUS_NOUNS = (  # a declared member's live status: (status, one, many)
    ("active", "joined", "joined"),
    ("pending", "invited, not joined yet", "invited, not joined yet"),
    ("expired", "invitation expired", "invitations expired"),
)


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"a workspace id is a string, not {type(value).__name__}")


def _few(names: list[str], limit: int = 5) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _active_owner(member: dict[str, Any]) -> bool:
    return member.get("role") == "owner" and member.get("status", "active") == "active"


def make_plan(desired: DesiredState, live: LiveState) -> Plan:
    """Compare and order. The plan is a value: nothing is read or written here."""
    changes, reports = diff(desired, live)
    owners = {k for k, m in live.items.get("members", {}).items() if _active_owner(m)}
    in_use = still_referenced(changes, live)
    plan = Plan(desired.slug, desired.file, changes, reports, owners, in_use)
    plan.workspace_id = live.workspace_id
    plan.failed_checks = live_checks(desired, live) + key_checks(changes, live)
    if "members" in desired.items:
        have = live.items.get("members", {})
        plan.invitations = {
            k: have[k].get("status") or "active" for k in desired.items["members"] if k in have
        }
        plan.resend_expired = desired.resend_expired
    if (desired.items.get("security", {}).get("") or {}).get("require_2fa") is True:
        plan.without_2fa = sorted(
            k
            for k, m in live.items.get("members", {}).items()
            if m.get("status", "active") == "active" and m.get("two_factor") is not True
        )
    return plan


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanFileError("without_2fa is not a list of member emails")
    return list(value)


def still_referenced(changes: list[Change], live: LiveState) -> list[str]:
    """Deletes of roles or call tags that something the plan leaves in place still uses.

    The platform refuses them (409); saying so in the plan beats failing half-way through apply.
    It happens when the users of the item are not managed by this config (e.g. ``members`` is
    absent or additive) while the item itself is deleted.
    """
    deleted_roles = {ch.key for ch in changes if isinstance(ch, Delete) and ch.kind == "roles"}
    deleted_tags = {ch.key for ch in changes if isinstance(ch, Delete) and ch.kind == "call_tags"}
    if not deleted_roles and not deleted_tags:
        return []
    users = ({"members"} if deleted_roles else set()) | (
        {"call_rules", "webhooks"} if deleted_tags else set()
    )
    after: dict[tuple[str, str], dict[str, Any] | None] = {}
    for ch in changes:
        if ch.kind not in users:
            continue
        if isinstance(ch, Delete):
            after[(ch.kind, ch.key)] = None
        elif ch.after is not None:
            after[(ch.kind, ch.key)] = overlay(ch.before or {}, ch.after, BY_NAME[ch.kind].model)

    def final(kind: str) -> list[dict[str, Any]]:
        out = []
        for key, item in live.items.get(kind, {}).items():
            state = after.get((kind, key), item)
            if state is not None:
                out.append(state)
        out.extend(
            v
            for (k, key), v in after.items()
            if k == kind and v and key not in live.items.get(kind, {})
        )
        return out

    out = []
    if deleted_roles:
        for m in final("members"):
            if m.get("role") in deleted_roles:
                out.append(
                    f"role {m['role']} is deleted but member {m['email']} keeps it; manage that "
                    "member's role here, or keep the role"
                )
    if deleted_tags:
        rules = final("call_rules")
        for tag in sorted(set(rule_tags(rules[0].get("rule") if rules else None)) & deleted_tags):
            out.append(f"call tag {tag} is deleted but the call rules still use it")
        for hook in final("webhooks"):
            used = set((hook.get("filters") or {}).get("tags") or []) & deleted_tags
            for tag in sorted(used):
                out.append(
                    f"call tag {tag} is deleted but webhook {hook['name']} still filters on it"
                )
    return out


def check_fresh(plan: Plan, live: LiveState) -> None:
    """Refuse a saved plan if anything it touches changed since it was made.

    When every item it touches already reads as the plan would leave it, the plan was
    applied already (the usual cause: the same plan applied twice), and the error says so;
    an item in that state among others that changed is named as such."""
    if plan.workspace_id is not None and live.workspace_id != plan.workspace_id:
        raise StalePlanError(
            [
                f"{plan.slug}: is not the workspace the plan was made for (workspace id "
                f"{plan.workspace_id}, now {live.workspace_id or 'none'})"
            ]
        )
    stale = []
    in_place = 0
    for ch in plan.changes:
        now = live.etag(ch.kind, ch.key)
        exists = live.get(ch.kind, ch.key) is not None
        done = is_in_place(ch, live)
        in_place += done
        if done and (isinstance(ch, Create | Delete) or now != ch.etag):
            stale.append(f"{ch.address} is already as this plan would leave it")
        elif isinstance(ch, Create):
            if exists:
                stale.append(f"{ch.address} was created by someone else")
        elif not exists:
            stale.append(f"{ch.address} no longer exists")
        elif now != ch.etag:
            stale.append(f"{ch.address} changed (ETag {ch.etag} is now {now})")
    if stale:
        applied = in_place == len(plan.changes)
        raise StalePlanError([f"{plan.slug}: {s}" for s in stale], applied=applied)


def is_in_place(change: Change, live: LiveState) -> bool:
    """Does ``live`` already read as ``change`` would leave it? (A delete: the item is gone;
    otherwise every field the change sets has that value. Write-only values cannot be read
    back and are left out; a re-sent invitation is never in place.)"""
    item = live.get(change.kind, change.key)
    if isinstance(change, Delete):
        return item is None
    if item is None or not isinstance(change, Create | Update) or change.after is None:
        return False
    kind = BY_NAME[change.kind]
    skip = {kind.identity, *kind.write_only, *(n + "_fingerprint" for n in kind.write_only)}
    if kind.name == "workspace":
        skip.add("slug")
    target = {k: v for k, v in change.after.items() if k not in skip}
    return bool(project(item, target, kind.model) == target)


def plans_to_document(
    plans: list[Plan],
    *,
    server: str,
    allowances: Allowances | None = None,
    sealer: Sealer | None = None,
    only: Sequence[str] = (),
    errors: Sequence[dict[str, str]] = (),
    mask: Callable[[Any], Any] | None = None,
    run: dict[str, Any] | None = None,
    violations: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The saved-plan document: the plans (each with its workspace's server-side identity),
    the allowances they were made with, the ``--only`` selection of a partial plan (``"only"``,
    absent from a full one), what apply would refuse under those allowances, the targets that
    could not be planned (``errors``), and secrets sealed with ``sealer``'s key (see
    :mod:`wscfg.engine.seal`); without one, secrets keep only their ``${env:…}`` reference.
    ``mask`` (environment values → references) applies to the whole document, then, with a
    sealer, the document itself is sealed (:func:`~wscfg.engine.seal.seal_document`)."""
    allow = allowances or Allowances()
    targets = []
    for p in plans:
        data = p.to_dict()
        value_of = sealer.values(p.slug) if sealer is not None else None
        key = sealer.key if sealer is not None else None
        data["changes"] = [
            seal_change(c, d, value_of, key)
            for c, d in zip(p.changes, data["changes"], strict=True)
        ]
        targets.append(data)
    doc: dict[str, Any] = {"format": PLAN_FORMAT, "version": PLAN_VERSION, "server": server}
    if sealer is not None:
        doc["plan_key_id"] = sealer.key_id
    doc["allowances"] = allow.to_dict()
    if only:
        doc["only"] = list(only)
    if run is not None:  # a part of a sharded run (see :mod:`wscfg.engine.shards`)
        doc["run"] = run
    doc["refusals"] = [r.to_dict() for r in refusals(plans, allow)]
    doc["targets"] = targets
    doc["errors"] = [dict(e) for e in errors]
    if violations:  # live policy violations (docs/policies.md): reported, never applied
        doc["violations"] = [dict(v) for v in violations]
    if mask is not None:
        doc = mask(doc)
    return seal_document(doc, sealer.key) if sealer is not None else doc


def allowances_of(data: dict[str, Any]) -> Allowances:
    """The allowances a saved plan was made with (none in a file that records none)."""
    try:
        return Allowances.from_dict(data.get("allowances"))
    except (TypeError, ValueError) as exc:
        raise PlanFileError(f"the plan file is damaged ({exc})") from None


def only_of(data: dict[str, Any]) -> tuple[str, ...]:
    """The ``--only`` selection a saved plan was made with (empty: a full plan)."""
    only = data.get("only", [])
    if not isinstance(only, list) or not all(isinstance(o, str) and o for o in only):
        raise PlanFileError('the plan file is damaged ("only" is not a list of KIND[:KEY])')
    return tuple(only)


def plan_document(data: Any) -> dict[str, Any]:
    """``data`` if it is a saved-plan document of the version this wscfg reads."""
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError('not a wscfg plan file (missing "format": "wscfg-plan")')
    if data.get("version") != PLAN_VERSION:
        raise PlanFileError(
            f"plan file version {data.get('version')!r} is not supported "
            f"(this wscfg reads version {PLAN_VERSION}); make the plan again"
        )
    return data


def plans_from_document(data: Any) -> tuple[list[Plan], str]:
    data = plan_document(data)
    try:
        plans = [Plan.from_dict(t) for t in data["targets"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"the plan file is damaged ({type(exc).__name__}: {exc})") from None
    return plans, str(data.get("server", ""))


__all__ = [
    "Create",
    "Delete",
    "Plan",
    "Update",
    "allowances_of",
    "check_fresh",
    "is_in_place",
    "make_plan",
    "only_of",
    "plan_document",
    "plans_from_document",
    "plans_to_document",
]
