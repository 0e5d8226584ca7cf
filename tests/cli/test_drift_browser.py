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
    assert f"</time> from <code>{sandbox.url}" in page.read_text()

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


MEASURE = """<script>
// the line boxes of each "when" value (an inline <time>: one rect per line it takes)
const rows = [...document.querySelectorAll("td.when time")].map((t) => t.getClientRects().length);
const pre = document.createElement("pre");
pre.id = "measured";
pre.textContent = JSON.stringify({lines: rows, width: document.documentElement.clientWidth});
document.body.appendChild(pre);
</script>"""


def long_report():
    from wscfg.engine.changes import Origin
    from wscfg.engine.drift import DriftItem, DriftReport

    zapier = Origin("drift", "api_key", "zapier-sync-production", "api", "2026-11-27T14:03:09Z")
    jane = Origin("drift", "user", JANE, "ui", "2026-11-28T09:41:00Z", "Mozilla/5.0", "update")
    hook = "https://hooks.example.com/services/T0000000/B0000000/" + "x" * 40
    items = [
        DriftItem(
            f"clinic-north-{n}",
            "webhooks",
            "crm",
            "webhook crm",
            "url",
            "changed",
            hook,
            "https://hooks.example.com/acme",
            zapier if n % 2 else jane,
        )
        for n in range(6)
    ] + [
        DriftItem(
            "clinic-north-0",
            "webhooks",
            "crm",
            "webhook crm",
            "events",
            "changed",
            ["call.completed", "call.missed", "voicemail.created", "contact.created"],
            ["call.completed"],
            jane,
        )
    ]
    return DriftReport(items, 0, [f"clinic-north-{n}" for n in range(6)], [])


def test_the_when_column_stays_on_one_line_at_1280px(tmp_path):
    """At 1280 px, with long values in the row, each "when" cell is one line (it wrapped into
    four before); the page says when it was generated and against which server."""
    from wscfg.engine.drift_html import report_html

    browser = chromium()
    page = report_html(
        long_report(), server="https://api.example.com/v1", generated="2026-12-05T10:20:00Z"
    )
    assert (
        '<p class="meta">Generated <time datetime="2026-12-05T10:20:00Z">2026-12-05 10:20 UTC'
        "</time> from <code>https://api.example.com/v1</code> (6 workspaces).</p>"
    ) in page
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"))
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", measured.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    import json
    import re

    found = re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout)
    assert found, dom.stdout[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["width"] == 1280
    assert result["lines"] == [1] * 7
    shot = tmp_path / "when.png"
    plain = tmp_path / "drift.html"
    plain.write_text(page)
    proc = subprocess.run(
        [*common, f"--screenshot={shot}", plain.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png_pixels(shot)[:2] == (1280, 900)
    shutil.copy(shot, Path(os.environ.get("WSCFG_DRIFT_WHEN_PNG", tmp_path / "kept-when.png")))
