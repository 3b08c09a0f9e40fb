"""The local certificate authority's certificate, for phones to install (local_tls)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from butler.api.deps import ServicesDep
from butler.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/ca.crt")
async def authority_certificate(services: ServicesDep) -> Response:
    """Public by design: it lets a device check Butler's certificate, and holds no
    secret (the authority's key never leaves the data folder)."""
    path = services.local_authority
    if path is None or not path.exists():
        raise NotFound("This Butler does not use its own certificate authority.")
    return Response(
        path.read_bytes(),
        media_type="application/x-x509-ca-cert",
        headers={"Content-Disposition": 'attachment; filename="butler-ca.crt"'},
    )
