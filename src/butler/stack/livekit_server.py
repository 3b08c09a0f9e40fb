"""The embedded LiveKit server: where its binary is, and its loopback-only configuration.

The binary is the official open-source server built from its Go module at a pinned
release (`make livekit` puts it in the project's `.tools/`), a `livekit-server` on
PATH, or the path in BUTLER_LIVEKIT__SERVER_BINARY.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from butler.config import LiveKitSettings
from butler.errors import ConfigError
from butler.stack.home_network import bracketed

LIVEKIT_VERSION = "v1.13.5"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
TOOLS_BINARY = PROJECT_ROOT / ".tools" / f"livekit-server-{LIVEKIT_VERSION}"

INSTALL_HINT = (
    "Voice needs the LiveKit server. With Go 1.23+ installed, run `make livekit` in the "
    "Butler folder (it builds the official server, "
    f"github.com/livekit/livekit-server {LIVEKIT_VERSION}, into .tools/), or install "
    "livekit-server from LiveKit's releases and put it on PATH (or set "
    "BUTLER_LIVEKIT__SERVER_BINARY), then restart Butler. "
    "Or point BUTLER_LIVEKIT__URL at a LiveKit server you run yourself."
)


def find_binary(settings: LiveKitSettings) -> Path:
    """The livekit-server to run, or ConfigError saying how to get one."""
    if settings.server_binary is not None:
        if os.access(settings.server_binary, os.X_OK):
            return settings.server_binary
        raise ConfigError(
            f"BUTLER_LIVEKIT__SERVER_BINARY is {settings.server_binary}, which is not an "
            "executable file."
        )
    if os.access(TOOLS_BINARY, os.X_OK):
        return TOOLS_BINARY
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    raise ConfigError(INSTALL_HINT)


def server_config(
    settings: LiveKitSettings, *, api_key: str, api_secret: str, webhook_url: str | None
) -> str:
    """livekit-server's YAML (JSON is YAML), for this machine only unless told otherwise.

    External-IP discovery is off and the node IP is given, so the server's own ICE agent
    asks no STUN server where it is. With no STUN server configured it would hand
    clients public ones (Google's, Twilio's), so it gets Butler's own list, or else its
    own UDP port: an address of the node that answers nothing, which leaves clients
    their host candidates, and those connect on one machine and a home network.

    Signalling listens on 127.0.0.1 only, also when serving the home network: browsers
    reach it through Butler's own origin (api/routes/livekit_relay.py). The media
    ports listen on the machine's addresses but offer only the node IP: WebRTC clients
    never bind the loopback interface, so a client on this machine reaches 127.0.0.1
    from one of its own addresses, and the reply goes back there; nothing leaves the
    machine.
    """
    stun = [s.removeprefix("stun:") for s in settings.ice_servers if s.startswith("stun:")]
    loopback = settings.node_ip == "127.0.0.1"
    rtc: dict[str, object] = {
        "udp_port": settings.rtc_udp_port,
        "node_ip": settings.node_ip,
        "use_external_ip": False,
        "stun_servers": stun or [f"{bracketed(settings.node_ip)}:{settings.rtc_udp_port}"],
    }
    if loopback:
        # The ICE-over-TCP listener cannot be bound to one address, so on loopback (where
        # UDP always works) there is none.
        rtc["enable_loopback_candidate"] = True
        rtc["tcp_port"] = 0
    else:
        rtc["tcp_port"] = settings.rtc_tcp_port
    config: dict[str, object] = {
        "port": settings.port,
        "bind_addresses": ["127.0.0.1"],
        "keys": {api_key: api_secret},
        "rtc": rtc,
        # Rooms are made by the API (with the butler dispatched): a client rejoining a
        # room the server no longer has (it restarted) is refused, and the app asks
        # for a new room instead of waiting in an empty one.
        "room": {"empty_timeout": 120, "departure_timeout": 1, "auto_create": False},
        "logging": {"level": "info"},
    }
    if webhook_url:
        config["webhook"] = {"api_key": api_key, "urls": [webhook_url]}
    return json.dumps(config, indent=2)
