"""The supervisor with real child processes (small Python programs): health by probe,
restart with back-off, `fatal` after repeated start-up crashes, a stop that reaches
grandchildren, and leftovers of a killed run stopped by the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from butler.stack.supervisor import ChildSpec, State, SupervisedProcess, stop_leftover


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_for_exec(pid: int, program: str) -> None:
    """Until the new process runs `program` (just after fork it shows ours)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(program.encode() + b"\0"):
            return
        time.sleep(0.01)


def _spec(tmp_path: Path, code: str, healthy: Callable[[], bool], **kw: object) -> ChildSpec:
    return ChildSpec(
        name="child",
        argv=[sys.executable, "-c", code],
        env=dict(os.environ),
        log_path=tmp_path / "child.log",
        pid_path=tmp_path / "child.pid",
        healthy=healthy,
        **kw,  # type: ignore[arg-type]
    )


def _marker_probe(marker: Path) -> Callable[[], bool]:
    return marker.exists


def test_a_healthy_child_that_crashes_is_restarted(tmp_path: Path) -> None:
    marker = tmp_path / "up"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    child = SupervisedProcess(_spec(tmp_path, code, _marker_probe(marker)), max_backoff=0.2)
    child.start()
    try:
        assert child.wait_until({State.RUNNING}, 20) is State.RUNNING
        first = child.status().pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = child.status()
            if status.state is State.RUNNING and status.pid not in (None, first):
                break
            time.sleep(0.05)
        status = child.status()
        assert status.state is State.RUNNING and status.pid != first
        assert status.restarts == 1
        assert int((tmp_path / "child.pid").read_text().split()[0]) == status.pid
    finally:
        child.stop()
    assert child.status().state is State.STOPPED
    assert not (tmp_path / "child.pid").exists()


def test_a_child_that_never_gets_healthy_turns_fatal_and_says_why(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path, "import sys; print('bad config'); sys.exit(3)", lambda: False, startup_tries=3
    )
    child = SupervisedProcess(spec, max_backoff=0.1)
    child.start()
    try:
        assert child.wait_until({State.FATAL}, 20) is State.FATAL
        detail = child.status().detail
        assert "exited with status 3 while starting, 3 times" in detail
        assert str(tmp_path / "child.log") in detail
        assert "bad config" in (tmp_path / "child.log").read_text()
    finally:
        child.stop()


def test_stop_ends_the_child_and_its_grandchildren(tmp_path: Path) -> None:
    marker = tmp_path / "up"
    grandchild_pid = tmp_path / "grandchild.pid"
    code = (
        "import pathlib, subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"pathlib.Path({str(grandchild_pid)!r}).write_text(str(g.pid))\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "time.sleep(120)\n"
    )
    child = SupervisedProcess(_spec(tmp_path, code, _marker_probe(marker), stop_seconds=2))
    child.start()
    assert child.wait_until({State.RUNNING}, 20) is State.RUNNING
    pid = child.status().pid
    assert pid is not None
    grandchild = int(grandchild_pid.read_text())
    child.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (_alive(pid) or _alive(grandchild)):
        time.sleep(0.05)
    assert not _alive(pid)
    assert not _alive(grandchild), "the grandchild outlived the stop"


def test_a_leftover_from_a_killed_run_is_stopped_but_a_reused_pid_is_not(tmp_path: Path) -> None:
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    _wait_for_exec(leftover.pid, sys.executable)
    pid_file = tmp_path / "child.pid"
    pid_file.write_text(f"{leftover.pid}\n{sys.executable}\n")
    stop_leftover(pid_file, "child")
    assert leftover.wait(timeout=10) is not None
    assert not pid_file.exists()

    # A pid file naming another program (the pid was reused) leaves that process alone.
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    _wait_for_exec(bystander.pid, "sleep")
    try:
        pid_file.write_text(f"{bystander.pid}\n{sys.executable}\n")
        stop_leftover(pid_file, "child")
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_missing_program_is_fatal_at_once(tmp_path: Path) -> None:
    spec = ChildSpec(
        name="child",
        argv=[str(tmp_path / "no-such-program")],
        env={},
        log_path=tmp_path / "child.log",
        pid_path=tmp_path / "child.pid",
        healthy=lambda: True,
    )
    child = SupervisedProcess(spec)
    child.start()
    try:
        assert child.wait_until({State.FATAL}, 5) is State.FATAL
        assert "cannot start" in child.status().detail
    finally:
        child.stop()
