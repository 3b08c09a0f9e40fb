"""Keeping one child process alive: start, probe, restart with back-off, stop cleanly.

Each child runs in a session of its own, so a stop signals its whole process group and
no grandchild outlives it. A child that keeps dying while it starts turns `fatal` after
a few tries (a bad binary or config will not fix itself); one that dies after it was
healthy is restarted, waiting min(tries, 5) seconds. Health is a real probe (an HTTP
request), never "the pid exists". The pid is kept in a file, so a run that was killed
outright has its leftovers stopped by the next one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# A child that stayed up this long has its back-off start again from one second.
STABLE_SECONDS = 30.0


class State(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    FATAL = "fatal"


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    pid_path: Path
    healthy: Callable[[], bool]
    startup_seconds: float = 30.0
    # Tries that die before ever turning healthy, then `fatal`.
    startup_tries: int = 3
    stop_seconds: float = 10.0
    probe_interval: float = 0.2


@dataclass(frozen=True)
class Status:
    name: str
    state: State
    pid: int | None
    restarts: int
    detail: str = ""


@dataclass
class _Run:
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    failed_starts: int = 0
    # Restarts since the child last stayed up for a while: sets the back-off.
    streak: int = 0
    detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class SupervisedProcess:
    """One child, watched by a thread of its own."""

    def __init__(
        self,
        spec: ChildSpec,
        *,
        max_backoff: float = 5.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self._on_change = on_change
        self._max_backoff = max_backoff
        self._state = State.STOPPED
        self._run = _Run()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log: IO[bytes] | None = None

    # -- what others see ------------------------------------------------------------

    def status(self) -> Status:
        with self._lock:
            process = self._run.process
            return Status(
                self.spec.name,
                self._state,
                process.pid if process and process.poll() is None else None,
                self._run.restarts,
                self._run.detail,
            )

    def wait_until(self, states: set[State], timeout: float) -> State:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.status().state
            if state in states:
                return state
            time.sleep(0.05)
        return self.status().state

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        stop_leftover(self.spec.pid_path, self.spec.name)
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.spec.log_path.open("ab")
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{self.spec.name}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._state = State.STOPPING
            process = self._run.process
        if process is not None:
            terminate_group(process, self.spec.stop_seconds)
        if self._thread is not None:
            self._thread.join(timeout=self.spec.stop_seconds + 5)
        with self._lock:
            self._state = State.STOPPED
            self._run.process = None
        with contextlib.suppress(FileNotFoundError):
            self.spec.pid_path.unlink()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _set(self, state: State, detail: str = "") -> None:
        with self._lock:
            if self._state is State.STOPPING and state is not State.STOPPED:
                return
            self._state = state
            self._run.detail = detail
        if self._on_change is not None:
            self._on_change()

    def _spawn(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
            list(self.spec.argv),
            env=dict(self.spec.env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop reaches grandchildren
        )
        self.spec.pid_path.parent.mkdir(parents=True, exist_ok=True)
        self.spec.pid_path.write_text(f"{process.pid}\n{self.spec.argv[0]}\n")
        with self._lock:
            self._run.process = process
        return process

    def _watch(self) -> None:
        spec = self.spec
        while not self._stop.is_set():
            self._set(State.STARTING)
            try:
                process = self._spawn()
            except OSError as exc:
                self._set(State.FATAL, f"cannot start {spec.argv[0]}: {exc.strerror}")
                log.error("%s: cannot start %s: %s", spec.name, spec.argv[0], exc)
                return
            became_healthy = self._await_health(process)
            if self._stop.is_set():
                return
            if became_healthy:
                self._run.failed_starts = 0
                self._set(State.RUNNING)
                log.info("%s is running (pid %d)", spec.name, process.pid)
                healthy_since = time.monotonic()
                while process.poll() is None and not self._stop.wait(spec.probe_interval):
                    pass
                if self._stop.is_set():
                    return
                if time.monotonic() - healthy_since > STABLE_SECONDS:
                    self._run.streak = 0
                detail = f"exited with status {process.returncode}"
            else:
                terminate_group(process, spec.stop_seconds)
                self._run.failed_starts += 1
                detail = (
                    f"exited with status {process.returncode} while starting"
                    if process.returncode not in (None, -signal.SIGTERM, -signal.SIGKILL)
                    else f"not healthy within {spec.startup_seconds:.0f} s"
                )
                if self._run.failed_starts >= spec.startup_tries:
                    self._set(
                        State.FATAL,
                        f"{detail}, {self._run.failed_starts} times; see {spec.log_path}",
                    )
                    log.error("%s gave up: %s; its log is %s", spec.name, detail, spec.log_path)
                    return
            self._run.restarts += 1
            self._run.streak += 1
            delay = min(float(self._run.streak), self._max_backoff)
            self._set(State.BACKOFF, f"{detail}; restarting in {delay:.0f} s")
            log.warning("%s %s; restarting in %.0f s", spec.name, detail, delay)
            if self._stop.wait(delay):
                return

    def _await_health(self, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + self.spec.startup_seconds
        while time.monotonic() < deadline and not self._stop.is_set():
            if process.poll() is not None:
                return False
            if _safe_probe(self.spec.healthy):
                return True
            self._stop.wait(self.spec.probe_interval)
        return False


def _safe_probe(probe: Callable[[], bool]) -> bool:
    try:
        return probe()
    except Exception:  # a probe that breaks means "not healthy", never a dead supervisor
        return False


def terminate_group(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """SIGTERM the child's process group, wait, then SIGKILL it; always reap the child."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        log.warning("pid %d did not stop in %.0f s; killing it", process.pid, grace_seconds)
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    # Grandchildren may still hold the group after the leader went: end them too.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_leftover(pid_path: Path, name: str) -> None:
    """Stop what a previous, killed run left behind (its pid file names it)."""
    try:
        pid_text, _, program = pid_path.read_text().partition("\n")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return
    program = program.strip()
    if pid > 1 and _runs(pid, program):
        log.warning("stopping a leftover %s (pid %d) from an earlier run", name, pid)
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _runs(pid, program):
            time.sleep(0.05)
        _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        pid_path.unlink()


def _runs(pid: int, program: str) -> bool:
    """Is `pid` alive and still the program we started (not a reused pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (FileNotFoundError, ProcessLookupError, UnicodeDecodeError):
        return False
    return bool(program) and cmdline == program
