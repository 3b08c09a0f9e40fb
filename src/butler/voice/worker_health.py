"""The voice worker's health check: 200 only while it is registered with LiveKit.

livekit-agents' own check answers 200 as soon as the process is up, before the worker
has registered (and while it reconnects to a restarted server); a room dispatched then
finds no worker. This one says "registered" only when the server can send it jobs; it
answers on 127.0.0.1 unless told otherwise (a container's private network).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from livekit.agents import AgentServer


class WorkerHealth:
    def __init__(self, server: AgentServer, port: int, *, host: str = "127.0.0.1") -> None:
        self.server = server
        self.port = port
        self.host = host
        self.registered = False
        self._runner: web.AppRunner | None = None
        server.on("worker_registered", self._on_registered)

    def _on_registered(self, *_: Any) -> None:
        self.registered = True

    def state(self) -> tuple[int, str]:
        # `_connecting` is set while the worker (re)connects: after a server restart it
        # registers again.
        if self.server._connection_failed:
            return 503, "failed to connect to LiveKit"
        if not self.registered or self.server._connecting:
            return 503, "not registered with LiveKit"
        return 200, "registered"

    async def _health(self, _: web.Request) -> web.Response:
        status, text = self.state()
        return web.Response(status=status, text=text)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
