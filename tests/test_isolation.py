"""`make test` runs the suite in its own network namespace (tests/isolated_network.sh):
nothing a test starts can reach an address off this machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("isolated_network.sh")


def test_the_isolation_script_leaves_no_route_off_this_machine() -> None:
    if os.environ.get("CI") == "true":
        assert os.environ.get("BUTLER_TEST_NETNS") == "1", "CI runs pytest isolated"
    env = {k: v for k, v in os.environ.items() if k != "BUTLER_TEST_NETNS"}
    routes = subprocess.run(
        [str(SCRIPT), "sh", "-c", "ip -4 route; ip -6 route"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    if os.geteuid() != 0:  # no namespace without root: it must say so
        assert "not root" in routes.stderr
        return
    lines = routes.stdout.splitlines()
    assert not any(line.startswith("default") for line in lines), lines
    # Only the test host's own /64 on the veth: nothing routes anywhere else.
    assert lines and all(
        line.startswith("fd00:b7::/64") or "fe80::/64" in line for line in lines
    ), lines
