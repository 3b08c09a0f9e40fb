"""CI runs the suite in its own network namespace (tests/isolated_network.sh): nothing
a test starts can reach an address off this machine."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("BUTLER_TEST_NETNS") != "1",
    reason="outside CI, `make test` isolates the network only when run as root",
)
def test_the_suite_runs_without_a_route_off_this_machine() -> None:
    assert os.environ.get("BUTLER_TEST_NETNS") == "1", "make test runs pytest isolated"
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True)
    assert routes.stdout.strip() == "", routes.stdout
    v6 = subprocess.run(["ip", "-6", "route"], capture_output=True, text=True, check=True)
    assert "default" not in v6.stdout, v6.stdout
