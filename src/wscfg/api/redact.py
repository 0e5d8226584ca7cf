"""Keep secrets out of log lines we do not write ourselves.

httpcore's DEBUG logging prints response headers verbatim; a hostile (or merely echoing) server
can put our key or a webhook secret in one. While a client is open its secrets are registered
here and a filter on the httpx/httpcore (and wscfg.api) loggers replaces them with
``[redacted]`` before any handler sees the record.
"""

from __future__ import annotations

import logging
from collections import Counter

LOGGERS = (
    "wscfg.api",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
REDACTED = "[redacted]"

_active: Counter[str] = Counter()


def _forms(secret: str) -> set[str]:
    """The secret as text and as it shows inside a ``repr`` of bytes or str."""
    return {secret, repr(secret.encode())[2:-1], repr(secret)[1:-1]}


def register(secret: str) -> None:
    if secret:
        for form in _forms(secret):
            _active[form] += 1
        _install()


def unregister(secret: str) -> None:
    if secret:
        for form in _forms(secret):
            _active[form] -= 1
            if _active[form] <= 0:
                del _active[form]


def redact(text: str) -> str:
    for secret in sorted(_active, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _active:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business
            return True
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        return True


_filter = RedactingFilter()


def _install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
