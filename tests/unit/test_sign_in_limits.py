"""The slow-down for a username that many addresses fail at: it grows, it is capped,
and it never starts before the per-pair limit."""

from butler.auth.accounts import MAX_SPRAY_DELAY, spray_delay


def test_no_wait_until_the_per_pair_limit() -> None:
    assert [spray_delay(n, 10) for n in (0, 5, 10)] == [0, 0, 0]


def test_the_wait_grows_then_stops_growing() -> None:
    waits = [spray_delay(n, 10) for n in range(11, 60)]
    assert waits == sorted(waits) and waits[0] > 0
    assert max(waits) == MAX_SPRAY_DELAY == spray_delay(10_000, 10)
