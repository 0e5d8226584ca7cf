"""What loading a target produces: its target config, a validated document plus the source of
each value (see docs/glossary.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import WorkspaceConfig

# a document path, e.g. ("members", 3, "role"): see docs/glossary.md
DocPath = tuple[str | int, ...]


@dataclass(frozen=True, init=False)
class Source:
    """Where a value was written: file (as given, relative when possible), 1-based line/col."""

    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int, column: int) -> None:
        # What the generated __init__ of a frozen dataclass does (object.__setattr__ per
        # field), at a third of its cost: a load makes one per value of every config.
        d = self.__dict__
        d["file"] = file
        d["line"] = line
        d["column"] = column

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class TargetConfig:
    """A target config: one target workspace's validated settings, ready for planning.

    ``sources`` maps paths in the merged document (``("members", 3, "role")``) to where the
    value was written, through ``extends`` chains. ``secret_refs`` maps the path of each secret
    field (``("webhooks", 0, "secret")``) to the environment variable it came from; the value
    itself is only in ``config`` (as a ``SecretStr``), never in sources, plans or messages.
    """

    file: str
    config: WorkspaceConfig
    sources: dict[DocPath, Source] = field(default_factory=dict)
    secret_refs: dict[DocPath, str] = field(default_factory=dict)
    # name -> value of every ${env:NAME} the file used: outputs show them only masked
    env_values: dict[str, str] = field(default_factory=dict, repr=False)
    # (kind, identity key) of every collection item a file it extends declares
    inherited: frozenset[tuple[str, str]] = frozenset()
    # its extends chain's policies (wscfg.config.policies.CompiledPolicy), for live checks
    policies: tuple[Any, ...] = ()
    # the path of each value a ${env:NAME} went into -> the (name, value) pairs it used: outputs
    # mask such a field on both sides of a diff (wscfg.engine.envmask)
    env_paths: dict[DocPath, tuple[tuple[str, str], ...]] = field(default_factory=dict, repr=False)
    # its extends chain's locks (wscfg.config.policies.Lock): adopt writes none of them
    locks: tuple[Any, ...] = ()

    @property
    def slug(self) -> str:
        assert self.config.workspace is not None
        return self.config.workspace.slug

    def source_of(self, path: DocPath) -> Source | None:
        """The closest recorded source of ``path`` or of one of its parents."""
        while path:
            if path in self.sources:
                return self.sources[path]
            path = path[:-1]
        return None
