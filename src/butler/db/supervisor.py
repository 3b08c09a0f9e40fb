"""Keeps the embedded PostgreSQL running for as long as `butler serve` runs.

A killed or crashed postmaster is started again within seconds; requests meanwhile
answer 503 database_unavailable (see db.pool.connection). A server that keeps dying is
not restarted forever: after `max_restarts` in `window_seconds` the supervisor logs why it
gives up and asks the process to stop, so a service manager (or the person at the
terminal) sees a stopped Butler with a reason instead of one that answers 503 for ever.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    check_seconds: float = 1.0
    max_restarts: int = 5
    window_seconds: float = 600.0
    longest_wait_seconds: float = 30.0  # between failed start attempts


class Supervisor:
    """One check at a time (`check`), run every `check_seconds` by `running()`."""

    def __init__(
        self,
        alive: Callable[[], bool],
        start: Callable[[], None],
        give_up: Callable[[str], None],
        *,
        what: str,
        policy: RestartPolicy = RestartPolicy(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._alive = alive
        self._start = start
        self._give_up = give_up
        self._what = what
        self._policy = policy
        self._clock = clock
        self._restarts: deque[float] = deque()
        self._failed_starts = 0
        self._not_before = 0.0
        self.gave_up = False

    def check(self) -> None:
        now = self._clock()
        if self.gave_up or now < self._not_before or self._alive():
            return
        while self._restarts and now - self._restarts[0] > self._policy.window_seconds:
            self._restarts.popleft()
        if len(self._restarts) >= self._policy.max_restarts:
            self._stop_trying(now)
            return
        self._restarts.append(now)
        attempt = len(self._restarts)
        log.warning(
            "%s is not running; starting it again (restart %d of at most %d in %d min)",
            self._what,
            attempt,
            self._policy.max_restarts,
            self._policy.window_seconds // 60,
        )
        try:
            self._start()
        except Exception as exc:
            self._failed_starts += 1
            wait = min(2.0**self._failed_starts, self._policy.longest_wait_seconds)
            self._not_before = now + wait
            log.error("%s did not start (%s); trying again in %.0f s", self._what, exc, wait)
            return
        self._failed_starts = 0
        log.warning("%s is running again", self._what)

    def _stop_trying(self, now: float) -> None:
        self.gave_up = True
        reason = (
            f"{self._what} was started again {len(self._restarts)} times in "
            f"{(now - self._restarts[0]) / 60:.0f} min and is down again; not restarting it"
        )
        log.critical("%s. Butler is stopping.", reason)
        self._give_up(reason)

    @contextlib.contextmanager
    def running(self) -> Iterator[Supervisor]:
        """Check in a background thread until the block ends."""
        stopping = threading.Event()

        def loop() -> None:
            while not stopping.wait(self._policy.check_seconds):
                try:
                    self.check()
                except Exception:  # a bug here must not end supervision silently
                    log.exception("checking %s failed", self._what)

        thread = threading.Thread(target=loop, name="postgres-supervisor", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stopping.set()
            thread.join(timeout=10)
