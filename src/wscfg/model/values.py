"""Checks of single values, shared by the pydantic models and the schema check of ``validate``.

Every validator function a model runs carries a *mark* (:func:`marked`): a name in
:data:`CHECKS`, whose function here does the same check on the plain value of the document
(a ``dict``, ``list``, ``str`` or number, as YAML gives it). The JSON Schema that
``wscfg validate`` checks a valid file against (``wscfg/config/document.schema.json``) carries
the marks as ``x-wscfg-check`` at each place the models run a validator, so that check runs the
same code as the models without importing pydantic (docs/performance.md says why and how the
two are kept equal). A check raises ``ValueError`` to refuse a value and returns the value the
model keeps (normalized: E.164, lower-case email, ``#rrggbb``).

This module must not import pydantic.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any, TypeVar

from ..escape import first_unsafe
from .email import _email as email

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{0,62}[a-z0-9])?$")
HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")

BUILTIN_ROLES: dict[str, str] = {
    "owner": "Everything, including billing and deleting the workspace.",
    "admin": "Full access to settings, billing and team members.",
    "member": "Access to calls, contacts and automations.",
    "client": "Limited access, view only.",
}
MAX_API_KEYS = 10  # active keys per workspace: the platform's limit
RESERVED_PREFIX = "key_"  # how the platform names API key ids


def slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            "must be 1-63 lower-case letters, digits or '-', starting and ending with a "
            "letter or digit (e.g. 'acme-north')"
        )
    return value


def name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            "must be 1-64 lower-case letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit (e.g. 'front-desk')"
        )
    return value


# Free text is data in every output (wscfg.escape); the platform also refuses, in every text
# field, the characters that could forge a line or reorder it on screen (docs/api.md, "Text").
_UNSAFE_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}


def _refuse_unsafe(value: str, prose: bool) -> str:
    bad = first_unsafe(value, prose=prose)
    if bad is None:
        return value
    what = _UNSAFE_NAMES.get(bad) or f"U+{ord(bad):04X}"
    kinds = "control characters" if prose else "line breaks, tabs, control characters"
    raise ValueError(
        f"must not contain {kinds}, line or paragraph separators or bidirectional controls "
        f"(found {what} at character {value.index(bad) + 1})"
    )


def single_line(value: str) -> str:
    """One line of text (a name, a description, a note)."""
    return _refuse_unsafe(value, prose=False)


def prose(value: str) -> str:
    """Text that may span lines (line breaks and tabs allowed, nothing else of the class)."""
    return _refuse_unsafe(value, prose=True)


def colour(value: str) -> str:
    if not HEX_RE.match(value):
        raise ValueError("must be a hex colour like '#1f8a70' or '#f80'")
    value = value.lower()
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


@lru_cache(maxsize=1024)
def _prefix_patterns(cc: int) -> tuple[re.Pattern[str], ...] | None:
    """National-prefix patterns the parser may strip for a country code; None if unknown."""
    import phonenumbers

    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not regions:
        return None
    found = set()
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(cc, region)
        if meta is None:
            return None
        if meta.national_prefix_for_parsing:
            found.add(meta.national_prefix_for_parsing)
    patterns = sorted(found)
    if patterns and not any(re.search(r"\\[1-9]", p) for p in patterns):
        # One alternation matches where any of them does: one call per number, not one per
        # region (the +1 plan alone has over a dozen).
        return (re.compile("|".join(f"(?:{p})" for p in patterns)),)
    return tuple(re.compile(p) for p in patterns)


def _e164_fast(value: str) -> str | None:
    """Numbers already written as E.164 skip the full parser (100,000 of them in a config is
    common): split off the country code with the library's own table, make sure no national
    prefix rule of that country applies, then ask the library whether a number of that length
    is possible there. ``None`` means "use the full parser"."""
    if not E164_RE.match(value):
        return None
    # All but the prefix rule depends only on the first three digits and the length: worked
    # out once per such pair (_plan), a dictionary look-up per number.
    key = (value[1:4], len(value))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(value[1:4], len(value) - 1)
    n, patterns, possible = plan
    if patterns is None:
        return None
    national = value[n + 1 :]
    if national.startswith("0"):
        return None
    for p in patterns:  # a loop, not any(): this runs once per number of a config
        if p.match(national):
            return None
    return value if possible else None


_Plan = tuple[int, tuple[re.Pattern[str], ...] | None, bool]
_PLANS: dict[tuple[str, int], _Plan] = {}


def _plan(first: str, digits: int) -> _Plan:
    """For a number of ``digits`` digits starting ``first`` (three digits): the length of its
    country code, that country's national-prefix patterns (None: no country code known, or
    no fast path) and whether a national number of the rest's length is possible there."""
    for n in (1, 2, 3):
        cc = int(first[:n])
        patterns = _prefix_patterns(cc)
        if patterns is None:
            continue
        return n, patterns, _possible_length(cc, digits - n)
    return 0, None, False


@lru_cache(maxsize=4096)
def _possible_length(cc: int, length: int) -> bool:
    # The library decides "possible" from the country's possible lengths only, so one
    # representative number per (country code, length) answers for all of them.
    import phonenumbers

    number = phonenumbers.PhoneNumber(country_code=cc, national_number=int("1" * length))
    return bool(phonenumbers.is_possible_number(number))


def e164(value: str) -> str:
    """Normalize a phone number written in international format to E.164."""
    fast = _e164_fast(value)
    if fast is not None:
        return fast
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"'{value}' is not a phone number in international format (e.g. '+1 555 010 0100')"
        ) from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"'{value}' is not a possible phone number (wrong length for its country)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_not_number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write phone numbers as quoted strings starting with '+'")
    return value


@cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


_ZONE_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")


def _zone_file(key: str) -> bool:
    """``key in zoneinfo.available_timezones()``, answered by looking at one file rather than
    walking the whole time zone tree (which costs tens of milliseconds): the same rules
    (``available_timezones`` in the standard library's zoneinfo/_tzpath.py) for one key. False
    also means "not sure": the caller then asks the full set."""
    import os
    import zoneinfo

    parts = key.split("/")
    if key == "posixrules" or parts[0] in ("right", "posix"):
        return False
    if not all(_ZONE_PART.fullmatch(p) and p not in (".", "..") for p in parts):
        return False
    for root in zoneinfo.TZPATH:
        here = root
        for p in parts[:-1]:  # os.walk does not enter linked directories
            here = os.path.join(here, p)
            if os.path.islink(here) or not os.path.isdir(here):
                break
        else:
            path = os.path.join(here, parts[-1])
            if os.path.isdir(path):
                continue
            try:
                with open(path, "rb") as fh:
                    return fh.read(4) == b"TZif"
            except OSError:
                continue
    return False


def timezone(value: str) -> str:
    if _zone_file(value):
        return value
    zones = _zones()
    if value in zones:
        return value
    folded = {z.lower(): z for z in zones}
    if value.lower() in folded:
        return folded[value.lower()]
    close = difflib.get_close_matches(value, sorted(zones), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else " (e.g. 'America/Chicago')"
    raise ValueError(f"'{value}' is not an IANA time zone{hint}")


def recipient(value: str) -> str:
    """A member's email (lower-cased) or a role's name (built-in or custom)."""
    if "@" in value:
        return email(value)
    if not NAME_RE.match(value):
        raise ValueError(
            f"'{value}' is neither an email address nor a role name (e.g. "
            "'ann@acme.example' or 'admin')"
        )
    return value


def not_builtin_role(value: str) -> str:
    if value in BUILTIN_ROLES:
        raise ValueError(f"'{value}' is a built-in role and cannot be redefined")
    return value


def not_a_key_id(value: str) -> str:
    if value.startswith(RESERVED_PREFIX):
        raise ValueError(f"names starting with '{RESERVED_PREFIX}' are the platform's key ids")
    return value


def some_scopes(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("a key needs at least one scope (e.g. 'settings:read')")
    return value


def at_most_ten_keys(value: list[Any] | None) -> list[Any] | None:
    if value is not None and len(value) > MAX_API_KEYS:
        raise ValueError(
            f"a workspace can have at most {MAX_API_KEYS} active API keys; "
            f"{len(value)} are declared"
        )
    return value


def bounds(at_least: float | None, at_most: float | None) -> None:
    """A range gives at_least, at_most or both, in order."""
    if at_least is None and at_most is None:
        raise ValueError("give at_least, at_most or both")
    if at_least is not None and at_most is not None and at_least > at_most:
        raise ValueError("at_least must not be greater than at_most")


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date_text(value: str) -> str:
    """A ``date`` field written as text: pydantic reads ``YYYY-MM-DD`` of a real day in years
    1 to 9999. JSON Schema's ``format: date`` also takes year 0000, which pydantic refuses."""
    import datetime

    if not _DATE_RE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    datetime.date(int(value[:4]), int(value[5:7]), int(value[8:]))  # ValueError if no such day
    return value


def date_only(value: Any) -> Any:
    """A date and nothing else: ``YYYY-MM-DD`` (or a ``date``), never a date and time, a
    timestamp number or a date and time with a zero time cut to its day (#21 item 8)."""
    import datetime

    if isinstance(value, datetime.datetime) or not isinstance(value, str | datetime.date):
        raise ValueError("must be a date written YYYY-MM-DD, e.g. 2027-12-31")
    if isinstance(value, str):
        if not _DATE_RE.fullmatch(value):
            raise ValueError(
                "must be a date written YYYY-MM-DD, e.g. 2027-12-31 (not a date and time)"
                if "T" in value or " " in value or ":" in value
                else "must be a date written YYYY-MM-DD, e.g. 2027-12-31"
            )
        date_text(value)
    return value


def today_utc() -> Any:
    """Today's date in UTC: the day the API compares key expiry dates with."""
    import datetime

    return datetime.datetime.now(datetime.UTC).date()


def after_today(value: Any) -> Any:
    """A key's last day: after today (UTC), so that a new or changed key is not already dead
    (#21 item 8). ``value`` is a ``date`` (the models) or its ``YYYY-MM-DD`` text (the schema
    check of ``wscfg validate``)."""
    import datetime

    day = datetime.date.fromisoformat(value) if isinstance(value, str) else value
    today = today_utc()
    if day <= today:
        raise ValueError(
            f"must be in the future (after {today.isoformat()}, today in UTC), not "
            f"{day.isoformat()}"
        )
    return value


def not_null(value: Any) -> Any:
    """A setting that has no "cleared" state (a boolean, a number): ``null`` is refused, not
    read as "leave it out" (#21 item 8: ``{"require_2fa": null}`` stored ``{}``)."""
    if value is None:
        raise ValueError(
            "must not be null: a boolean or number setting has no empty value (leave the "
            "field out to keep it as it is)"
        )
    return value


def _range(value: dict[str, Any]) -> dict[str, Any]:
    bounds(value.get("at_least"), value.get("at_most"))
    return value


def _public_https(value: str) -> str:
    from .urls import check_public_https

    return check_public_https(value)


def _same(value: Any) -> Any:
    """A validator that only reorders or reshapes (sorted sets, a bare blocked caller) and
    cannot refuse: nothing to check on the plain value."""
    return value


# mark -> the check on a plain value
CHECKS: dict[str, Callable[[Any], Any]] = {
    "slug": slug,
    "name": name,
    "colour": colour,
    "single-line": single_line,
    "prose": prose,
    "email": email,
    "recipient": recipient,
    "timezone": timezone,
    "phone": e164,
    "phone-not-number": phone_not_number,
    "public-https": _public_https,
    "range": _range,
    "not-builtin-role": not_builtin_role,
    "not-a-key-id": not_a_key_id,
    "some-scopes": some_scopes,
    "at-most-ten-keys": at_most_ten_keys,
    # Not a validator of the models: pydantic's own reading of a date, which JSON Schema's
    # format does not match (the schema generator puts it on every date).
    "date": date_text,
    "date-only": date_only,
    "future-date": after_today,
    "not-null": not_null,
    # Reshaping only. "bare-caller" (a blocked caller written as its number) is also a schema
    # rewrite: the schema check accepts the bare number there (wscfg.config.schema).
    "sorted-set": _same,
    "rule-order": _same,
    "bare-caller": _same,
}

F = TypeVar("F", bound=Callable[..., Any])


def marked(mark: str) -> Callable[[F], F]:
    """Mark a model's validator with the check in :data:`CHECKS` that does its work on a
    plain value (the JSON Schema generator refuses a validator without a mark)."""
    if mark not in CHECKS:
        raise KeyError(mark)

    def deco(fn: F) -> F:
        fn.__wscfg_check__ = mark  # type: ignore[attr-defined]
        return fn

    return deco


for _mark, _fn in CHECKS.items():
    if not hasattr(_fn, "__wscfg_check__"):
        _fn.__wscfg_check__ = _mark  # type: ignore[attr-defined]
