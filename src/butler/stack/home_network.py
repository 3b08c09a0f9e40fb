"""Serving the home network (`butler serve --lan`): this machine's address there, and
the settings that put the app, the API and voice on it over HTTPS."""

from __future__ import annotations

import ipaddress
import socket

from butler.config import Settings
from butler.errors import ConfigError

# Private destinations whose route shows which local address faces the home network.
# Connecting a UDP socket only chooses a route: no packet is sent.
_PROBES = ((socket.AF_INET, "10.255.255.255"), (socket.AF_INET6, "fd00::1"))


def bracketed(address: str) -> str:
    """An address as it goes before ":port" (IPv6 in brackets, or clients reject it)."""
    return f"[{address}]" if ":" in address else address


def home_address() -> str:
    for family, destination in _PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((destination, 9))
                address = str(probe.getsockname()[0])
        except OSError:
            continue
        if not ipaddress.ip_address(address).is_loopback:
            return address
    raise ConfigError(
        "Could not tell this machine's address on the home network. Give it: "
        "butler serve --lan 192.168.1.20 (see `ip address` for yours)."
    )


def on_home_network(settings: Settings, address: str) -> tuple[Settings, str]:
    """The settings to serve `address` ("auto": the one found) with a local
    certificate and media offered at that address; and the host to listen on."""
    chosen = home_address() if address == "auto" else address.strip("[]")
    try:
        parsed = ipaddress.ip_address(chosen)
    except ValueError:
        raise ConfigError(
            f"--lan takes this machine's IP address on the home network, not {address!r}."
        ) from None
    if parsed.is_loopback or parsed.is_unspecified:
        raise ConfigError(
            f"--lan needs this machine's address on the home network; {chosen} is not one."
        )
    updated = settings.model_copy(
        update={
            "server": settings.server.model_copy(update={"tls": "local"}),
            "livekit": settings.livekit.model_copy(update={"node_ip": chosen}),
        }
    )
    # IPv4: every address (the local children use 127.0.0.1). IPv6: that address, as
    # asyncio's "::" would refuse IPv4 and so the children.
    host = chosen if parsed.version == 6 else "0.0.0.0"  # noqa: S104 (the point of --lan)
    return updated, host
