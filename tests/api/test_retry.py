"""Unit tests of the pure retry policy: Retry-After parsing, backoff bounds, budget, eligibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wscfg.api.retry import RetryBudget, RetryPolicy, is_retryable_request, parse_retry_after

NOW = datetime(2024, 11, 6, 8, 49, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        ("  120 ", 120.0),
        ("1.5", 1.5),
        ("Wed, 06 Nov 2024 08:49:37 GMT", 7.0),  # IMF-fixdate
        ("Wednesday, 06-Nov-24 08:49:40 GMT", 10.0),  # RFC 850
        ("Wed Nov  6 08:49:45 2024", 15.0),  # asctime
        ("Wed, 06 Nov 2024 08:00:00 GMT", 0.0),  # in the past: no wait
    ],
)
def test_parse_retry_after_accepts_seconds_and_http_dates(value, expected):
    assert parse_retry_after(value, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value", [None, "", "   ", "-5", "soon", "12abc", "inf", "NaN", "x" * 100, "Wed, 99 Foo"]
)
def test_parse_retry_after_rejects_garbage(value):
    assert parse_retry_after(value, now=NOW) is None


def test_huge_delta_seconds_means_give_up():
    huge = parse_retry_after("9" * 40, now=NOW)
    assert huge is not None and huge > 1e30
    assert RetryPolicy().delay(1, huge) is None


@pytest.mark.parametrize("retry", [1, 2, 3, 4, 5, 8, 20, 100])
def test_full_jitter_backoff_stays_within_bounds(retry):
    lo = RetryPolicy(random=lambda: 0.0)
    hi = RetryPolicy(random=lambda: 0.999999)
    ceiling = min(10.0, 0.2 * 2 ** (retry - 1))
    assert lo.backoff(retry) == 0.0
    assert hi.backoff(retry) == pytest.approx(ceiling, rel=1e-5)
    assert hi.backoff(retry) <= 10.0


def test_backoff_is_random_across_the_whole_range():
    import random

    rng = random.Random(42)
    policy = RetryPolicy(random=rng.random)
    samples = [policy.backoff(3) for _ in range(2000)]  # ceiling 0.8 s
    assert min(samples) < 0.05 and max(samples) > 0.75
    assert all(0 <= s <= 0.8 for s in samples)


def test_backoff_parameters_are_configurable():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=3.0, random=lambda: 1.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]


def test_retry_after_is_honoured_never_shortened_and_capped():
    policy = RetryPolicy(retry_after_cap=30, backoff_base=0.2, random=lambda: 0.5)
    assert policy.delay(1, 5.0) == pytest.approx(5.1)  # at least what was asked + jitter
    assert policy.delay(1, 30.0) == pytest.approx(30.1)
    assert policy.delay(1, 31.0) is None  # more than the cap: give up, don't come back early
    assert policy.delay(1, float("inf")) is None
    assert policy.delay(2, None) == pytest.approx(0.2)  # no Retry-After: backoff


def test_policy_validates_its_parameters():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(backoff_base=-1)
    with pytest.raises(ValueError):
        RetryPolicy(budget_ratio=-0.1)


def test_policy_reads_http_dates_against_its_clock():
    policy = RetryPolicy(now=lambda: NOW)
    later = (NOW + timedelta(seconds=42)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert policy.retry_after(later) == pytest.approx(42)


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, True),
        ("HEAD", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("PATCH", {}, False),
        ("PATCH", {"If-Match": '"abc"'}, True),
        ("POST", {}, False),
        ("POST", {"Idempotency-Key": "k"}, True),
        ("post", {"idempotency-key": "k"}, True),
    ],
)
def test_only_idempotent_requests_are_retryable(method, headers, expected):
    assert is_retryable_request(method, headers) is expected


def test_retry_budget_allows_floor_plus_ratio_of_requests():
    budget = RetryBudget(ratio=0.2, floor=2)
    assert budget.try_spend() and budget.try_spend()
    assert not budget.try_spend()  # floor spent, no requests yet
    for _ in range(10):
        budget.record_request()
    assert budget.try_spend() and budget.try_spend()  # 10 requests * 0.2 = 2 more
    assert not budget.try_spend()
    assert budget.retries == 4
    assert "remaining" in repr(budget)
