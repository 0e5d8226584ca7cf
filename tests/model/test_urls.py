"""The one webhook URL rule (wscfg.model.urls), driven by the hostile URL table."""

from __future__ import annotations

import pytest

from corpus.hostile_urls import ACCEPTED, HOSTILE
from wscfg.model.urls import URLRefused, check_public_https, normalize_host


@pytest.mark.parametrize(("url", "message"), sorted(HOSTILE.items()))
def test_hostile_url_is_refused_with_its_reason(url: str, message: str) -> None:
    with pytest.raises(URLRefused) as exc:
        check_public_https(url)
    assert str(exc.value) == message


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_url_is_kept_as_written(url: str) -> None:
    assert check_public_https(url) == url


@pytest.mark.parametrize(
    ("host", "normal"),
    [
        ("HOOKS.Example.COM.", "hooks.example.com"),
        ("１２７.０.０.１", "127.0.0.1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_hosts_are_normalized_before_they_are_judged(host: str, normal: str) -> None:
    assert normalize_host(host) == normal
