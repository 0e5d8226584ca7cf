"""wscfg: config-as-code for SaaS workspace settings, as a Python library.

    import wscfg

    configs = wscfg.load(["clinics/"])
    with wscfg.connect(server=URL, token=KEY) as ws:     # or connect(embedded=True)
        plans = ws.plan(configs)
        print(wscfg.render(plans, "markdown"))
        result = ws.apply(plans)
        report = ws.drift(configs)

``__all__`` is the public API (docs/python-api.md); every other module is private. Names
load on first use (PEP 562), so ``import wscfg`` imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # the run
    "load": "wscfg.workflow.public",
    "connect": "wscfg.workflow.public",
    "connect_async": "wscfg.workflow.public",
    "render": "wscfg.workflow.public",
    "save_plan": "wscfg.workflow.public",
    "read_plan": "wscfg.workflow.public",
    "validate": "wscfg.workflow.public",
    "settings_from_env": "wscfg.workflow.session",
    "Session": "wscfg.workflow.session",
    "AsyncSession": "wscfg.workflow.session",
    # what a run hands back
    "PlanSet": "wscfg.workflow.results",
    "ApplyResult": "wscfg.workflow.results",
    "DriftResult": "wscfg.workflow.results",
    "Notice": "wscfg.workflow.results",
    "Allowances": "wscfg.engine.safety",
    "ValidationReport": "wscfg.config.validate",
    # errors
    "WscfgError": "wscfg.errors",
    "ConfigError": "wscfg.errors",
    "Diagnostic": "wscfg.errors",
    "OptionError": "wscfg.errors",
    "PlanError": "wscfg.errors",
    "UnsafePlanError": "wscfg.errors",
    "StalePlanError": "wscfg.errors",
    "PlanFileError": "wscfg.errors",
    "ApiError": "wscfg.errors",
    "TransportError": "wscfg.errors",
    "ProtocolError": "wscfg.errors",
    "HTTPStatusError": "wscfg.errors",
    "AuthError": "wscfg.errors",
    "NotFoundError": "wscfg.errors",
    "ConflictError": "wscfg.errors",
    "PreconditionFailed": "wscfg.errors",
    "RateLimitedError": "wscfg.errors",
    "ApplyError": "wscfg.errors",
    "ApplyCancelled": "wscfg.errors",
    "DeadlineError": "wscfg.errors",
    "SetupError": "wscfg.errors",
}

__all__ = [
    "Allowances",
    "ApiError",
    "ApplyCancelled",
    "ApplyError",
    "ApplyResult",
    "AsyncSession",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "DeadlineError",
    "Diagnostic",
    "DriftResult",
    "HTTPStatusError",
    "NotFoundError",
    "Notice",
    "OptionError",
    "PlanError",
    "PlanFileError",
    "PlanSet",
    "PreconditionFailed",
    "ProtocolError",
    "RateLimitedError",
    "Session",
    "SetupError",
    "StalePlanError",
    "TransportError",
    "UnsafePlanError",
    "ValidationReport",
    "WscfgError",
    "__version__",
    "connect",
    "connect_async",
    "load",
    "read_plan",
    "render",
    "save_plan",
    "settings_from_env",
    "validate",
]

if TYPE_CHECKING:
    from .config.validate import ValidationReport
    from .engine.safety import Allowances
    from .errors import (
        ApiError,
        ApplyCancelled,
        ApplyError,
        AuthError,
        ConfigError,
        ConflictError,
        DeadlineError,
        Diagnostic,
        HTTPStatusError,
        NotFoundError,
        OptionError,
        PlanError,
        PlanFileError,
        PreconditionFailed,
        ProtocolError,
        RateLimitedError,
        SetupError,
        StalePlanError,
        TransportError,
        UnsafePlanError,
        WscfgError,
    )
    from .workflow.public import (
        connect,
        connect_async,
        load,
        read_plan,
        render,
        save_plan,
        validate,
    )
    from .workflow.results import ApplyResult, DriftResult, Notice, PlanSet
    from .workflow.session import AsyncSession, Session, settings_from_env


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wscfg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
