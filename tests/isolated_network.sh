#!/usr/bin/env bash
# Runs a command (the test suite) in a network namespace of its own, so that nothing it
# starts can send a packet off this machine: the namespace has loopback and one veth
# pair carrying a test-host address (an IPv6 unique-local one), and no route anywhere
# else. WebRTC clients (the LiveKit SDK in the voice worker and the test client,
# Chromium) never bind the loopback interface, so they reach the LiveKit server from
# that address; over IPv4 between a loopback server and a veth client, the SDK's ICE
# checks were seen to fail, over IPv6 on the veth they connect.
#
# Needs root (CI runs as root). Otherwise the command runs as it is, with a notice.
set -euo pipefail
if [ "${BUTLER_TEST_NETNS:-}" = 1 ]; then  # already inside
  exec "$@"
fi
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  echo "note: not root (or no unshare/ip): tests run in this machine's network namespace" >&2
  exec "$@"
fi
export BUTLER_TEST_NETNS=1
exec unshare --net -- bash -c '
  set -e
  ip link set lo up
  ip link add butler-test0 type veth peer name butler-test1
  ip addr add fd00:b7::1/64 dev butler-test0 nodad
  ip link set butler-test0 up
  ip link set butler-test1 up
  exec "$@"
' isolated "$@"
