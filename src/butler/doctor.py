"""`butler doctor`: check the configuration, the database and the services Butler
depends on, and say what to fix. It only looks: it starts nothing (an embedded
PostgreSQL that is not running is reported as such, not started)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import aiohttp
import asyncpg
from livekit import api as livekit_api
from livekit.protocol.room import ListRoomsRequest

from butler.config import LiveKitSettings, Mode, Settings
from butler.db import migrate
from butler.db.embedded import EmbeddedPostgres
from butler.db.pool import connect, create_pool
from butler.errors import ButlerError, ConfigError
from butler.home.connection import HOME_TOKEN_PURPOSE, Chosen, SavedConnection
from butler.llm.factory import build_provider
from butler.llm.health import model_problem
from butler.memory.embeddings import local_model_files
from butler.secret_box import secret_box
from butler.secret_keys import check_production_secrets
from butler.speech_check import speech_round_trip
from butler.stack.health import voice_health
from butler.stack.livekit_server import find_binary
from butler.stack.local_stack import read_status


def _report(ok: bool, label: str, detail: str) -> bool:
    print(f"[{'ok' if ok else 'FAIL'}] {label}: {detail}")
    return ok


async def _database_revision(dsn: str) -> str | None:
    conn = await connect(dsn, connect_timeout=5)
    try:
        return await migrate.current_revision(conn)
    finally:
        await conn.close()


def _model(settings: Settings) -> tuple[bool, str, str]:
    """Ask the configured model for one word: the key, the address and the model name
    are all proven, for a fraction of a cent."""
    provider, status = build_provider(settings.llm.model_copy(update={"retry_attempts": 1}))
    if provider is None:
        return False, "model", status

    async def ask() -> str | None:
        try:
            return await model_problem(provider, seconds=min(settings.llm.timeout_seconds, 30) + 5)
        finally:
            await provider.aclose()

    problem = asyncio.run(ask())
    return problem is None, "model", f"{status}: {problem or 'answered'}"


def _embeddings(settings: Settings) -> tuple[bool, str, str]:
    memory = settings.memory
    if memory.embedding_provider == "none":
        return True, "embeddings", "off (recall by full text only)"
    if memory.embedding_provider == "openai":
        ok = bool(memory.embedding_base_url)
        detail = memory.embedding_base_url or "set BUTLER_MEMORY__EMBEDDING_BASE_URL"
        return ok, "embeddings", f"{memory.embedding_model} at {detail}"
    try:
        model, _ = local_model_files()
    except ConfigError as exc:
        return False, "embeddings", exc.message
    return True, "embeddings", f"local all-MiniLM-L6-v2 (int8 ONNX, checksum ok: {model.name})"


def _end_of_turn(settings: Settings) -> tuple[bool, str, str]:
    from butler.voice.turn_models import load_turn_model

    judge = settings.voice.end_of_turn
    try:
        model = load_turn_model(judge, settings.voice.smart_turn_model)
    except ConfigError as exc:
        return False, "end of turn", exc.message
    return True, "end of turn", judge + (f" ({model.name}, on this machine)" if model else "")


def _home_assistant(settings: Settings) -> tuple[bool, str, str] | None:
    """Sign in to Home Assistant once, if it is configured."""
    home = settings.home_assistant
    if not home.url and not home.token:
        return None
    if not home.url or not home.token:
        missing = "BUTLER_HOME_ASSISTANT__URL" if not home.url else "BUTLER_HOME_ASSISTANT__TOKEN"
        return False, "Home Assistant", f"set {missing} as well"
    return _sign_in(home.url, home.token.get_secret_value(), home.timeout_seconds, "settings")


def _sign_in(url: str, token: str, seconds: float, where: str) -> tuple[bool, str, str]:
    from butler.home.client import check_connection
    from butler.home.errors import HomeError

    try:
        version = asyncio.run(check_connection(url, token, seconds=seconds))
    except HomeError as exc:
        fix = (
            " Make a new long-lived access token in Home Assistant."
            if exc.code == "home_refused"
            else ""
        )
        return False, "Home Assistant", f"{url} (set in the {where}): {exc.message}{fix}"
    return True, "Home Assistant", f"{url} (set in the {where}): version {version}, signed in"


async def _saved_home(settings: Settings, dsn: str) -> Chosen:
    pool = await create_pool(dsn, max_size=2)
    try:
        box = secret_box(settings, HOME_TOKEN_PURPOSE)
        return await SavedConnection(pool, box).choose(settings.home_assistant)
    finally:
        await pool.close()


def _home_saved_in_the_app(settings: Settings, dsn: str) -> tuple[bool, str, str] | None:
    """The connection an admin saved in the app, when the settings set none."""
    chosen = asyncio.run(_saved_home(settings, dsn))
    if chosen.source != "app" or chosen.url is None:
        return None
    if chosen.token is None:
        return False, "Home Assistant", f"{chosen.url} (set in the app): {chosen.problem}"
    timeout = settings.home_assistant.timeout_seconds
    return _sign_in(chosen.url, chosen.token, timeout, "app")


WHATSAPP_SETTINGS = ("access_token", "phone_number_id", "app_secret", "verify_token")


def _whatsapp(settings: Settings) -> tuple[bool, str, str] | None:
    """Ask the Graph API for Butler's number, if WhatsApp is configured."""
    from butler.channels.whatsapp.graph import GraphClient, WhatsAppError

    config = settings.whatsapp
    given = [name for name in WHATSAPP_SETTINGS if getattr(config, name)]
    if not given:
        return None
    if not config.configured or not config.access_token or not config.phone_number_id:
        missing = ", ".join(
            f"BUTLER_WHATSAPP__{n.upper()}" for n in WHATSAPP_SETTINGS if n not in given
        )
        return False, "WhatsApp", f"set {missing} as well"
    token, number_id = config.access_token.get_secret_value(), config.phone_number_id

    async def ask() -> str:
        graph = GraphClient(config.api_base_url, number_id, token, timeout=config.timeout_seconds)
        try:
            return await graph.number()
        finally:
            await graph.aclose()

    try:
        return True, "WhatsApp", f"number {asyncio.run(ask())}, token accepted"
    except WhatsAppError as exc:
        return False, "WhatsApp", f"{config.api_base_url}: {exc.message}"


def _voice(settings: Settings) -> list[tuple[bool, str, str]]:
    """The LiveKit server (embedded or configured) and, embedded, the voice worker."""
    lk = settings.livekit
    if not lk.embedded:
        url = urlparse(lk.server_url)
        if url.scheme not in {"ws", "wss", "http", "https"} or not url.netloc:
            return [(False, "LiveKit URL", f"{lk.server_url}: not a ws:// or wss:// URL")]
    else:
        try:
            binary = find_binary(lk)
        except ConfigError as exc:
            return [(False, "LiveKit server", exc.message)]
        if not _serving(settings):
            return [(True, "LiveKit server", f"{binary} (starts with `butler serve`)")]
    health = asyncio.run(voice_health(lk, settings.data_dir))
    where = "embedded, " + lk.server_url if lk.embedded else lk.server_url
    checks = [(health.livekit == "up", "LiveKit server", f"{where}: {health.livekit}")]
    if health.livekit == "up":
        checks.append(asyncio.run(_livekit_keys(lk)))
    if health.worker != "external":
        checks.append((health.worker == "up", "voice worker", health.worker))
    if not health.available:
        checks.append((False, "voice", health.fix))
    return checks


async def _livekit_keys(lk: LiveKitSettings) -> tuple[bool, str, str]:
    """One server API call: proves the key and secret Butler signs with are the server's."""
    if lk.api_key is None or lk.api_secret is None:
        return False, "LiveKit keys", "set BUTLER_LIVEKIT__API_KEY and BUTLER_LIVEKIT__API_SECRET"
    try:
        async with livekit_api.LiveKitAPI(
            lk.http_url, lk.api_key.get_secret_value(), lk.api_secret.get_secret_value()
        ) as client:
            rooms = await asyncio.wait_for(client.room.list_rooms(ListRoomsRequest()), 5)
    except livekit_api.TwirpError as exc:
        fix = " (the server's LIVEKIT_KEYS must hold the same key and secret)"
        return False, "LiveKit keys", f"the server refused them: {exc.message}{fix}"
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return False, "LiveKit keys", f"the server API did not answer: {exc}"
    return True, "LiveKit keys", f"accepted ({len(rooms.rooms)} room(s) open)"


def _serving(settings: Settings) -> bool:
    """Is a `butler serve` running on this data folder (and so its embedded stack)?"""
    children = read_status(settings.data_dir).get("children")
    return isinstance(children, dict) and any(
        isinstance(child, dict) and child.get("state") != "stopped" for child in children.values()
    )


def _database(settings: Settings, database_url: str | None) -> tuple[str | None, str]:
    """Where to connect, and how to describe it; no DSN when there is nothing to check
    without starting something."""
    if database_url:
        return database_url, "external (BUTLER_DATABASE_URL)"
    embedded = EmbeddedPostgres(settings.data_dir)
    if not embedded.initialised():
        return None, f"embedded in {embedded.pgdata}: not created yet (`butler serve` creates it)"
    dsn = embedded.running_dsn()
    if dsn is None:
        return None, f"embedded in {embedded.pgdata}: not running (`butler serve` starts it)"
    return dsn, "embedded, running"


def _configuration(settings: Settings) -> tuple[bool, str, str]:
    if settings.mode is not Mode.PRODUCTION:
        return True, "configuration", "development: missing secrets are made in the data folder"
    try:
        check_production_secrets(settings)
    except ConfigError as exc:
        return False, "configuration", exc.message
    return True, "configuration", "production: every secret set and strong"


def diagnose(settings: Settings, database_url: str | None, *, speech: bool = True) -> list[str]:
    """Print one line per check; return the labels of the checks that failed. `speech`
    runs the TTS → STT round trip (a few seconds of CPU with the local models)."""
    failed: list[str] = []

    def check(ok: bool, label: str, detail: str) -> None:
        if not _report(ok, label, detail):
            failed.append(label)

    check(*_configuration(settings))
    check(True, "data folder", str(settings.data_dir))
    for ok, label, detail in _voice(settings):
        check(ok, label, detail)
    if speech:
        for ok, label, detail in speech_round_trip(settings):
            check(ok, label, detail)
    check(*_model(settings))
    check(*_end_of_turn(settings))
    check(*_embeddings(settings))
    home = _home_assistant(settings)
    if home is not None:
        check(*home)
    whatsapp = _whatsapp(settings)
    if whatsapp is not None:
        check(*whatsapp)
    dsn, where = _database(settings, database_url)
    if dsn is None:
        check(True, "database", where)
        return failed
    try:
        revision = asyncio.run(_database_revision(dsn))
        saved_home = (
            _home_saved_in_the_app(settings, dsn)
            if home is None and revision == migrate.head_revision()
            else None
        )
    except (ButlerError, OSError, asyncpg.PostgresError) as exc:
        check(False, "database", f"{where}: {exc}")
        return failed
    head = migrate.head_revision()
    check(True, "database", f"{where}, reachable")
    check(
        revision == head,
        "migrations",
        f"at {revision}"
        if revision == head
        else f"at {revision}, code needs {head}: run `butler migrate`",
    )
    if saved_home is not None:
        check(*saved_home)
    return failed
