"""FastAPI dependencies: the services, a database connection, the calling user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from butler.agent.brain import Brain
from butler.auth import refresh, voice_sessions
from butler.auth.accounts import Accounts
from butler.auth.livekit_rooms import LiveKitRooms
from butler.auth.tokens import AccessClaims, TokenService, VoiceSession
from butler.channels.whatsapp.service import WhatsApp
from butler.config import LiveKitSettings
from butler.db.pool import connection
from butler.errors import Forbidden, NotAuthenticated
from butler.home.service import HomeService
from butler.logs import PERSON_ID, SESSION_ID
from butler.memory.service import Memory
from butler.notify.service import Notifications
from butler.tools.mcp_service import McpService
from butler.tools.weather import OpenMeteo
from butler.users.models import User


@dataclass(frozen=True)
class LiveKitConfig:
    settings: LiveKitSettings
    api_key: str
    api_secret: str
    rooms: LiveKitRooms
    data_dir: Path


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool
    name: str = "butler_refresh"
    path: str = "/api/auth"


@dataclass
class Services:
    """Everything a request handler may need, built once at start-up."""

    pool: asyncpg.Pool
    brain: Brain
    llm_status: str
    keepalive_seconds: float
    tokens: TokenService
    accounts: Accounts
    livekit: LiveKitConfig
    cookie: CookiePolicy
    memory: Memory
    home: HomeService
    notify: Notifications
    weather: OpenMeteo
    mcp: McpService
    local_authority: Path | None = None  # served at /ca.crt when Butler made its own
    whatsapp: WhatsApp | None = None  # None until BUTLER_WHATSAPP__* is set


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_connection(services: ServicesDep) -> AsyncIterator[asyncpg.Connection]:
    async with connection(services.pool) as conn:
        yield conn


Db = Annotated[asyncpg.Connection, Depends(get_connection)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send 'Authorization: Bearer <access token>'.")
    return token.strip()


async def _load_user(services: Services, claims: AccessClaims) -> User:
    # A connection of its own, returned at once: a streaming route must not hold a
    # pooled connection for the whole stream while the turn needs others.
    async with connection(services.pool) as conn:
        user = await refresh.signed_in_user(conn, claims.user_id, claims.session_id)
    if user is None:
        raise NotAuthenticated(
            "This session has ended (signed out, or the account is gone); sign in again.",
            code="session_ended",
        )
    PERSON_ID.set(str(user.id))  # this request's log lines name whom they concern
    return user


async def authenticate(request: Request, services: Services, turn_text: str | None = None) -> User:
    """The caller by access token. With `turn_text`, the turn's recall starts as soon as
    the token checks out, so it runs while the account loads."""
    claims = services.tokens.verify_access(bearer_token(request))
    if turn_text is not None:
        services.brain.prepare(claims.user_id, turn_text)
    return await _load_user(services, claims)


async def get_current_user(request: Request, services: ServicesDep) -> User:
    return await authenticate(request, services)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("Only an admin can do that.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


def client_ip(request: Request) -> str:
    # uvicorn rewrites request.client from X-Forwarded-For only for trusted proxies.
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


@dataclass(frozen=True)
class VoiceCaller:
    """The voice worker acting for one user in one room, by its voice-session credential."""

    user: User
    session: VoiceSession


# How long after a room ends its worker may still file that session's records (an
# interrupted reply, timings): they are written as the person leaves.
REPORT_GRACE_SECONDS = 30.0


async def voice_caller(
    request: Request,
    services: Services,
    turn_text: str | None = None,
    grace_seconds: float = 0.0,
) -> VoiceCaller:
    """The voice worker's caller by voice-session credential; `turn_text` as in
    `authenticate`. The credential works only while its room's session is open (or,
    with `grace_seconds`, ended that recently other than by sign-out)."""
    session = services.tokens.verify_voice(bearer_token(request))
    if turn_text is not None:
        services.brain.prepare(session.user_id, turn_text)
    async with connection(services.pool) as conn:
        user = await voice_sessions.caller(
            conn,
            room_name=session.room,
            user_id=session.user_id,
            credential_id=session.credential_id,
            grace_seconds=grace_seconds,
        )
    if user is None:
        raise NotAuthenticated("This voice session has ended.", code="voice_session_ended")
    PERSON_ID.set(str(user.id))
    SESSION_ID.set(session.room)
    return VoiceCaller(user, session)


async def get_voice_caller(request: Request, services: ServicesDep) -> VoiceCaller:
    return await voice_caller(request, services)


VoiceCallerDep = Annotated[VoiceCaller, Depends(get_voice_caller)]


async def get_voice_reporter(request: Request, services: ServicesDep) -> VoiceCaller:
    return await voice_caller(request, services, grace_seconds=REPORT_GRACE_SECONDS)


# The worker filing a session's records: also just after the room ended.
VoiceReporterDep = Annotated[VoiceCaller, Depends(get_voice_reporter)]
