"""Email addresses: validated by email-validator (through pydantic), lower-cased.

Importing email-validator compiles large Unicode regular expressions (tens of milliseconds,
more than the rest of ``wscfg validate`` on a small file), and almost every address in a config
is plain ASCII such as ``dr.patel@acme-dental.example``. Those take a fast path: an address
made only of a conservative subset of what the library accepts (ASCII letters, digits, ``_``,
``+``, ``-`` and single dots before the ``@``; hostname labels with no ``--`` and a
letters-only top-level domain after it; within the library's length limits; not a
special-use domain) is accepted as the library would accept it. Anything else, including
every address the fast path is unsure of, goes to pydantic's ``validate_email`` — the exact
function behind ``EmailStr`` — so its verdicts and messages are unchanged. A hypothesis test
(tests/model/test_email.py) checks the fast path against the library.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic_core import CoreSchema

_LOCAL = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIMPLE = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")

# email-validator refuses these domains and their subdomains (IANA special-use names); a
# test checks this set still covers the library's list.
SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def email_fast(value: str) -> str | None:
    """The normalized (lower-case) address, or ``None``: "ask the library"."""
    if len(value) > 254:
        return None
    m = _SIMPLE.fullmatch(value)
    if m is None:
        return None
    local, domain = m.groups()
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if _special_use(domain.lower()):
        return None
    return value.lower()


@lru_cache(maxsize=1024)
def _special_use(domain: str) -> bool:
    """``domain`` (lower-case) is a special-use name or under one (the members of a config
    mostly share one domain: worked out once)."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in SPECIAL_USE for i in range(len(labels)))


def _email(value: str) -> str:
    fast = email_fast(value)
    if fast is not None:
        return fast
    from pydantic.networks import validate_email

    return validate_email(value)[1].lower()


if TYPE_CHECKING:
    Email = str
else:

    class Email:
        """An email address field, built like pydantic's ``EmailStr`` (so a model derived from
        a field's bare annotation, like the sandbox's PATCH bodies, keeps it), lower-cased."""

        @classmethod
        def __get_pydantic_core_schema__(
            cls, _source: type[Any], _handler: GetCoreSchemaHandler
        ) -> CoreSchema:
            from pydantic_core import core_schema

            return core_schema.no_info_after_validator_function(_email, core_schema.str_schema())

        @classmethod
        def __get_pydantic_json_schema__(
            cls, schema: CoreSchema, handler: GetJsonSchemaHandler
        ) -> dict[str, Any]:
            field_schema: dict[str, Any] = handler(schema)
            field_schema.update(type="string", format="email")
            return field_schema
