"""What a run hands back: the plans of a run (:class:`PlanSet`), what apply did
(:class:`ApplyResult`), and what it said along the way (:class:`Notice`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.apply import ApplyReport, Outcome, SecretLookup
    from ..engine.drift import DriftReport
    from ..engine.envmask import EnvMask
    from ..engine.plan import Plan
    from ..engine.render import Failure
    from ..engine.safety import Allowances, Refusal
    from ..engine.state import DesiredState, LiveState
    from ..engine.violations import Violation
    from .keys import KeySource


@dataclass(frozen=True)
class Notice:
    """Something a run says on the way (the CLI prints it on stderr). ``code`` says which:

    - ``embedded``: the run uses the embedded sandbox (``detail``: its name);
    - ``empty-shard``: no target falls in the shard (``detail``: the shard);
    - ``unconfigured``: workspaces the key reaches that have no config (``slugs``);
    - ``missing``: configured workspaces that do not exist (``slugs``);
    - ``created``: workspaces created (``slugs``);
    - ``created-meanwhile``: workspaces another run created while this one tried (their
      creates answered 409, and this key reaches them: what was asked for; ``slugs``);
    - ``not-created``: one that could not be (``slugs``: it; ``detail``: why).
    """

    code: str
    text: str
    slugs: tuple[str, ...] = ()
    detail: str = ""


NoticeHook = Callable[[Notice], None]


def embedded_notice(server: str) -> Notice:
    """The notice of a run on the embedded sandbox (``server``: its name), said once per
    command whichever command it is (plan, apply, drift, adopt, export, clone)."""
    return Notice("embedded", f"Using the {server}.", detail=server)


@dataclass
class PlanSet:
    """The plans of one run: one :class:`~wscfg.engine.plan.Plan` per target workspace that
    could be read, a :class:`~wscfg.engine.render.Failure` per one that could not, and what
    rendering, saving and applying them needs. ``wscfg.render(planset, "text")`` shows it."""

    plans: list[Plan]
    failures: list[Failure]
    server: str  # the server, as messages and plan files name it
    allow: Allowances
    only: tuple[str, ...] = ()  # the item selection of a partial plan; () for a full one
    violations: list[Violation] = field(default_factory=list)
    desired: dict[str, DesiredState] = field(default_factory=dict)
    live: dict[str, LiveState] = field(default_factory=dict)
    run: dict[str, Any] | None = None  # the "run" record of a part of a sharded run
    mask: EnvMask | None = None  # hides the environment values the configs used
    secrets: Callable[[Plan], SecretLookup] | None = None  # secret values, per plan
    created: list[str] = field(default_factory=list)  # workspaces created on the way
    uncertain: list[str] = field(default_factory=list)  # created perhaps (unheard)
    saved: bool = False  # read from a plan file (apply checks it against live state first)
    key_id: str | None = None  # a saved plan's: the key its secrets were sealed with
    key: KeySource | None = field(default=None, repr=False)  # the plan key, when needed

    @property
    def empty(self) -> bool:
        """No plan has a change."""
        return all(p.empty for p in self.plans)

    @property
    def changes(self) -> int:
        return sum(len(p.changes) for p in self.plans)

    def refusals(self) -> list[Refusal]:
        """Everything apply would refuse in these plans under their allowances."""
        from ..engine.safety import refusals

        return refusals(self.plans, self.allow)


APPLY_LINES_PER_KIND = 20  # per workspace, kind and status; the rest are counted


@dataclass
class ApplyResult:
    """What apply did: a report per workspace written to, a failure per workspace that could
    not be read or written, the workspaces skipped as unsafe (``allow.skip_unsafe``)."""

    reports: list[ApplyReport] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # the workspaces apply went to
    skipped: list[str] = field(default_factory=list)
    secrets_written: int = 0

    @property
    def written(self) -> bool:
        """Something was written."""
        return any(r.written for r in self.reports)

    @property
    def ok(self) -> bool:
        """Every target matches its configuration now."""
        return not self._bad()

    def _bad(self) -> set[str]:
        bad = {r.slug for r in self.reports if not r.complete} | {f.target for f in self.failures}
        return bad | set(self.skipped)

    def lines(self, mask: EnvMask | None = None) -> list[str]:
        """The report: a line per workspace, failure and skipped workspace, then a count;
        ``mask`` hides environment values in what the workspaces and the server said."""
        from .keys import masked

        out = [masked(mask, r.summary()) for r in self.reports]
        out += [masked(mask, f"{f.target}: error: {f.message}") for f in self.failures]
        out += [f"{slug}: skipped (apply would refuse it; see above)" for slug in self.skipped]
        total = len(set(self.planned) | {f.target for f in self.failures} | set(self.skipped))
        if total > 1:
            matching = total - len(self._bad())
            out.append(f"{matching} of {total} workspace(s) match their configuration.")
        return out

    def error(self) -> Exception | None:
        """The ApplyError to raise when not every target matches (partial: something was
        written or a target was skipped), else None."""
        from ..errors import ApplyError

        bad = self._bad()
        if not bad:
            return None
        skipped = self.skipped
        if skipped and not (bad - set(skipped)):
            message = f"skipped {len(skipped)} unsafe workspace(s): {_names(skipped)}"
        elif self.written:
            message = "apply stopped part-way; run `wscfg plan` to see what is left"
        else:
            message = "apply failed; nothing was written"
        return ApplyError(message, partial=self.written or bool(skipped), results=self)

    def raise_for_errors(self) -> None:
        """Raise :meth:`error`, if any."""
        err = self.error()
        if err is not None:
            raise err


class OutcomeLines:
    """Apply's line per change as it is made (``✓ slug: + call tag spam``), at most
    :data:`APPLY_LINES_PER_KIND` per workspace, kind and status; :meth:`counts` then says
    how many more each group had, so the lines add up to the "N applied" of the report."""

    MARKS = {"done": "✓", "failed": "✗", "skipped": "·"}
    VERBS = {"done": "applied", "failed": "failed", "skipped": "not attempted"}

    def __init__(self, mask: EnvMask | None = None) -> None:
        self.shown: dict[tuple[str, str, str], int] = {}
        self.mask = mask  # environment values in the lines are masked, every line escaped

    def line(self, slug: str, outcome: Outcome) -> str | None:
        """The line of ``outcome`` (None past the group's limit: it is counted)."""
        group = (slug, outcome.change.kind, outcome.status)
        self.shown[group] = self.shown.get(group, 0) + 1
        if self.shown[group] > APPLY_LINES_PER_KIND:
            return None
        from ..escape import text as escaped
        from .keys import masked

        text = f"{self.MARKS[outcome.status]} {slug}: {outcome.change.symbol} "
        text += outcome.change.label
        return escaped(masked(self.mask, f"{text}: {outcome.detail}" if outcome.detail else text))

    def counts(self) -> list[str]:
        """A line per group that had more than the limit."""
        from ..escape import text as escaped

        out = []
        for (slug, kind, status), n in self.shown.items():
            if n > APPLY_LINES_PER_KIND:
                more, noun = n - APPLY_LINES_PER_KIND, kind.replace("_", " ")
                line = f"{self.MARKS[status]} {slug}: … and {more} more {noun} {self.VERBS[status]}"
                out.append(escaped(line))
        return out


def question(plans: Sequence[Plan]) -> str:
    """What apply asks before writing."""
    n = sum(len(p.changes) for p in plans if not p.empty)
    w = sum(1 for p in plans if not p.empty)
    return f"Apply {n} change(s) to {w} workspace(s)?"


@dataclass
class DriftResult:
    """Drift in the live workspaces of a run (``report``, a
    :class:`~wscfg.engine.drift.DriftReport`: ``new``, ``known``, ``violations``,
    ``failures``), the server it was read from, and the mask of the environment values its
    configs used. ``wscfg.render(result, "json")`` is ``wscfg drift --format json``."""

    report: DriftReport
    server: str
    mask: EnvMask | None = None

    @property
    def new(self) -> list[Any]:
        """The drift not in the baseline."""
        return list(self.report.new)


def _names(items: Sequence[str]) -> str:
    more = f" and {len(items) - 10} more" if len(items) > 10 else ""
    return ", ".join(items[:10]) + more


def discovery_notices(unconfigured: Sequence[str], missing: Sequence[str]) -> list[Notice]:
    """What a run says of the workspaces the key reaches that no config names, and of the
    configured ones that do not exist."""
    out = []
    if unconfigured:
        text = f"{len(unconfigured)} workspace(s) have no config file: {_names(unconfigured)}"
        out.append(Notice("unconfigured", text, tuple(unconfigured)))
    if missing:
        text = f"{len(missing)} configured workspace(s) do not exist: {_names(missing)}"
        out.append(Notice("missing", text, tuple(missing)))
    return out


def creation_notices(
    created: Sequence[str], failures: Sequence[Failure], meanwhile: Sequence[str]
) -> list[Notice]:
    """What ``--create-missing`` says: the workspaces it created, those another run created
    meanwhile (their creates answered 409 and the key reaches them), and each failure."""
    out = [Notice("created", f"Created {len(created)} workspace(s).", tuple(created))]
    if meanwhile:
        text = (
            f"{len(meanwhile)} workspace(s) created meanwhile by another run (a create "
            f"answered 409; this key reaches them): {_names(meanwhile)}"
        )
        out.append(Notice("created-meanwhile", text, tuple(meanwhile)))
    for f in failures:
        text = f"Could not create workspace {f.target}: {f.message}"
        out.append(Notice("not-created", text, (f.target,), f.message))
    return out
