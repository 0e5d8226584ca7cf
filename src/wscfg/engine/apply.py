"""Carry out a plan through an API client given as an argument (the engine never imports api/).

Changes run in plan order, one at a time; blocked callers go through the batch endpoint in one
call (the client chunks it). Every update and delete carries the ETag it was planned against
(If-Match), so a concurrent edit fails that single write with 412 instead of being overwritten.

When a change fails, apply keeps going with what does not depend on it and skips what does:
- later changes of kinds that depend on the failed kind (a failed role skips member changes);
- deletes of kinds the failed kind depends on (a failed member update keeps its old role).
The report says, per change, done / failed (with the reason) / skipped (with the cause).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import PlanError, Worded, WscfgError
from ..model.kinds import BY_NAME, KINDS, Kind
from .apikeys import issues_secret, secret_keys
from .changes import Change, Create, Delete, Resend, Update
from .plan import Plan
from .seal import SecretLookup, key_id, plan_hmac
from .state import DesiredState


class Writer(Protocol):
    """What apply needs from an API client bound to one workspace."""

    async def create(self, kind: Kind, body: dict[str, Any]) -> dict[str, Any]: ...

    async def update(
        self, kind: Kind, key: str, body: dict[str, Any], *, etag: str | None
    ) -> dict[str, Any]: ...

    async def delete(self, kind: Kind, key: str, *, etag: str | None) -> None: ...

    async def resend_invitation(self, email: str) -> dict[str, Any]: ...

    async def batch_blocked_callers(
        self,
        add: list[dict[str, Any]],
        remove: list[str],
        *,
        if_match: dict[str, str | None] | None = None,
        on_chunk: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]: ...


NewSecret = Callable[[str, str], None]  # (API key name, its new secret): only the CLI keeps it


@dataclass
class Outcome:
    change: Change
    status: str  # done | failed | skipped
    detail: str = ""
    maybe_applied: bool = False  # failed, but an attempt may have landed (reset, 5xx…)


@dataclass
class ApplyReport:
    slug: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def complete(self) -> bool:
        return all(o.status == "done" for o in self.outcomes)

    @property
    def written(self) -> bool:
        """Something was (or may have been) written."""
        return any(o.status == "done" or o.maybe_applied for o in self.outcomes)

    def summary(self) -> str:
        done, failed, skipped = self.count("done"), self.count("failed"), self.count("skipped")
        text = f"{self.slug}: {done} applied"
        if failed or skipped:
            text += f", {failed} failed, {skipped} not attempted"
        return text


def secrets_from_desired(desired: DesiredState) -> SecretLookup:
    """Secret values for a plan made from config in this same process."""

    def lookup(change: Change, name: str, marker: dict[str, Any]) -> str:
        secret = desired.secret_values.get((change.kind, change.key, name))
        if secret is None:
            raise PlanError(f"{change.address}.{name}: no value available")
        return secret.get_secret_value()

    return lookup


def secrets_from_env(
    environ: dict[str, str], key: bytes, plan_key_id: str | None = None
) -> SecretLookup:
    """Secret values for a saved plan: re-read from the environment, checked against the
    plan's HMAC under the plan ``key`` (see :mod:`wscfg.engine.seal`)."""

    def lookup(change: Change, name: str, marker: dict[str, Any]) -> str:
        env = marker.get("env")
        if not env:
            raise PlanError(
                f"{change.address}.{name}: the plan has no ${{env:…}} reference for this secret; "
                "write it as ${env:NAME} and make the plan again"
            )
        if env not in environ:
            raise PlanError(f"{change.address}.{name}: environment variable {env} is not set")
        value = environ[env]
        if plan_hmac(key, value) != marker.get("hmac"):
            if plan_key_id is not None and plan_key_id != key_id(key):
                raise PlanError(
                    f"{change.address}.{name}: the plan was made with another plan key "
                    f"(WSCFG_PLAN_KEY, else the API key), so ${{env:{env}}} cannot be checked; "
                    "use the same WSCFG_PLAN_KEY for plan and apply, or make the plan again"
                )
            raise PlanError(
                f"{change.address}.{name}: ${{env:{env}}} holds a different secret than when the "
                "plan was made; make the plan again"
            )
        return value

    return lookup


def check_secrets(plan: Plan, secrets: SecretLookup) -> None:
    """Resolve every secret before the first write, so a missing one stops nothing half-way."""
    for change in plan.changes:
        _with_secrets(change, change.body(), secrets)


def _with_secrets(change: Change, body: dict[str, Any], secrets: SecretLookup) -> dict[str, Any]:
    kind = BY_NAME[change.kind]
    for name in kind.write_only:
        marker = body.get(name)
        if isinstance(marker, dict):
            body[name] = secrets(change, name, marker)
    return body


def _dependents(kind: str) -> set[str]:
    out = {k.name for k in KINDS if kind in k.depends_on}
    return out


async def apply_plan(
    plan: Plan,
    writer: Writer,
    secrets: SecretLookup,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_secret: NewSecret | None = None,
) -> ApplyReport:
    """Apply ``plan`` through ``writer``; never raises for a failed change (see the report).

    A new API key secret (a key created or re-issued) goes to ``on_secret`` the moment it
    arrives; a plan that issues one is refused before any write without ``on_secret``."""
    if on_secret is None and secret_keys(plan.changes):
        raise PlanError(
            Worded(
                f"{plan.slug}: API keys would get a new secret and there is nowhere to write it "
                "({new_secrets}); nothing was written",
                {"new_secrets": "on_secret"},
            )
        )
    report = ApplyReport(plan.slug)
    blocked_kinds: dict[str, str] = {}  # kind -> why its remaining changes are skipped
    blocked_deletes: dict[str, str] = {}  # kind -> why its deletes are skipped

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def fail(change: Change, reason: str, maybe_applied: bool = False) -> None:
        record(Outcome(change, "failed", reason, maybe_applied))
        for dep in _dependents(change.kind):
            blocked_kinds.setdefault(dep, f"{change.address} failed")
        for base in BY_NAME[change.kind].depends_on:
            blocked_deletes.setdefault(base, f"{change.address} failed")

    bulk = [c for c in plan.changes if BY_NAME[c.kind].bulk]
    bulk_done = False
    for change in plan.changes:
        kind = BY_NAME[change.kind]
        why = blocked_kinds.get(change.kind)
        if why is None and isinstance(change, Delete):
            why = blocked_deletes.get(change.kind)
        if kind.bulk:
            if bulk_done:
                continue
            bulk_done = True
            await _apply_bulk(kind, bulk, writer, record, fail, why)
            continue
        if why is not None:
            record(Outcome(change, "skipped", why))
            continue
        try:
            await _apply_one(kind, change, writer, secrets, on_secret)
        except WscfgError as exc:
            fail(change, _reason(exc), getattr(exc, "maybe_applied", False))
            continue
        record(Outcome(change, "done"))
    return report


async def _apply_one(
    kind: Kind,
    change: Change,
    writer: Writer,
    secrets: SecretLookup,
    on_secret: NewSecret | None = None,
) -> None:
    body = _with_secrets(change, change.body(), secrets)
    answer: dict[str, Any] | None = None
    if isinstance(change, Create):
        answer = await writer.create(kind, body)
    elif isinstance(change, Update):
        answer = await writer.update(kind, change.key, body, etag=change.etag)
    elif isinstance(change, Resend):
        await writer.resend_invitation(change.key)
    elif isinstance(change, Delete):
        await writer.delete(kind, change.key, etag=change.etag)
    else:  # pragma: no cover - every action is handled above
        raise PlanError(f"unknown change {change.action}")
    if issues_secret(change):
        secret = (answer or {}).pop("secret", None)
        if not isinstance(secret, str) or not secret or on_secret is None:
            raise PlanError(
                f"the key was issued but its secret was not in the answer (an earlier attempt "
                f"landed unheard); raise {change.address}.rotation to issue another"
            )
        on_secret(change.key, secret)


async def _apply_bulk(
    kind: Kind,
    changes: list[Change],
    writer: Writer,
    record: Callable[[Outcome], None],
    fail: Callable[[Change, str, bool], None],
    why: str | None,
) -> None:
    if why is not None:
        for c in changes:
            record(Outcome(c, "skipped", why))
        return
    ident = kind.identity or ""
    add = [c.body() | {ident: c.key} for c in changes if not isinstance(c, Delete)]
    remove = [c.key for c in changes if isinstance(c, Delete)]
    # Each number carries the precondition an item's If-Match would: as planned, or absent.
    if_match = {c.key: None if isinstance(c, Create) else c.etag for c in changes}
    landed: list[dict[str, Any]] = []  # the chunks written before a failure
    try:
        result = await writer.batch_blocked_callers(
            add, remove, if_match=if_match, on_chunk=landed.append
        )
    except WscfgError as exc:
        # Part of the batch may be written when an earlier chunk landed, or when the answer
        # does not say whether the write happened (a reset, a 5xx after the body was sent);
        # a refusal such as a 429 on the first chunk wrote nothing.
        maybe = bool(landed) or bool(getattr(exc, "maybe_applied", False))
        reason = _reason(exc)
        if maybe:
            reason += " (part of the batch may have been written; plan again)"
        for c in changes:
            fail(c, reason, maybe)
        return
    conflicts = set(result.get("conflicts") or ())
    for c in changes:
        if c.key in conflicts:
            fail(c, STALE, False)
        else:
            record(Outcome(c, "done"))


STALE = (
    "changed by someone else since it was read (412 Precondition Failed); "
    "nothing was overwritten: run `wscfg plan` again"
)


def _reason(exc: WscfgError) -> str:
    from ..errors import PreconditionFailed

    return STALE if isinstance(exc, PreconditionFailed) else exc.message
