"""`butler talk IN.wav`: the voice path on a machine without LiveKit.

Plays the WAV into the same session the worker runs (paced in real time, then silence),
against a running Butler API, with local STT and TTS by default; prints what was heard,
the reply and the stage timings, and can save the reply audio.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx

from butler.auth import voice_sessions
from butler.auth.tokens import TokenService
from butler.config import Settings
from butler.db import migrate
from butler.db.pool import connect
from butler.db.runtime import open_database
from butler.errors import ButlerError, NotFound
from butler.users import repository as users
from butler.users.models import User


class TalkError(ButlerError):
    code = "talk_error"


async def _pick_user(dsn: str, username: str | None) -> User:
    conn = await connect(dsn)
    try:
        if username:
            found = await users.get_with_password_hash(conn, username.strip().lower())
            if found is None:
                raise NotFound(f"There is no user '{username}'.")
            return found[0]
        everyone = await users.list_all(conn)
    finally:
        await conn.close()
    if len(everyone) != 1:
        raise TalkError(
            "Say who is talking with --user USERNAME"
            + (" (nobody has registered yet)." if not everyone else ".")
        )
    return everyone[0]


async def voice_credential(dsn: str, settings: Settings, user: User) -> tuple[str, str]:
    """A voice-session credential for a room of this talk, opened as the API opens one."""
    assert settings.auth.jwt_secret is not None
    tokens = TokenService(
        settings.auth.jwt_secret.get_secret_value(),
        access_ttl_seconds=settings.auth.access_token_ttl_seconds,
        voice_ttl_seconds=settings.livekit.voice_session_ttl_seconds,
    )
    room = f"talk-{user.id.hex[:12]}-{secrets.token_hex(4)}"
    conn = await connect(dsn)
    try:
        return await voice_sessions.start(conn, tokens, user.id, room), room
    finally:
        await conn.close()


def run_talk(settings: Settings, wav: Path, out: Path | None, username: str | None) -> int:
    from butler.voice.butler_llm import ButlerAPI
    from butler.voice.harness import talk
    from butler.voice.providers import build_stt, build_tts, build_vad
    from butler.voice.simulated_io import Utterance, read_wav, write_wav

    try:
        samples, rate = read_wav(wav)
    except (OSError, ValueError) as exc:
        raise TalkError(f"Cannot use {wav}: {exc}") from exc
    try:
        httpx.get(f"{settings.api_url}/healthz", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        raise TalkError(
            f"The Butler API is not answering at {settings.api_url} ({exc}); start it with "
            "`butler serve` (or set BUTLER_API_URL)."
        ) from exc
    database_url = settings.database_url.get_secret_value() if settings.database_url else None
    with open_database(settings.data_dir, database_url) as dsn:
        migrate.upgrade(dsn)
        user = asyncio.run(_pick_user(dsn, username))
        credential, room = asyncio.run(voice_credential(dsn, settings, user))
    api = ButlerAPI(
        base_url=settings.api_url,
        credential=credential,
        session_id=room,
        timeout_seconds=settings.voice.api_timeout_seconds,
        apology=settings.voice.apology,
    )
    vad_model = build_vad(settings.voice)
    print(f"Talking as {user.display_name} ({len(samples) / rate:.1f} s of audio)...", flush=True)
    result = asyncio.run(
        talk(
            [Utterance(samples, at=0.3)],
            rate,
            api=api,
            settings=settings.voice,
            stt_engine=build_stt(settings.stt, vad_model),
            tts_engine=build_tts(settings.tts, user.voice),
            vad_model=vad_model,
            tail_seconds=30,
            until_answered=True,
        )
    )
    print(f"heard:  {' / '.join(result.transcripts) or '(nothing)'}")
    print(f"reply:  {' / '.join(result.replies) or '(nothing)'}")
    if result.llm_first_token_ms:
        print(f"Butler API first token: {result.llm_first_token_ms[0]:.0f} ms")
    if result.end_to_first_audio:
        print(f"end of speech -> first audio: {result.end_to_first_audio[0] * 1000:.0f} ms")
    if out is not None:
        write_wav(out, result.audio, result.audio_rate)
        print(f"reply audio: {out} ({len(result.audio) / result.audio_rate:.1f} s)")
    return 0 if result.replies else 1
