"""Home Assistant: the connection's state, and an admin's exposure and permissions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from butler.api.deps import AdminUser, CurrentUser, Db, ServicesDep
from butler.api.home_schemas import (
    HomeConnectionBody,
    HomeConnectionOut,
    HomeConnectionTestBody,
    HomeConnectionTestOut,
    HomeEntityChoice,
    HomeEntityOut,
    HomePermissionsBody,
    HomePermissionsOut,
    HomeStatus,
)
from butler.api.schemas import error_responses
from butler.errors import ButlerError
from butler.home.client import check_connection
from butler.home.connection import CannotSave, MissingToken
from butler.home.errors import HomeError, HomeNotConfigured
from butler.home.exposure import Exposure
from butler.home.permissions import Permissions, permissions_of, set_permissions
from butler.home.registry import Entity
from butler.home.service import HomeService
from butler.users import repository as users

router = APIRouter(prefix="/api", tags=["home"])
_ERRORS = error_responses(401, 403, 404, 409, 422)


class NotFound(ButlerError):
    code = "not_found"
    status = 404


@router.get("/home/status", response_model=HomeStatus, responses=_ERRORS)
async def home_status(user: CurrentUser, services: ServicesDep) -> HomeStatus:
    """Whether Butler can reach Home Assistant (details for admins)."""
    found = services.home.status()
    if not user.is_admin:
        found = {k: v for k, v in found.items() if k in ("configured", "state", "source")}
    return HomeStatus(**found)


@router.get("/admin/home/connection", response_model=HomeConnectionOut, responses=_ERRORS)
async def get_connection(admin: AdminUser, services: ServicesDep) -> HomeConnectionOut:
    """Where the connection comes from; the token itself is never returned."""
    return await _connection_out(services.home)


@router.put("/admin/home/connection", response_model=HomeConnectionOut, responses=_ERRORS)
async def save_connection(
    body: HomeConnectionBody, admin: AdminUser, services: ServicesDep
) -> HomeConnectionOut:
    """Save Home Assistant's address and token (sealed at rest) and connect to it. Other
    API processes follow within seconds. Refused (409) when the settings set it."""
    home = _editable(services.home)
    await home.connections.save(body.url, body.token, admin.id)
    await home.reload()
    return await _connection_out(home)


@router.delete("/admin/home/connection", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_connection(admin: AdminUser, services: ServicesDep) -> Response:
    """Forget the saved connection and disconnect."""
    home = _editable(services.home)
    await home.connections.delete()
    await home.reload()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/home/connection/test", response_model=HomeConnectionTestOut, responses=_ERRORS)
async def test_connection(
    body: HomeConnectionTestBody, admin: AdminUser, services: ServicesDep
) -> HomeConnectionTestOut:
    """Sign in to Home Assistant once with these (or the current) details and say how it
    went; nothing is saved."""
    chosen = services.home.chosen
    url = body.url or chosen.url
    if url is None:
        raise MissingToken("Enter Home Assistant's address.")
    token = body.token
    if token is None:
        if chosen.token is None or chosen.url != url:
            raise MissingToken(
                "Enter the access token (a saved token is only used with its own address)."
            )
        token = chosen.token
    seconds = min(services.home.settings.timeout_seconds, 10.0)
    try:
        version = await check_connection(url, token, seconds=seconds)
    except HomeError as exc:
        return HomeConnectionTestOut(ok=False, version=None, error=exc.message)
    return HomeConnectionTestOut(ok=True, version=version, error=None)


@router.get("/admin/home/entities", response_model=list[HomeEntityOut], responses=_ERRORS)
async def list_entities(admin: AdminUser, services: ServicesDep) -> list[HomeEntityOut]:
    """Every entity Home Assistant has, by area, with whether Butler may use it."""
    home = services.home
    if not home.configured:
        raise HomeNotConfigured("Home Assistant is not set up.")
    await home.exposure.refresh(force=True)
    out = [_entity_out(e, home.exposure.of(e)) for e in home.registry.entities()]
    return sorted(out, key=lambda e: (e.area is None, e.area or "", e.name.lower()))


@router.put("/admin/home/entities/{entity_id}", response_model=HomeEntityOut, responses=_ERRORS)
async def choose_exposure(
    entity_id: str, body: HomeEntityChoice, admin: AdminUser, services: ServicesDep
) -> HomeEntityOut:
    """Expose an entity to Butler or hide it, and say whether it needs a yes."""
    home = services.home
    entity = home.registry.entity(entity_id)
    if entity is None:
        raise NotFound(f"Home Assistant has no entity {entity_id}.")
    await home.exposure.choose(
        entity_id, exposed=body.exposed, needs_confirmation=body.needs_confirmation
    )
    return _entity_out(entity, home.exposure.of(entity))


@router.delete(
    "/admin/home/entities/{entity_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS
)
async def reset_exposure(entity_id: str, admin: AdminUser, services: ServicesDep) -> Response:
    """Back to the default for the entity's kind."""
    await services.home.exposure.reset(entity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/admin/users/{user_id}/home-permissions", response_model=HomePermissionsOut, responses=_ERRORS
)
async def get_permissions(user_id: uuid.UUID, admin: AdminUser, conn: Db) -> HomePermissionsOut:
    if await users.get(conn, user_id) is None:
        raise NotFound("No such person.")
    found = await permissions_of(conn, user_id)
    return _permissions_out(found)


@router.put(
    "/admin/users/{user_id}/home-permissions", response_model=HomePermissionsOut, responses=_ERRORS
)
async def put_permissions(
    user_id: uuid.UUID, body: HomePermissionsBody, admin: AdminUser, conn: Db
) -> HomePermissionsOut:
    """The areas and domains a person may control (null: all). A child account without
    `lock` in its domains cannot unlock doors."""
    if await users.get(conn, user_id) is None:
        raise NotFound("No such person.")
    chosen = Permissions(
        frozenset(body.areas) if body.areas is not None else None,
        frozenset(body.domains) if body.domains is not None else None,
    )
    await set_permissions(conn, user_id, chosen)
    return _permissions_out(chosen)


def _entity_out(entity: Entity, exposure: Exposure) -> HomeEntityOut:
    return HomeEntityOut(
        entity_id=entity.entity_id,
        name=entity.name,
        domain=entity.domain,
        area=entity.area.name if entity.area else None,
        area_id=entity.area.id if entity.area else None,
        state=entity.state.state if entity.state else None,
        exposed=exposure.exposed,
        needs_confirmation=exposure.needs_confirmation,
        chosen=exposure.chosen,
    )


def _permissions_out(found: Permissions) -> HomePermissionsOut:
    return HomePermissionsOut(
        areas=sorted(found.areas) if found.areas is not None else None,
        domains=sorted(found.domains) if found.domains is not None else None,
    )


def _editable(home: HomeService) -> HomeService:
    if home.chosen.source == "settings":
        raise CannotSave(
            "The server's settings set the Home Assistant connection"
            " (BUTLER_HOME_ASSISTANT__URL and __TOKEN): change it there."
        )
    return home


async def _connection_out(home: HomeService) -> HomeConnectionOut:
    chosen = home.chosen
    if chosen.source == "settings":
        return HomeConnectionOut(
            source="settings", url=chosen.url, token_saved=True, editable=False, updated_at=None
        )
    saved = await home.connections.load()
    return HomeConnectionOut(
        source="app" if saved else "none",
        url=saved.url if saved else None,
        token_saved=saved is not None,
        editable=True,
        updated_at=saved.updated_at if saved else None,
    )
