"""Signed JWTs: short access tokens for the API, voice-session credentials for the worker.

Both are HS256 with the server's secret, but each has its own audience and `typ`, so
one can never stand in for the other, and a refresh token (opaque, not a JWT) can
never pass as either.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from butler.errors import NotAuthenticated

ISSUER = "butler"
ACCESS_AUDIENCE = "butler-api"
VOICE_AUDIENCE = "butler-voice"
ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "typ", "jti"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID  # the sign-in (refresh family) it belongs to: ended at sign-out


@dataclass(frozen=True)
class VoiceSession:
    user_id: uuid.UUID
    room: str
    credential_id: str


@dataclass(frozen=True)
class IssuedVoiceCredential:
    token: str
    credential_id: str
    expires_at: int


class TokenService:
    def __init__(self, secret: str, *, access_ttl_seconds: int, voice_ttl_seconds: int) -> None:
        self._secret = secret
        self.access_ttl_seconds = access_ttl_seconds
        self.voice_ttl_seconds = voice_ttl_seconds

    def _encode(
        self, claims: dict[str, object], audience: str, ttl: int, jti: str | None = None
    ) -> str:
        now = int(time.time())
        payload = {
            **claims,
            "iss": ISSUER,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": jti or secrets.token_hex(8),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, audience: str, typ: str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                options={"require": _REQUIRED},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError:
            raise NotAuthenticated("The token is not valid.", code="invalid_token") from None
        if claims.get("typ") != typ:
            raise NotAuthenticated("The token is not valid.", code="invalid_token")
        return claims

    def issue_access(self, user_id: uuid.UUID, session_id: uuid.UUID) -> IssuedToken:
        token = self._encode(
            {"sub": str(user_id), "typ": "access", "sid": str(session_id)},
            ACCESS_AUDIENCE,
            self.access_ttl_seconds,
        )
        return IssuedToken(token, self.access_ttl_seconds)

    def verify_access(self, token: str) -> AccessClaims:
        """The token's person and sign-in; whether that sign-in is still live is the
        database's to say (a signed-out session's tokens stop at once)."""
        claims = self._decode(token, ACCESS_AUDIENCE, "access")
        try:
            session_id = uuid.UUID(str(claims["sid"]))
        except (KeyError, ValueError):
            raise NotAuthenticated("The token is not valid.", code="invalid_token") from None
        return AccessClaims(_subject(claims), session_id)

    def issue_voice(self, user_id: uuid.UUID, room: str) -> IssuedVoiceCredential:
        """A credential for one person in one room; it also needs the room's open row in
        butler.voice_sessions (see auth/voice_sessions.py), which can be closed."""
        credential_id = secrets.token_hex(16)
        token = self._encode(
            {"sub": str(user_id), "typ": "voice", "room": room},
            VOICE_AUDIENCE,
            self.voice_ttl_seconds,
            jti=credential_id,
        )
        return IssuedVoiceCredential(
            token, credential_id, int(time.time()) + self.voice_ttl_seconds
        )

    def verify_voice(self, token: str) -> VoiceSession:
        claims = self._decode(token, VOICE_AUDIENCE, "voice")
        room, jti = claims.get("room"), claims.get("jti")
        if not isinstance(room, str) or not room or not isinstance(jti, str) or not jti:
            raise NotAuthenticated("The token is not valid.", code="invalid_token")
        return VoiceSession(user_id=_subject(claims), room=room, credential_id=jti)


def _subject(claims: dict[str, object]) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError):
        raise NotAuthenticated("The token is not valid.", code="invalid_token") from None
