"""/metrics in Prometheus' text format: for this machine, a scraper with the metrics
token, or an admin. Counts and timings only: no person, message or path appears in it."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response

from butler.api.deps import ServicesDep, authenticate, bearer_token
from butler.errors import Forbidden
from butler.metrics import exposition

PATH = "/metrics"


def _from_this_machine(request: Request) -> bool:
    # request.client is the proxy's address unless the proxy is trusted to name the real
    # client (forwarded_allow_ips): a request relayed for someone outside is not local.
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_router(*, token: str | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def metrics(request: Request, services: ServicesDep) -> Response:
        if not _from_this_machine(request):
            presented = bearer_token(request)  # 401 without one
            if not (token and hmac.compare_digest(presented.encode(), token.encode())):
                user = await authenticate(request, services)
                if not user.is_admin:
                    raise Forbidden("Only an admin or the metrics token can read /metrics.")
        body, content_type = exposition()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    router.add_api_route(PATH, metrics, methods=["GET"])
    return router
