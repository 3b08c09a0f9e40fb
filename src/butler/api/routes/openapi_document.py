"""The OpenAPI document at /openapi.json: public while developing, admins only in
production (it maps every route and field an attacker would probe).

The page that renders it, /docs, is part of the web app (web/api-docs.html, Swagger UI
bundled with the app rather than loaded from a CDN).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from butler.api.deps import get_admin_user

PATH = "/openapi.json"


def openapi_router(*, admins_only: bool) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def openapi_json(request: Request) -> JSONResponse:
        document: dict[str, Any] = request.app.openapi()
        return JSONResponse(document)

    dependencies = [Depends(get_admin_user)] if admins_only else []
    router.add_api_route(PATH, openapi_json, methods=["GET"], dependencies=dependencies)
    return router
