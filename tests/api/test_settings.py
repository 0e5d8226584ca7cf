"""WSCFG_SERVER / --server / WSCFG_TOKEN."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wscfg.api.settings import server_from_env, validate_base_url
from wscfg.errors import SetupError

from .helpers import TOKEN


def test_no_server_means_embedded():
    assert server_from_env(None, {}) is None
    assert server_from_env("", {"WSCFG_TOKEN": TOKEN}) is None


def test_flag_wins_over_environment():
    env = {"WSCFG_SERVER": "https://env.example", "WSCFG_TOKEN": TOKEN}
    assert server_from_env("https://flag.example/", env).url == "https://flag.example"
    assert server_from_env(None, env).url == "https://env.example"


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://127.0.0.1:8787/v1", "http://127.0.0.1:8787"),
        ("http://127.0.0.1:8787/v1/", "http://127.0.0.1:8787"),
        ("https://api.example/prefix/v1", "https://api.example/prefix"),
        ("https://api.example/xv1", "https://api.example/xv1"),
        ("https://v1", "https://v1"),
    ],
)
def test_a_trailing_v1_is_the_same_server(given, base):
    assert validate_base_url(given) == base


def test_server_without_token_is_a_clear_setup_error():
    with pytest.raises(SetupError, match="WSCFG_TOKEN is not set"):
        server_from_env("https://api.example", {})


def test_settings_never_show_the_token():
    s = server_from_env(None, {"WSCFG_SERVER": "http://127.0.0.1:8000", "WSCFG_TOKEN": TOKEN})
    assert s is not None and s.token == TOKEN
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert not s.plaintext
    assert server_from_env("http://api.example", {"WSCFG_TOKEN": TOKEN}).plaintext
    assert not server_from_env("https://api.example", {"WSCFG_TOKEN": TOKEN}).plaintext


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("ftp://x.example", "http:// or https://"),
        ("api.example", "http:// or https://"),
        ("http://", "no host"),
        ("http://x.example:99999", "valid host and port"),
        ("https://x.example/?q=1", "no query"),
    ],
)
def test_bad_server_urls(url, match):
    with pytest.raises(SetupError, match=match):
        validate_base_url(url)


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(SetupError) as info:
        validate_base_url("https://user:hunter2@api.example")
    assert "hunter2" not in str(info.value)
    with pytest.raises(SetupError) as info:
        validate_base_url("https://api.example/?token=hunter2")
    assert "hunter2" not in str(info.value)


def test_bad_tokens_are_refused_without_echoing_them():
    with pytest.raises(SetupError) as info:
        server_from_env("https://api.example", {"WSCFG_TOKEN": "abc def\n"})
    assert "abc" not in str(info.value)


def test_settings_module_does_not_import_httpx():
    code = "import sys, wscfg.api.settings; assert 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
