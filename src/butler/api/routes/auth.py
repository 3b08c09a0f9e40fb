"""Register, log in, refresh, log out, and the LiveKit token for a voice session."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request, Response, status

from butler.api.deps import ClientIp, CurrentUser, Db, ServicesDep
from butler.api.schemas import (
    LoginRequest,
    RegisterRequest,
    SessionResponse,
    UserOut,
    VoiceTokenResponse,
    error_responses,
)
from butler.auth import livekit_tokens
from butler.auth.accounts import SignedIn
from butler.errors import NotAuthenticated

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
    body: LoginRequest, services: ServicesDep, conn: Db, ip: ClientIp, response: Response
) -> SessionResponse:
    signed_in = await services.accounts.login(
        conn, client_ip=ip, username=body.username, password=body.password
    )
    return _session_response(services, signed_in, response)


@router.post("/refresh", response_model=SessionResponse, responses=_ERRORS)
async def refresh(
    request: Request, services: ServicesDep, conn: Db, response: Response
) -> SessionResponse:
    signed_in = await services.accounts.refresh(conn, _refresh_cookie(request, services))
    return _session_response(services, signed_in, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, services: ServicesDep, conn: Db) -> Response:
    token = request.cookies.get(services.cookie.name)
    if token:
        await services.accounts.logout(conn, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookie(services, response)
    return response


@router.post("/token", response_model=VoiceTokenResponse, responses=_ERRORS)
async def voice_token(user: CurrentUser, services: ServicesDep) -> VoiceTokenResponse:
    room_name = livekit_tokens.room_name_for(user)
    credential = services.tokens.issue_voice(user.id, room_name)
    lk = services.livekit
    grant = livekit_tokens.mint(
        user,
        room_name=room_name,
        voice_credential=credential.token,
        api_key=lk.api_key,
        api_secret=lk.api_secret,
        url=lk.url,
        agent_name=lk.agent_name,
        ttl_seconds=lk.token_ttl_seconds,
    )
    return VoiceTokenResponse(**dataclasses.asdict(grant))
