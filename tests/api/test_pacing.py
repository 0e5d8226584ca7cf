"""The run's one request budget (wscfg.api.pacing): the RateLimit fields it reads and the
token bucket every request waits on. Pure logic on a hand-moved clock; the behaviour against a
rate-limited sandbox is in tests/cli/test_rate_budget.py."""

from __future__ import annotations

import asyncio

import pytest

from wscfg.api.pacing import Pacer, parse_policy, parse_remaining


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ('"default";q=20;w=1', (20.0, 20)),
        ('"burst";q=100;w=60, "daily";q=1000;w=86400', (1000 / 86400, 1000)),
        ("default;q=40;w=2", (20.0, 40)),  # a Token identifier (earlier drafts)
        ('"d";q=10', (10.0, 10)),  # no window: one second
        ('"d";q=10;w=1;qu="content-bytes"', None),  # not requests
        ('"d";q=0;w=1', None),
        ('"d";q=-5;w=1', None),
        ('"d";q=5;w=0', None),
        ('"d";q=5.5;w=1', None),
        ('"d";q=5;w=999999', None),
        ("garbage;;", None),
        ("", None),
        (None, None),
        ("x" * 5000, None),
    ],
)
def test_parse_policy(value, want):
    assert parse_policy(value) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ('"default";r=12;t=1', 12),
        ('"a";r=12;t=1, "b";r=3;t=9', 3),
        ('"a";r=-1', None),
        ('"a";t=1', None),
        ("not a list;;", None),
        (None, None),
    ],
)
def test_parse_remaining(value, want):
    assert parse_remaining(value) == want


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(coro):
    return asyncio.run(coro)


def test_unpaced_without_a_limit_or_a_policy():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come

    async def go():
        for _ in range(100):
            await pacer.acquire()

    run(go())
    assert clock.sleeps == [] and pacer.rate is None


def test_rate_limit_option_paces_at_n_per_second_after_a_burst_of_n():
    clock = Clock()
    pacer = Pacer(5, clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come

    async def go():
        for _ in range(25):
            await pacer.acquire()

    run(go())
    # 5 at once, then one every 0.2 s: 20 more take 4 s
    assert clock.now - 100.0 == pytest.approx(4.0)


def test_advertised_policy_paces_under_the_server_rate_with_a_margin():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come
    pacer.observe({"ratelimit-policy": '"default";q=20;w=1'})

    async def go():
        for _ in range(15 + 190):
            await pacer.acquire()

    run(go())
    elapsed = clock.now - 100.0
    assert 190 / 20 < elapsed <= 190 / 20 / 0.94  # never faster than the server refills
    assert pacer.burst == 15  # a quarter of the burst is kept back for arrival jitter


def test_the_tighter_of_the_option_and_the_policy_wins():
    pacer = Pacer(2)
    pacer.heard()  # the run's first answer has come
    pacer.observe({"RateLimit-Policy": '"default";q=20;w=1'.lower()})
    assert pacer.rate == 2
    assert Pacer(50, clock=Clock()).rate == 50


def test_remaining_lowers_what_the_client_thinks_is_left():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come
    pacer.observe({"ratelimit-policy": '"d";q=10;w=1', "ratelimit": '"d";r=0;t=1'})

    async def go():
        return await pacer.acquire()

    waited = run(go())
    assert waited == pytest.approx(1 / 9.5)  # another client used the quota: wait a token


def test_hold_stops_every_request_until_the_retry_after():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come
    pacer.hold(3.0)

    async def go():
        return [await pacer.acquire() for _ in range(3)]

    waits = run(go())
    assert waits[0] == pytest.approx(3.0) and waits[1:] == [0.0, 0.0]


def test_concurrent_callers_are_served_in_order_one_slot_each():
    clock = Clock()

    async def nap(seconds: float) -> None:  # all callers arrive at the same instant
        await asyncio.sleep(0)

    pacer = Pacer(4, clock=clock, sleep=nap)
    pacer.heard()  # the run's first answer has come
    pacer.hold(0.0)  # an empty bucket

    async def go():
        return await asyncio.gather(*(pacer.acquire() for _ in range(8)))

    waits = run(go())
    assert waits == pytest.approx([0.25 * (i + 1) for i in range(8)])


def test_conditional_reads_answered_304_take_no_token():
    """An empty bucket of 1 a second: a hundred conditional reads answered 304 go at once;
    a plain read still waits for its token."""
    clock = Clock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come
    pacer.hold(0.0)  # an empty bucket

    async def go():
        waits = []
        for _ in range(100):
            waits.append(await pacer.acquire(conditional=True))
            pacer.settle(counted=False)  # 304
        return waits, await pacer.acquire()

    waits, plain = run(go())
    assert waits == [0.0] * 100
    assert plain == pytest.approx(1.0)


def test_a_conditional_read_answered_in_full_is_a_debt_the_next_requests_wait_out():
    clock = Clock()
    pacer = Pacer(2, clock=clock, sleep=clock.sleep)  # a burst of 2, 2 a second
    pacer.heard()  # the run's first answer has come
    pacer.hold(0.0)  # an empty bucket

    async def go():
        lent = [await pacer.acquire(conditional=True) for _ in range(2)]  # the debt room
        for _ in lent:
            pacer.settle(counted=True)  # both answered in full: the bucket holds -2
        return lent, await pacer.acquire(conditional=True), await pacer.acquire()

    lent, third, plain = run(go())
    assert lent == [0.0, 0.0]
    # -2 tokens: a third conditional read waits until the bucket, less it, is back at -2
    assert third == pytest.approx(0.5, abs=0.06)
    # a plain read waits for a whole token, the pending conditional read counted as spent
    assert plain == pytest.approx(1.5, abs=0.06)


def test_conditional_reads_answered_in_full_keep_to_the_rate_limit_option():
    """--rate-limit 2 and a server that advertises nothing: ten conditional reads all answered
    in full go no faster than 2 a second, after the burst and the debt lent (2 + 2)."""
    clock = Clock()
    pacer = Pacer(2, clock=clock, sleep=clock.sleep)
    pacer.heard()  # the run's first answer has come (it said nothing of a limit)

    async def go():
        for _ in range(10):
            await pacer.acquire(conditional=True)
            pacer.settle(counted=True)

    run(go())
    assert clock.now - 100.0 == pytest.approx(3.0, abs=0.06)


def test_conditional_reads_in_flight_are_bounded_by_the_debt_the_server_lends():
    """Concurrent conditional reads at an empty bucket, time standing still: as many go as the
    burst (the debt the server lends); the next waits until one of them is settled."""
    clock = Clock()

    async def nap(seconds: float) -> None:  # time stands still; others may run
        await asyncio.sleep(0)

    pacer = Pacer(3, clock=clock, sleep=nap)
    pacer.heard()  # the run's first answer has come
    pacer.hold(0.0)  # an empty bucket

    async def go():
        first = [await pacer.acquire(conditional=True) for _ in range(3)]
        late = asyncio.ensure_future(pacer.acquire(conditional=True))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not late.done()  # waiting: three are pending at an empty bucket
        pacer.settle(counted=False)  # one of them was a 304
        return first, await late

    first, late = run(go())
    assert first == [0.0, 0.0, 0.0]
    assert late > 0  # it waited, then went when it looked again


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(ValueError, match="positive number of requests per second"):
        Pacer(bad)


def test_nothing_else_goes_out_before_the_first_answer():
    """The first answer may carry the policy: until it comes, one request at a time."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    order: list[str] = []

    async def request(name: str, answer: dict[str, str] | None) -> None:
        await pacer.acquire()
        order.append(name)
        if answer is not None:
            await asyncio.sleep(0)
            pacer.observe(answer)
            pacer.heard()

    async def go():
        first = asyncio.ensure_future(request("first", {"ratelimit-policy": '"d";q=4;w=1'}))
        others = [asyncio.ensure_future(request(f"r{i}", None)) for i in range(6)]
        await asyncio.gather(first, *others)

    run(go())
    assert order[0] == "first"
    # the others were paced by the policy the first answer brought: 3 at once (a quarter of 4
    # kept back), then one every 1 / 3.8 s
    assert clock.now - 100.0 == pytest.approx(3 / 3.8)


def test_a_policy_slower_than_the_client_waits_is_not_paced_to():
    """A daily quota (or 7 requests per 700 s) would hold each request longer than the 30 s
    a Retry-After may ask: the run does not crawl at it; the server's 429 tells instead."""
    pacer = Pacer(min_rate=1 / 30)
    pacer.observe({"ratelimit-policy": '"d";q=7;w=700'})
    assert pacer.rate is None and pacer.advertised is None
    pacer.observe({"ratelimit-policy": '"d";q=2;w=1'})
    assert pacer.rate == pytest.approx(1.9)
