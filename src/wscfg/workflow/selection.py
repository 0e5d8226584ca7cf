"""Which targets a run works on (paths, target globs, a shard) and which items (``only``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OptionError

if TYPE_CHECKING:
    from ..engine.changes import Change
    from ..engine.plan import Plan
    from ..engine.state import DesiredState, LiveState

Only = list[tuple[str, str | None]]


def select(
    paths: Sequence[str],
    patterns: Sequence[str] = (),
    shard: str | None = None,
    config_roots: Sequence[str] = (),
) -> Selection:
    """The targets ``paths``, target globs and a shard (``"I/N"``; a bad one is an
    OptionError of ``shard``) pick."""
    from ..fleet import parse_shard

    try:
        share = parse_shard(shard) if shard is not None else None
    except ValueError as exc:
        raise OptionError("shard", str(exc)) from None
    return Selection(paths, patterns, share, shard, config_roots)


class Selection:
    """The targets ``paths``, target globs (``patterns``) and a shard pick."""

    def __init__(
        self,
        paths: Sequence[str],
        patterns: Sequence[str] = (),
        shard: tuple[int, int] | None = None,
        shard_text: str | None = None,
        config_roots: Sequence[str] = (),
    ) -> None:
        self.paths, self.patterns = tuple(paths), tuple(patterns)
        self.shard = shard
        self.shard_text = shard_text if shard_text is not None or shard is None else _text(shard)
        self.config_roots = tuple(config_roots)
        self.digest_key: bytes | None = None  # set for a shard: load() then fills `whole`
        self.whole: dict[str, Any] = {}

    @property
    def full(self) -> bool:
        return not self.patterns and self.shard is None

    def pick(self, slugs: list[str]) -> list[str]:
        from ..fleet import select

        return select(slugs, self.patterns, self.shard)

    def pick_all(self, slugs: list[str]) -> list[str]:
        """The targets of every shard: the target globs only."""
        from ..fleet import select

        return select(slugs, self.patterns, None)

    def guesses(self) -> list[str]:
        from ..config.validate import guess_target_slugs

        return self.pick(guess_target_slugs(list(self.paths)))

    def load(self) -> list[DesiredState]:
        """Load, validate and select (raises ConfigError / OptionError); may run in a thread.

        The cyclic GC stays off throughout, and what was built is then frozen out of it (the
        run unfreezes it on the way out): it lives until the run ends, and a collection of
        it, at the first allocation once the GC is back on and again while the snapshots are
        decoded and diffed, would walk every loaded node and item."""
        import gc

        from ..config.validate import gc_paused, load_targets
        from ..engine.state import desired_state

        with gc_paused():
            loaded = load_targets(list(self.paths), config_roots=self.config_roots)
            states = [desired_state(d) for d in loaded]
            gc.freeze()
        if self.shard is not None and self.digest_key is not None:
            from ..engine.seal import key_id
            from ..engine.shards import config_digest

            every = set(self.pick_all([s.slug for s in states]))
            whole = [s for s in states if s.slug in every]
            mine = set(self.pick([s.slug for s in whole]))
            self.whole = {
                "shard": self.shard,
                "targets": len(whole),
                "config": config_digest(whole, self.digest_key),
                "key": key_id(self.digest_key),
                "select": list(self.patterns),
                "order": {s.slug: n for n, s in enumerate(whole) if s.slug in mine},
            }
        chosen = set(self.pick([s.slug for s in states]))
        states = [s for s in states if s.slug in chosen]
        if not states and self.shard is None:
            raise OptionError("target_patterns", NO_TARGET)
        return states


NO_TARGET = "no target workspace selected (check the paths and target patterns)"


def _text(shard: tuple[int, int]) -> str:
    return f"{shard[0]}/{shard[1]}"


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"i/n"`` (or ``(i, n)``) as ``(i, n)``; an OptionError when it is not a share."""
    if shard is None or isinstance(shard, tuple):
        return shard
    from ..fleet import parse_shard as parse

    try:
        return parse(shard)
    except ValueError as exc:
        raise OptionError("shard", str(exc)) from None


def filter_plans(
    plans: list[Plan], targets: Sequence[str], shard: tuple[int, int] | None
) -> list[Plan]:
    """The plans of the workspaces the target globs and the shard pick."""
    from ..fleet import select

    chosen = set(select([p.slug for p in plans], targets, shard))
    return [p for p in plans if p.slug in chosen]


def parse_only(values: Sequence[str]) -> Only:
    """``KIND`` or ``KIND:KEY`` → (kind, key or None); an unknown kind is an OptionError."""
    from ..model.kinds import BY_NAME

    out: Only = []
    for value in values:
        kind, sep, key = value.partition(":")
        if kind not in BY_NAME:
            raise OptionError("only", f"unknown kind {kind!r}; one of: {', '.join(BY_NAME)}")
        if sep and not key:
            raise OptionError("only", f"{value!r} names no item after ':'")
        out.append((kind, key if sep else None))
    return out


def selected(change: Change, only: Only) -> bool:
    if not only:
        return True
    return any(change.kind == k and (key is None or change.key == key) for k, key in only)


def narrow(
    plans: list[Plan], only: Sequence[str], live: Mapping[str, LiveState] | None = None
) -> None:
    """Keep only the selected changes in each plan (in place). With ``live`` (slug → live
    state), the API key checks are made again over the changes kept: a key the selection
    does not touch is no reason to refuse it."""
    from ..engine.apikeys import CODES, key_checks

    picked = parse_only(only)
    for p in plans:
        p.changes = [c for c in p.changes if selected(c, picked)]
        if live is not None and p.slug in live:
            p.failed_checks = [c for c in p.failed_checks if c[0] not in CODES]
            p.failed_checks += key_checks(p.changes, live[p.slug])


def check_only(
    only: Sequence[str],
    desired: Mapping[str, DesiredState],
    live: Mapping[str, LiveState],
) -> None:
    """A typo in ``only`` is an error, not an empty plan: a ``KIND:KEY`` selector must name
    an item some target declares or has (``desired`` and ``live``: slug → state); the
    closest one is suggested. A ``KIND`` selector must name a kind some target declares or
    has items of (its spelling is checked by :func:`parse_only`): a selection of nothing is
    an error, not "No changes"."""
    for text, (kind, key) in zip(only, parse_only(only), strict=True):
        known: set[str] = set()
        states: list[DesiredState | LiveState] = [*desired.values(), *live.values()]
        for state in states:
            known.update(state.items.get(kind, {}))
        if key is None:
            if known:
                continue
            raise OptionError(
                "only",
                f"matches no declared or live item: no target declares or has any {kind}",
                value=text,
            )
        if key in known:
            continue
        names = sorted(known)
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        if not close:
            lowered = {n.lower(): n for n in names}
            close = [lowered[c] for c in difflib.get_close_matches(key.lower(), lowered, n=1)]
        if close:
            hint = f"; did you mean '{kind}:{close[0]}'?"
        elif names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            hint = f" ({kind}: {shown})"
        else:
            hint = f" (no target declares or has any {kind})"
        raise OptionError("only", f"matches no declared or live item{hint}", value=text)
