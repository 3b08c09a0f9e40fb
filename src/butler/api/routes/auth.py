"""Register, log in, refresh, log out, and the LiveKit token for a voice session."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Body, Request, Response, status

from butler.api.deps import ClientIp, CurrentUser, Db, ServicesDep
from butler.api.schemas import (
    LoginRequest,
    PasswordResetRequest,
    RegisterRequest,
    SessionResponse,
    SignInRules,
    UserOut,
    VoiceAvailability,
    VoiceTokenRequest,
    VoiceTokenResponse,
    error_responses,
)
from butler.auth import livekit_tokens, voice_sessions
from butler.auth.accounts import USERNAME_RULE, SignedIn
from butler.auth.livekit_rooms import LiveKitRooms
from butler.errors import ButlerError, NotAuthenticated
from butler.stack.health import voice_health
from butler.users import repository as users

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERRORS = error_responses(401, 409, 413, 422, 429)


def _session_response(
    services: ServicesDep, signed_in: SignedIn, response: Response
) -> SessionResponse:
    cookie = services.cookie
    response.set_cookie(
        cookie.name,
        signed_in.refresh.token,
        max_age=signed_in.refresh.max_age_seconds,
        path=cookie.path,
        httponly=True,
        secure=cookie.secure,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return SessionResponse(
        access_token=signed_in.access.token,
        expires_in=signed_in.access.expires_in,
        user=UserOut.of(signed_in.user),
    )


def _refresh_cookie(request: Request, services: ServicesDep) -> str:
    token = request.cookies.get(services.cookie.name)
    if not token:
        raise NotAuthenticated("No session cookie; sign in.", code="invalid_refresh")
    return token


def _clear_cookie(services: ServicesDep, response: Response) -> None:
    cookie = services.cookie
    response.delete_cookie(
        cookie.name, path=cookie.path, httponly=True, secure=cookie.secure, samesite="strict"
    )


@router.get("/rules", response_model=SignInRules)
async def sign_in_rules(services: ServicesDep, conn: Db) -> SignInRules:
    """Whether anyone has an account yet (a fresh install opens on account creation) and
    the rules a new account's username and password must follow, shown before a typo."""
    return SignInRules(
        has_accounts=await users.count(conn) > 0,
        password_min_length=services.accounts.policy.password_min_length,
        username_rule=USERNAME_RULE,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionResponse,
    responses=_ERRORS,
)
async def register(
    body: RegisterRequest, services: ServicesDep, conn: Db, ip: ClientIp, response: Response
) -> SessionResponse:
    signed_in = await services.accounts.register(
        conn,
        client_ip=ip,
        code=body.code,
        username=body.username,
        display_name=body.display_name.strip(),
        password=body.password,
    )
    return _session_response(services, signed_in, response)


@router.post("/login", response_model=SessionResponse, responses=_ERRORS)
async def login(
    body: LoginRequest, services: ServicesDep, ip: ClientIp, response: Response
) -> SessionResponse:
    signed_in = await services.accounts.login(
        services.pool, client_ip=ip, username=body.username, password=body.password
    )
    return _session_response(services, signed_in, response)


@router.post("/refresh", response_model=SessionResponse, responses=_ERRORS)
async def refresh(
    request: Request, services: ServicesDep, conn: Db, response: Response
) -> SessionResponse:
    signed_in = await services.accounts.refresh(conn, _refresh_cookie(request, services))
    return _session_response(services, signed_in, response)


@router.post("/reset-password", response_model=SessionResponse, responses=_ERRORS)
async def reset_password(
    body: PasswordResetRequest, services: ServicesDep, conn: Db, ip: ClientIp, response: Response
) -> SessionResponse:
    """A new password from an admin's one-time reset link; signs in, ends other sessions."""
    signed_in = await services.accounts.reset_password(
        conn, client_ip=ip, code=body.code, password=body.password
    )
    return _session_response(services, signed_in, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, services: ServicesDep, conn: Db) -> Response:
    """Ends the session, and with it every voice room of the person: the worker's
    credentials stop working and the rooms close."""
    token = request.cookies.get(services.cookie.name)
    if token:
        user_id = await services.accounts.logout(conn, token)
        if user_id is not None:
            rooms = await voice_sessions.end_all_for(conn, user_id, "signed_out")
            await services.livekit.rooms.close(rooms)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookie(services, response)
    return response


@router.post("/token", response_model=VoiceTokenResponse, responses=error_responses(401, 503))
async def voice_token(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    conn: Db,
    body: Annotated[VoiceTokenRequest | None, Body()] = None,
) -> VoiceTokenResponse:
    """A fresh room with the butler dispatched into it, and a token to join it.

    The butler's credential for the room goes to the worker with the dispatch; the
    browser's token can only join that room. After a lost connection (the voice server
    restarted) the app asks for a new room that `replaces` the old one."""
    lk = services.livekit
    if body is not None and body.replaces:
        await _end_replaced_room(conn, lk.rooms, user.id, body.replaces)
    room_name = livekit_tokens.room_name_for(user)
    credential = await voice_sessions.start(conn, services.tokens, user.id, room_name)
    try:
        await lk.rooms.open(room_name, credential)
    except ButlerError:
        await voice_sessions.end(conn, room_name, "dispatch_failed")
        raise
    grant = livekit_tokens.mint(
        user,
        room_name=room_name,
        api_key=lk.api_key,
        api_secret=lk.api_secret,
        url=lk.settings.browser_url or relay_url(request),
        ttl_seconds=lk.settings.token_ttl_seconds,
    )
    return VoiceTokenResponse(
        **dataclasses.asdict(grant), ice_servers=list(lk.settings.ice_servers)
    )


@router.get("/voice", response_model=VoiceAvailability, responses=error_responses(401))
async def voice_availability(
    user: CurrentUser, services: ServicesDep, conn: Db
) -> VoiceAvailability:
    """Whether voice works on this Butler now, said plainly; admins also get the fix."""
    lk = services.livekit
    health = await voice_health(lk.settings, lk.data_dir)
    if health.available:
        return VoiceAvailability(available=True)
    if health.livekit == "not installed":
        message = "Voice isn't set up on this Butler yet."
    else:
        message = "Voice isn't working on this Butler right now."
    if not user.is_admin:
        admins = " or ".join(await users.admin_names(conn)) or "an admin"
        message += f" Ask {admins} to look at it."
    return VoiceAvailability(
        available=False, message=message, fix=health.fix if user.is_admin else None
    )


def relay_url(request: Request) -> str:
    """The embedded server's signalling as relayed on the origin the browser used
    (api/routes/livekit_relay.py): the address it reached Butler at works for voice too."""
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.url.netloc}/livekit"


async def _end_replaced_room(
    conn: asyncpg.Connection, rooms: LiveKitRooms, user_id: uuid.UUID, room_name: str
) -> None:
    if await voice_sessions.owner(conn, room_name) != user_id:
        return  # unknown, or someone else's: not this person's to end
    if await voice_sessions.end(conn, room_name, "replaced"):
        await rooms.close([room_name])
