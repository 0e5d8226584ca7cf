"""Values that came from ``${env:…}`` never appear in a plan, its files or apply's output.

Every output (text, markdown and JSON plans, saved plans, apply's lines) passes through an
:class:`EnvMask`: each environment value the configs used, in any letter case, is shown as
``(from ${env:NAME}, sha256:…)``, a reference and a fingerprint keyed by the plan key (see
:mod:`wscfg.engine.seal`), so the fingerprint cannot be checked against guesses either.
``apply plan.json`` puts the values back from the environment with :func:`unmask`, refusing
when one changed since the plan.

A field whose desired value used ``${env:…}`` is masked on both sides of every diff, whatever
its live value (after the variable was rotated, the live side holds the old value, which the
environment no longer has): :meth:`EnvMask.plans` shows its live value as
``(live value hidden: set from ${env:NAME}, sha256:…)`` and its desired value with every
environment value it used masked, however short; and each live value wscfg wrote there (with
the old environment value inside it, when the live value has the shape of the desired one) is
masked in every other place too (messages, other fields). A deleted item whose identity has
the shape of an environment-derived identity the plan creates (a rotated member email or
blocked number) is masked likewise. The rule for free text (any other place) is in
:data:`MIN_MASKED` and :data:`WORDS`; see docs/reliability.md, "Environment values".
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import PlanError

if TYPE_CHECKING:
    from .changes import Change, Origin
    from .plan import Plan
    from .state import DesiredState, LiveState

MIN_MASKED = 4  # shorter values ("1", "on", "us") are too common to hide inside other text
# Words every output uses (JSON literals, message words): masked only at value positions, never
# inside free text, where hiding them would garble messages ("must be true or false").
# (the same words as wscfg.config.validate.MESSAGE_WORDS, which applies the rule to messages)
WORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "unset"})
LIVE_RE = re.compile(
    r"\(live value hidden: set from \$\{env:[A-Za-z_][A-Za-z0-9_]*\}"
    r"(?:, \$\{env:[A-Za-z_][A-Za-z0-9_]*\})*, sha256:([0-9a-f]{16})\)"
)
MARKER_RE = re.compile(
    r"\(from \$\{env:([A-Za-z_][A-Za-z0-9_]*)\}(?: ([a-z-]+))?, sha256:([0-9a-f]{16})\)"
)


PHONE_CHARS = frozenset("0123456789 +-().")


def forms(value: str) -> dict[str, str]:
    """The spellings of an environment value that output may show, by name (``""``: the value
    itself, which :func:`unmask` puts back), each at least :data:`MIN_MASKED` long: as written
    and case-folded (matching ignores case), inside JSON, percent-encoded (``quote``,
    ``quote_plus``) and percent-decoded, without its outer spaces (text fields strip them),
    digits only (a phone number normalized to E.164 keeps only the digits of its part), a
    3-digit hex colour as ``rrggbb``, and, for a URL, its password and ``user:password`` (a
    message may show a URL taken apart). A masked form says which it was, so that
    :func:`unmask` puts back that spelling."""
    from urllib.parse import quote, quote_plus, unquote, urlsplit

    out = {
        "": value,
        "casefolded": value.casefold(),
        "json": json.dumps(value, ensure_ascii=False)[1:-1],
        "percent-encoded": quote(value, safe=""),
        "path-encoded": quote(value),
        "form-encoded": quote_plus(value),
        "percent-decoded": unquote(value),
    }
    if value.strip() != value:  # text fields keep a value without its outer spaces
        out["stripped"] = value.strip()
    if set(value) <= PHONE_CHARS:
        out["digits"] = "".join(c for c in value if c.isdigit())
    if value.startswith("#") and _colour(value):  # a colour is kept as #rrggbb
        out["colour"] = _colour(value)
    if "://" in value:
        try:
            parts = urlsplit(value)
            password, user = parts.password, parts.username
        except ValueError:
            password = user = None
        if password:
            out["password"] = password
            out["decoded-password"] = unquote(password)
            if user:
                out["userinfo"] = f"{user}:{password}"
    seen: set[str] = set()
    kept: dict[str, str] = {}
    for tag, form in out.items():
        if len(form) >= MIN_MASKED and form.lower() not in seen and form.lower() not in WORDS:
            seen.add(form.lower())
            kept[tag] = form
    return kept


def _colour(value: str) -> str:
    """A 3-digit hex colour (``#F80``, ``F80``) as the models keep it (``#ff8800``), else ``""``."""
    if not re.fullmatch(r"#?[0-9A-Fa-f]{3}", value):
        return ""
    return value[:-3] + "".join(c * 2 for c in value[-3:].lower())


# spellings put back as the value itself (JSON escapes and letter case are undone by reading)
AS_VALUE = frozenset({"", "casefolded", "json"})


def env_fingerprint(key: bytes, value: str) -> str:
    return hmac.new(key, b"env\0" + value.encode(), hashlib.sha256).hexdigest()[:16]


Pairs = tuple[tuple[str, str], ...]  # the (name, value) of each ${env:NAME} a value used
FieldPath = tuple[str, ...]  # a field inside an item, e.g. ("business_profile", "company")
# (kind, identity key) -> the fields of that desired item set from the environment, each cut at
# its first list index (the whole list is the value), with the references it used
Positions = dict[tuple[str, str], list[tuple[FieldPath, Pairs]]]
_KEEP = f"(?P<keep>{MARKER_RE.pattern}|{LIVE_RE.pattern})"


class EnvMask:
    """Replaces environment values (``name -> value``) by their masked references.

    ``positions`` (workspace slug -> :data:`Positions`, from :func:`env_positions`): the
    fields set from the environment, masked on both sides by :meth:`plans`; the live values
    found there are then masked in every text too (:meth:`add_live`)."""

    def __init__(
        self,
        values: Mapping[str, str],
        key: bytes,
        positions: Mapping[str, Positions] | None = None,
    ) -> None:
        self._key = key
        by_value: dict[str, tuple[str, str]] = {}
        for name, value in sorted(values.items()):
            for tag, form in forms(value).items():  # each at least MIN_MASKED long
                by_value.setdefault(form.lower(), (name, "" if tag in AS_VALUE else tag))
            if _colour(value) and not value.startswith("#"):  # "#${env:C}": kept as #rrggbb
                by_value.setdefault(_colour(value), (name, "colour-digits"))
        self._names = by_value
        self._values = dict(values)
        self._positions = dict(positions or {})
        self._live: dict[str, tuple[tuple[str, ...], str]] = {}  # form -> (names, live value)
        self._compile()

    def _compile(self) -> None:
        self._re = _pattern({*self._names, *self._live})
        self._env_re = _pattern(set(self._names))

    def __bool__(self) -> bool:
        return self._re is not None or bool(self._positions)

    def marker(self, name: str, form: str = "") -> str:
        fp = env_fingerprint(self._key, self._values[name])
        return f"(from ${{env:{name}}}{' ' + form if form else ''}, sha256:{fp})"

    def live_marker(self, names: Sequence[str], value: Any) -> str:
        """What a live value is shown as in a field set from ``${env:NAME}`` (``names``): a
        fingerprint of it, keyed by the plan key, and where the config takes the field from."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        refs = ", ".join(f"${{env:{n}}}" for n in dict.fromkeys(names))
        return f"(live value hidden: set from {refs}, sha256:{env_fingerprint(self._key, text)})"

    def text(self, text: str, *, live: bool = True) -> str:
        """``text`` with every environment value masked, and (``live``) every live value
        :meth:`add_live` learnt."""
        pattern = self._re if live else self._env_re
        if pattern is None or not text:
            return text

        def one(m: re.Match[str]) -> str:
            if m.group("keep") is not None:  # a mask already: kept whole
                return m.group()
            low = m.group().lower()
            if low in self._names:
                return self.marker(*self._names[low])
            names, value = self._live[low]
            return self.live_marker(names, value)

        return pattern.sub(one, text)

    def data(self, value: Any, *, live: bool = True) -> Any:
        """``value`` (JSON-like data) with every string masked, keys included."""
        if isinstance(value, str):
            return self.text(value, live=live)
        if isinstance(value, dict):
            return {self.text(k, live=live): self.data(v, live=live) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v, live=live) for v in value]
        return value

    def document(self, doc: Any) -> Any:
        """A plan document masked: what apply writes (each change's ``after``, its fields'
        ``after``, the key of anything but a delete) of environment values only, which
        :func:`unmask` puts back (a live value learnt may also be written literally in the
        config: masking it there could not be undone); everything else of live values too."""
        if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
            return self.data(doc)
        targets = []
        for target in doc["targets"]:
            changes = target.get("changes") if isinstance(target, dict) else None
            if not isinstance(changes, list):
                targets.append(self.data(target))
                continue
            out = self.data({k: v for k, v in target.items() if k != "changes"})
            out["changes"] = [self._change_data(c) for c in changes]
            targets.append({k: out[k] for k in target})  # in the document's order
        out = self.data({k: v for k, v in doc.items() if k != "targets"})
        out["targets"] = targets
        return {k: out[k] for k in doc}

    def _change_data(self, change: Any) -> Any:
        if not isinstance(change, dict):
            return self.data(change)
        written = {"after"} | ({"key"} if change.get("action") != "delete" else set())
        out = {k: self.data(v, live=k not in written) for k, v in change.items() if k != "fields"}
        if isinstance(change.get("fields"), list):
            out["fields"] = [
                {k: self.data(v, live=k != "after") for k, v in f.items()}
                if isinstance(f, dict)
                else self.data(f)
                for f in change["fields"]
            ]
        return {k: out[k] for k in change}  # in the document's order

    def add_live(self, found: Iterable[tuple[Sequence[str], str]]) -> None:
        """Mask these live values (each with the names of the variables its field is set from)
        in every text from now on, in each of their :func:`forms`."""
        added = False
        for names, value in found:
            for form in forms(value).values():
                low = form.lower()
                if low not in self._names and low not in self._live:
                    self._live[low] = (tuple(names), value)
                    added = True
        if added:
            self._compile()

    # --- fields set from the environment -------------------------------------------------

    def plans(self, plans: Sequence[Plan]) -> list[Plan]:
        """Copies of ``plans`` to show: every field set from the environment masked on both
        sides (the live one whatever its value), every environment value in the desired one
        masked however short; an item deleted whose identity has the shape of one set from the
        environment that the plan creates (a rotated identity) masked too. The live values so
        hidden are masked in every text as well (:meth:`add_live`)."""
        found: list[tuple[Sequence[str], str]] = []
        shown = [self._plan(p, found) for p in plans]
        self.add_live(found)  # once for the run: each adds to the pattern
        return shown

    def _plan(self, plan: Plan, found: list[Any]) -> Plan:
        where = self._positions.get(plan.slug)
        if not where:
            return plan
        changes = [self._change(ch, where.get((ch.kind, ch.key), []), found) for ch in plan.changes]
        changes = self._rotated(plan.changes, changes, where, found)
        return dataclasses.replace(plan, changes=changes)

    def _change(self, ch: Change, where: list[tuple[FieldPath, Pairs]], found: list[Any]) -> Change:
        if not where:
            return ch
        from ..model.kinds import BY_NAME, FINGERPRINT_SUFFIX

        ident = BY_NAME[ch.kind].identity
        cuts = [(cut or ((ident,) if ident else ()), pairs) for cut, pairs in where]
        cuts = [(cut, pairs) for cut, pairs in cuts if cut]
        new = copy.copy(ch)
        for cut, pairs in cuts:
            names = [n for n, _ in pairs]
            new.before = _put(new.before, cut, functools.partial(self.live_marker, names))
            new.after = _put(new.after, cut, functools.partial(self.at, pairs=pairs))
            if cut == (ident,):
                new.key = self.at(ch.key, pairs)
        fields = []
        for f in ch.fields:
            parts = tuple(f.path.split("."))
            pairs = tuple(
                pair
                for cut, ps in cuts
                if cut[: len(parts)] == parts or parts[: len(cut)] == cut
                for pair in ps
            )
            if pairs and not f.path.endswith(FINGERPRINT_SUFFIX):
                names = [n for n, _ in pairs]
                if _from_config(f.origin):
                    found.extend(_live_found(names, f.before, f.after, pairs))
                before = None if f.before is None else self.live_marker(names, f.before)
                f = dataclasses.replace(f, before=before, after=self.at(f.after, pairs))
            fields.append(f)
        new.fields = fields
        return new

    def _rotated(
        self, planned: list[Change], changes: list[Change], where: Positions, found: list[Any]
    ) -> list[Change]:
        """Deleted items whose identity has the shape of an identity set from the environment
        that the plan creates (the same text around the environment's part) are masked: such
        an item may be the one made with the variable's earlier value."""
        from ..model.kinds import BY_NAME

        shapes: list[tuple[str, re.Pattern[str], list[str]]] = []
        for ch in planned:
            ident = BY_NAME[ch.kind].identity
            if ch.action != "create" or ident is None:
                continue
            for cut, pairs in where.get((ch.kind, ch.key), []):
                if cut in ((), (ident,)):
                    shape = _shape(_get(ch.after, (ident,)), pairs)
                    if shape is not None:
                        shapes.append((ch.kind, shape, [n for n, _ in pairs]))
        if not shapes:
            return changes
        out = []
        for ch in changes:
            for kind, shape, names in shapes:
                m = shape.fullmatch(ch.key) if ch.action == "delete" and ch.kind == kind else None
                if m is None:
                    continue
                if _from_config(ch.origin):
                    found.append((names, ch.key))
                    found.extend((names, g) for g in m.groups())
                ident = BY_NAME[kind].identity
                assert ident is not None
                ch = copy.copy(ch)
                ch.before = _put(ch.before, (ident,), functools.partial(self.live_marker, names))
                ch.key = self.live_marker(names, ch.key)
                break
            out.append(ch)
        return out

    def at(self, value: Any, pairs: Pairs) -> Any:
        """``value`` (a desired value set from the environment) with each value of ``pairs``
        masked, however short (the value itself and, from :data:`MIN_MASKED` characters on,
        each of its :func:`forms`): it stands at a value position, not inside free text."""
        spelled: dict[str, tuple[str, str]] = {}
        for name, env in pairs:
            if not env:
                continue
            self._values.setdefault(name, env)
            for tag, form in {"": env, **forms(env)}.items():
                spelled.setdefault(form.lower(), (name, "" if tag in AS_VALUE else tag))
            if _colour(env) and not env.startswith("#"):  # "#${env:C}": kept as #rrggbb
                spelled.setdefault(_colour(env), (name, "colour-digits"))
        if not spelled:
            return value
        pattern = re.compile(
            _KEEP + "|" + "|".join(re.escape(v) for v in sorted(spelled, key=len, reverse=True)),
            re.IGNORECASE,
        )

        def one(m: re.Match[str]) -> str:
            if m.group("keep") is not None:
                return m.group()
            return self.marker(*spelled[m.group().lower()])

        return map_strings(value, lambda v: pattern.sub(one, v))


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` (JSON-shaped data) with ``fn`` applied to every string in it, keys kept."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(x, fn) for k, x in value.items()}
    if isinstance(value, list):
        return [map_strings(x, fn) for x in value]
    return value


def _pattern(values: set[str]) -> re.Pattern[str] | None:
    """Any of ``values`` (longest first, any case), or a mask already there (kept whole)."""
    if not values:
        return None
    ordered = sorted(values, key=len, reverse=True)
    return re.compile(_KEEP + "|" + "|".join(re.escape(v) for v in ordered), re.IGNORECASE)


_MISSING: Any = object()


def _get(item: Any, path: FieldPath) -> Any:
    for name in path:
        if not isinstance(item, dict) or name not in item:
            return _MISSING
        item = item[name]
    return item


def _put(item: Any, path: FieldPath, fn: Callable[[Any], Any]) -> Any:
    """A copy of ``item`` with the value at ``path`` replaced by ``fn(value)`` (``item``
    itself when there is none: the field is unset there)."""
    if not path:
        return fn(item)
    if not isinstance(item, dict) or path[0] not in item:
        return item
    return {**item, path[0]: _put(item[path[0]], path[1:], fn)}


def _shape(desired: Any, pairs: Pairs) -> re.Pattern[str] | None:
    """A pattern of the texts that ``desired`` (a string set from the environment) takes for
    other values of its variables: its environment parts as wildcards, the rest as written."""
    if not isinstance(desired, str):
        return None
    spelled = sorted(
        {f.lower() for _, env in pairs if env for f in {"": env, **forms(env)}.values()},
        key=len,
        reverse=True,
    )
    if not spelled:
        return None
    pieces = re.split("|".join(re.escape(v) for v in spelled), desired, flags=re.IGNORECASE)
    if len(pieces) < 2:
        return None
    return re.compile("(.+?)".join(re.escape(p) for p in pieces), re.IGNORECASE | re.DOTALL)


def _from_config(origin: Origin | None) -> bool:
    """Whether a live value is what wscfg wrote (or nobody can say who did): then it came from
    the config, and from an earlier value of its variables. A platform default (a new
    workspace's name is its slug) or someone else's value is masked where it stands only."""
    return origin is None or origin.attribution == "config"


def _live_found(names: list[str], live: Any, desired: Any, pairs: Pairs) -> list[Any]:
    """The live strings to mask everywhere (a live value wscfg wrote from the config): each
    string in ``live`` and, when the live value has the shape of the desired one, the
    variables' earlier values inside it."""
    out: list[tuple[Sequence[str], str]] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append((names, v))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(live)
    shape = _shape(desired, pairs)
    m = shape.fullmatch(live) if shape is not None and isinstance(live, str) else None
    if m is not None:
        out.extend((names, g) for g in m.groups())
    return out


def resolve_live(
    plans: Sequence[Plan], live: Mapping[str, LiveState], key: bytes
) -> list[tuple[Sequence[str], str]]:
    """A saved plan's masked identities (the delete of a rotated identity) put back from the
    live workspaces: the live item whose identity has the masked fingerprint (one no longer
    there stays masked, and the freshness check refuses it). Returns the identities put back,
    each with its variables' names, for the mask of what apply prints (:meth:`EnvMask.add_live`)."""
    found: list[tuple[Sequence[str], str]] = []
    for plan in plans:
        state = live.get(plan.slug)
        for ch in plan.changes:
            m = LIVE_RE.fullmatch(ch.key)
            if m is None or state is None:
                continue
            for k, item in state.items.get(ch.kind, {}).items():
                if env_fingerprint(key, k) == m.group(1):
                    found.append((re.findall(r"\$\{env:(\w+)\}", m.group()), k))
                    ch.key, ch.before = k, item
                    break
    return found


def env_positions(state: DesiredState) -> Positions:
    """The fields of ``state``'s items whose desired value used ``${env:…}`` (secrets, shown
    as ``(sensitive)`` already, left out)."""
    from ..model.kinds import BY_NAME

    target = state.target_config
    if target is None or not target.env_paths:
        return {}
    by_index = {kind: {i: k for k, i in keys.items()} for kind, keys in state.positions.items()}
    out: Positions = {}
    for path, pairs in target.env_paths.items():
        kind = BY_NAME.get(str(path[0]))
        if kind is None or kind.name not in state.items:
            continue
        rest = path[1:]
        key = ""
        if not kind.singleton:
            index = rest[0] if rest else None
            found = by_index.get(kind.name, {}).get(index) if isinstance(index, int) else None
            if found is None:
                continue
            key, rest = found, rest[1:]
        cut: list[str] = []
        for part in rest:
            if not isinstance(part, str):
                break
            cut.append(part)
        if cut and cut[0] in kind.write_only:
            continue
        out.setdefault((kind.name, key), []).append((tuple(cut), pairs))
    return out


def unmask(value: Any, environ: Mapping[str, str], key: bytes, used: dict[str, str]) -> Any:
    """``value`` with every masked reference replaced by the environment's value, after
    checking its fingerprint; ``used`` collects the names and values put back."""

    def back(match: re.Match[str]) -> str:
        name, form, fp = match.group(1), match.group(2) or "", match.group(3)
        if name not in environ:
            raise PlanError(f"the plan uses ${{env:{name}}}, which is not set")
        current = environ[name]
        if env_fingerprint(key, current) != fp:
            raise PlanError(
                f"${{env:{name}}} holds another value than when the plan was made (or the plan "
                "key differs); make the plan again"
            )
        used[name] = current
        spelled = (
            (_colour(current) if form == "colour-digits" else forms(current).get(form))
            if form
            else current
        )
        if spelled is None:
            raise PlanError(
                f"the plan file's mask of ${{env:{name}}} is damaged; make the plan again"
            )
        return spelled

    if isinstance(value, str):
        return MARKER_RE.sub(back, value) if "(from ${env:" in value else value
    if isinstance(value, dict):
        return {
            unmask(k, environ, key, used): unmask(v, environ, key, used) for k, v in value.items()
        }
    if isinstance(value, list):
        return [unmask(v, environ, key, used) for v in value]
    return value
