"""`--server` takes the URL `wscfg sandbox serve` prints (with `/v1`), and a 404 before anything
answered points at the base URL."""

from __future__ import annotations

import pytest

from .runner import invoke


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "/V1"])
def test_the_printed_url_works_as_server(sandbox, tmp_path, monkeypatch, suffix):
    ws = sandbox.new_workspace(owner="owner@x.example")
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ws.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\ncall_tags: [{{name: a}}]\n")
    result = invoke("plan", "--server", sandbox.url + suffix, "--detailed-exitcode", str(path))
    assert result.exit_code == 2, result.stderr
    assert "Plan: 1 to add, 0 to change, 0 to delete." in result.stdout


def test_a_404_on_the_first_request_names_the_base_url(sandbox, tmp_path, monkeypatch):
    ws = sandbox.new_workspace(owner="owner@x.example")
    monkeypatch.setenv("WSCFG_TOKEN", ws.key)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ws.yaml"
    path.write_text(f"version: 1\nworkspace: {{slug: {ws.slug}}}\n")
    base = sandbox.url + "/api"
    result = invoke("plan", "--server", base + "/v1", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: 404 Not Found: no such resource (nothing at {base} has answered yet: is it "
        f"the API's base URL? wscfg sends {base}/v1/…; give the server as `wscfg sandbox "
        "serve` prints it, e.g. --server http://127.0.0.1:8787/v1) "
        f"(GET {base}/v1/workspaces)\n"
    )
