"""The embedded PostgreSQL's supervisor: restart what died, back off, then give up loudly."""

from __future__ import annotations

import logging

import pytest

from butler.db.supervisor import RestartPolicy, Supervisor


class World:
    """A server that can be killed and started, with a clock the test moves."""

    def __init__(self, *, starts_fail: int = 0) -> None:
        self.up = True
        self.now = 0.0
        self.starts = 0
        self.starts_fail = starts_fail
        self.gave_up: list[str] = []

    def start(self) -> None:
        self.starts += 1
        if self.starts <= self.starts_fail:
            raise OSError("shared memory block still in use")
        self.up = True

    def supervisor(self, policy: RestartPolicy) -> Supervisor:
        return Supervisor(
            lambda: self.up,
            self.start,
            self.gave_up.append,
            what="The embedded PostgreSQL",
            policy=policy,
            clock=lambda: self.now,
        )


def test_a_dead_server_is_started_again_and_a_live_one_left_alone() -> None:
    world = World()
    supervisor = world.supervisor(RestartPolicy())
    supervisor.check()
    assert world.starts == 0
    world.up = False
    supervisor.check()
    assert world.up and world.starts == 1
    assert not world.gave_up


def test_a_failed_start_is_retried_after_a_growing_wait() -> None:
    world = World(starts_fail=2)
    world.up = False
    supervisor = world.supervisor(RestartPolicy(max_restarts=10))
    supervisor.check()
    assert world.starts == 1 and not world.up
    world.now += 1.0  # the first wait is 2 s
    supervisor.check()
    assert world.starts == 1
    world.now += 1.5
    supervisor.check()
    assert world.starts == 2 and not world.up
    world.now += 3.0  # the second wait is 4 s
    supervisor.check()
    assert world.starts == 2
    world.now += 1.5
    supervisor.check()
    assert world.starts == 3 and world.up


def test_a_server_that_keeps_dying_is_given_up_with_a_fatal_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World()
    supervisor = world.supervisor(RestartPolicy(max_restarts=3, window_seconds=600))
    for _ in range(3):
        world.up = False
        supervisor.check()
        assert world.up
        world.now += 60
    world.up = False
    with caplog.at_level(logging.CRITICAL):
        supervisor.check()
    assert world.starts == 3 and not world.up
    assert supervisor.gave_up
    assert len(world.gave_up) == 1 and "3 times" in world.gave_up[0]
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    supervisor.check()  # once given up, nothing more is tried or reported
    assert world.starts == 3 and len(world.gave_up) == 1


def test_restarts_older_than_the_window_do_not_count() -> None:
    world = World()
    supervisor = world.supervisor(RestartPolicy(max_restarts=2, window_seconds=600))
    for _ in range(6):
        world.up = False
        supervisor.check()
        assert world.up
        world.now += 400  # two deaths are never within ten minutes of a third
    assert world.starts == 6 and not world.gave_up
