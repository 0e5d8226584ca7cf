"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from wscfg.sandbox.testing import SandboxServer, SandboxWorkspace


@pytest.fixture
def served_workspace(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[SandboxWorkspace, Path]:
    """A fresh workspace (its owner ``owner@x.example``) that wscfg is pointed at through
    ``WSCFG_SERVER`` and ``WSCFG_TOKEN``, and ``ws.yaml`` in the folder the test runs in."""
    ws = sandbox.new_workspace(owner="owner@x.example")
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    return ws, tmp_path / "ws.yaml"
