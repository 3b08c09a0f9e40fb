"""Which push endpoints Butler will send to.

A push subscription is an address the browser hands over, and Butler POSTs to it: an
account could otherwise point it at the server's own networks (a router's admin page,
a cloud metadata address, Butler's own database port). Endpoints are checked when
subscribed and again before each send (a name may resolve elsewhere by then): only
`https` in production, and never a host whose addresses are not public.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from butler.errors import InvalidInput

MAX_ENDPOINT = 2048


async def check_endpoint(url: str, *, production: bool, allow_private: bool) -> None:
    """InvalidInput with the reason when Butler must not send to `url`."""
    if len(url) > MAX_ENDPOINT:
        raise InvalidInput(f"endpoint must be at most {MAX_ENDPOINT} characters")
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidInput(f"endpoint must be an {' or '.join(allowed)} URL with a host")
    if parts.username or parts.password:
        raise InvalidInput("endpoint must not carry a user name or password")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInput("endpoint has an invalid port") from exc
    for address in await _addresses(parts.hostname, port):
        if not address.is_global:
            raise InvalidInput(
                "endpoint is on a private or local network; push services are public"
            )


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The host's addresses; none when its name does not resolve now (a DNS hiccup must
    not refuse a browser: the check runs again before each send, and a name that does
    not resolve then cannot be sent to anyway)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
