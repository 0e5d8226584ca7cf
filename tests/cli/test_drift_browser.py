"""The HTML drift report in a real browser: Debian's `chromium` (installed with apt-get when it
is missing and we may) renders `wscfg drift --format html` headless to a PNG. The page loads
with no console errors and the screenshot is not blank."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from wscfg.cli import cli

from .test_drift import JANE, SECRET, config, patch, ui_key


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            env=env,
            capture_output=True,
            check=False,
            timeout=1800,
        )
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed here (apt-get as root)")
    return found


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG, with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_the_html_report_renders_in_chromium(sandbox, monkeypatch, tmp_path):
    browser = chromium()
    agency = sandbox.new_agency()
    monkeypatch.setenv("WSCFG_SERVER", sandbox.url)
    monkeypatch.setenv("WSCFG_TOKEN", agency.key)
    monkeypatch.setenv("DRIFT_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    slugs = [f"{agency.name}-{n}" for n in range(4)]
    for slug in slugs:
        sandbox.create_workspace(slug, agency=agency.name, owner=JANE)
        (tmp_path / f"{slug}.yaml").write_text(config(slug))
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", "--auto-approve", str(tmp_path)]).exit_code == 0
    for slug in slugs[:3]:
        url = f"{sandbox.url}/v1/workspaces/{slug}"
        patch(f"{url}/call-tags/spam", ui_key(sandbox, slug), {"color": "#00ff00"}, "Mozilla/5.0")
    httpx.delete(
        f"{sandbox.url}/v1/workspaces/{slugs[0]}/call-tags/sales",
        headers={"Authorization": f"Bearer {agency.key}", "User-Agent": "zapier-sync/2.1"},
    ).raise_for_status()
    result = runner.invoke(cli, ["drift", "--format", "html", "-o", "drift.html", str(tmp_path)])
    assert result.exit_code == 2, result.output
    page = tmp_path / "drift.html"
    assert SECRET not in page.read_text()

    shot = tmp_path / "drift.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    width, height, raw = png_pixels(shot)
    assert (width, height) == (1200, 900)
    assert len(set(raw)) > 16  # not one flat colour: text, a matrix, colours
    shutil.copy(shot, Path(os.environ.get("WSCFG_DRIFT_PNG", tmp_path / "kept.png")))
