"""MCP servers, for admins: what is connected, and HTTP servers added in the app."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import AfterValidator, BaseModel, Field

from butler.api.deps import AdminUser, Db, ServicesDep
from butler.api.schemas import Strict, error_responses
from butler.config import McpServerConfig, mcp_address
from butler.errors import Conflict, NotFound
from butler.tools.mcp_servers import delete_server, save_server

router = APIRouter(prefix="/api/admin/mcp", tags=["admin"])
ServerName = Path(pattern=r"^[a-z][a-z0-9_]{0,19}$", description="Lower-case letters, digits, _")


class McpServerOut(BaseModel):
    name: str
    transport: Literal["stdio", "http"]
    source: Literal["settings", "app"] = Field(description="Settings' servers are read-only.")
    address: str
    people: Literal["everyone", "admins"]
    state: Literal["connecting", "connected", "failed"]
    error: str | None
    tools: list[str] = Field(description="The names the model sees.")


class McpServerList(BaseModel):
    servers: list[McpServerOut]


class McpServerSaved(BaseModel):
    name: str


class McpServerIn(Strict):
    url: Annotated[
        str,
        Field(min_length=8, max_length=2000, pattern=r"^[\x21-\x7e]+$"),
        AfterValidator(mcp_address),
    ]
    people: Literal["everyone", "admins"] = "admins"


@router.get("/servers", response_model=McpServerList, responses=error_responses(401, 403))
async def list_servers(admin: AdminUser, services: ServicesDep) -> McpServerList:
    """Every MCP server Butler uses, its connection's state and its tools."""
    return McpServerList(servers=[McpServerOut.model_validate(s) for s in services.mcp.status()])


@router.put(
    "/servers/{name}",
    response_model=McpServerSaved,
    status_code=status.HTTP_201_CREATED,
    responses={**error_responses(401, 403, 409, 422), 200: {"description": "Replaced."}},
)
async def put_server(
    body: McpServerIn,
    admin: AdminUser,
    conn: Db,
    services: ServicesDep,
    response: Response,
    name: str = ServerName,
) -> McpServerSaved:
    """Connect a streamable-HTTP MCP server (stdio servers are set in the settings only:
    they are commands this machine runs)."""
    if name in services.mcp.configured:
        raise Conflict(f"'{name}' is set in Butler's settings; change it there.")
    config = McpServerConfig(name=name, url=body.url, people=body.people)
    if not await save_server(conn, config):
        response.status_code = status.HTTP_200_OK
    await services.mcp.reload()
    return McpServerSaved(name=name)


@router.delete(
    "/servers/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 409),
)
async def remove_server(
    admin: AdminUser, conn: Db, services: ServicesDep, name: str = ServerName
) -> Response:
    if name in services.mcp.configured:
        raise Conflict(f"'{name}' is set in Butler's settings; remove it there.")
    if not await delete_server(conn, name):
        raise NotFound("No such MCP server.")
    await services.mcp.reload()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
