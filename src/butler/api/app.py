"""create_app: the FastAPI application, its services and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from butler.agent.brain import Brain, BrainSettings
from butler.agent.home_tools import home_tools
from butler.agent.home_turns import HomeTurns
from butler.agent.memory_tools import memory_tools
from butler.agent.reminder_tools import reminder_tools
from butler.agent.timer_turns import TimerTurns
from butler.api.body_limit import BodyLimitMiddleware
from butler.api.deps import CookiePolicy, LiveKitConfig, Services
from butler.api.errors import install_error_handlers
from butler.api.openapi_extras import customise_openapi
from butler.api.request_ids import RequestIds
from butler.api.request_metrics import RequestMetrics
from butler.api.routes import (
    admin,
    auth,
    certificate,
    chat,
    checks,
    health,
    latency,
    livekit_relay,
    livekit_webhook,
    reminders,
    users,
    voice,
    voice_notices,
    whatsapp,
)
from butler.api.routes import home as home_routes
from butler.api.routes import (
    mcp as mcp_routes,
)
from butler.api.routes import memory as memory_routes
from butler.api.routes.livekit_relay import redact_tokens
from butler.api.routes.metrics import metrics_router
from butler.api.routes.openapi_document import openapi_router
from butler.api.security_headers import SecurityHeaders
from butler.api.web import NoStoreApi, mount_web_app
from butler.auth.accounts import Accounts, AuthPolicy
from butler.auth.livekit_rooms import LiveKitRooms, RoomPolicy
from butler.auth.tokens import TokenService
from butler.channels.whatsapp.service import open_whatsapp
from butler.config import Mode, Settings
from butler.db.pool import create_pool
from butler.errors import ConfigError
from butler.home.connection import HOME_TOKEN_PURPOSE
from butler.home.fast_path import FastPath
from butler.home.service import HomeService, open_home
from butler.llm.base import LLMProvider
from butler.llm.factory import build_provider
from butler.memory.service import Memory, open_memory
from butler.notify.service import Notifications, open_notifications
from butler.secret_box import secret_box
from butler.stack.local_tls import authority_path
from butler.tools.base import Tool
from butler.tools.builtin import BUILTIN_TOOLS
from butler.tools.mcp import McpHub
from butler.tools.mcp_service import McpService
from butler.tools.registry import ToolRegistry
from butler.tools.weather import OpenMeteo, weather_tools

log = logging.getLogger(__name__)


def _secret(value: SecretStr | None, name: str) -> str:
    if value is None:
        raise ConfigError(f"{name} is not set; resolve secrets before create_app")
    return value.get_secret_value()


def _optional(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def learning_llm(settings: Settings) -> LLMProvider | None:
    """The cheap model that extracts facts after a turn, or None when there is no LLM."""
    model = settings.memory.learning_model or (
        "claude-haiku-4-5" if settings.llm.provider == "anthropic" else settings.llm.model
    )
    provider, _ = build_provider(settings.llm.model_copy(update={"model": model}))
    return provider


def notifications(settings: Settings, pool: asyncpg.Pool) -> Notifications:
    config = settings.reminders
    key = config.vapid_private_key
    return open_notifications(
        pool,
        settings.data_dir,
        vapid_private_key=_optional(key),
        subject=config.push_subject,
        ttl_seconds=config.push_ttl_seconds,
        poll_seconds=config.poll_seconds,
        production=settings.mode is Mode.PRODUCTION,
        allow_private=config.allow_private_push_endpoints,
    )


def build_brain(
    settings: Settings,
    pool: asyncpg.Pool,
    memory: Memory,
    home: HomeService,
    notify: Notifications,
    weather: OpenMeteo,
    mcp: McpService,
    extra_tools: Sequence[Tool] = (),
) -> tuple[Brain, str]:
    provider, status = build_provider(settings.llm)
    if provider is None:
        log.warning("%s Chat answers 503 until then.", status)
    else:
        log.info("LLM: %s", status)
    tools = (
        *BUILTIN_TOOLS,
        *memory_tools(pool, memory.store, memory.recall),
        *home_tools(home),
        *reminder_tools(pool, notify.store),
        *weather_tools(weather),
        *extra_tools,
    )
    brain = Brain(
        pool,
        provider,
        ToolRegistry(tools, timeout_seconds=settings.agent.tool_timeout_seconds, sources=[mcp.hub]),
        BrainSettings(
            history_window=timedelta(days=settings.agent.history_days),
            history_max_messages=settings.agent.history_max_messages,
            max_tool_rounds=settings.agent.max_tool_rounds,
            max_tokens=settings.llm.max_tokens,
        ),
        facts=memory.recall,
        learner=memory.learner,
        home=HomeTurns(home, FastPath() if settings.home_assistant.fast_path else None),
        timers=TimerTurns(pool, notify.store),
    )
    return brain, status


def build_services(
    settings: Settings,
    pool: asyncpg.Pool,
    memory: Memory,
    home: HomeService,
    notify: Notifications,
    weather: OpenMeteo,
    mcp: McpService,
    extra_tools: Sequence[Tool] = (),
) -> Services:
    auth_cfg = settings.auth
    tokens = TokenService(
        _secret(auth_cfg.jwt_secret, "auth.jwt_secret"),
        access_ttl_seconds=auth_cfg.access_token_ttl_seconds,
        voice_ttl_seconds=settings.livekit.voice_session_ttl_seconds,
    )
    policy = AuthPolicy(
        password_min_length=auth_cfg.password_min_length,
        refresh_ttl=timedelta(days=auth_cfg.refresh_token_ttl_days),
        session_max_age=timedelta(days=auth_cfg.session_max_days),
        rate_limit_window_seconds=auth_cfg.rate_limit_window_seconds,
        rate_limit_per_ip=auth_cfg.rate_limit_per_ip,
        rate_limit_per_username=auth_cfg.rate_limit_per_username,
    )
    lk = settings.livekit
    lk_key = _secret(lk.api_key, "livekit.api_key")
    lk_secret = _secret(lk.api_secret, "livekit.api_secret")
    brain, llm_status = build_brain(settings, pool, memory, home, notify, weather, mcp, extra_tools)
    return Services(
        pool=pool,
        brain=brain,
        llm_status=llm_status,
        keepalive_seconds=settings.agent.keepalive_seconds,
        tokens=tokens,
        accounts=Accounts(tokens, policy),
        livekit=LiveKitConfig(
            settings=lk,
            api_key=lk_key,
            api_secret=lk_secret,
            rooms=LiveKitRooms(lk.http_url, lk_key, lk_secret, RoomPolicy(lk.agent_name)),
            data_dir=settings.data_dir,
        ),
        cookie=CookiePolicy(secure=settings.cookie_secure),
        local_authority=(
            authority_path(settings.data_dir) if settings.server.tls == "local" else None
        ),
        memory=memory,
        home=home,
        notify=notify,
        weather=weather,
        mcp=mcp,
    )


def create_app(settings: Settings, dsn: str, *, extra_tools: Sequence[Tool] = ()) -> FastAPI:
    """The API for an already-migrated database at `dsn`, with secrets resolved.

    `extra_tools` join the built-in ones (the tools issue adds the household's tools).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            dsn,
            max_size=settings.database_pool_size,
            statement_timeout=settings.database_statement_timeout_seconds,
        )
        learner_llm = learning_llm(settings) if settings.memory.learning else None
        memory = await open_memory(pool, settings.memory, learner_llm)
        home = open_home(settings.home_assistant, pool, secret_box(settings, HOME_TOKEN_PURPOSE))
        notify = notifications(settings, pool)
        weather_client = httpx.AsyncClient(trust_env=False)
        weather = OpenMeteo(
            settings.weather.forecast_url, settings.weather.geocoding_url, weather_client
        )
        mcp = McpService(
            pool,
            settings.mcp.servers,
            McpHub(
                call_timeout=settings.mcp.call_timeout_seconds,
                connect_timeout=settings.mcp.connect_timeout_seconds,
            ),
        )
        services = build_services(settings, pool, memory, home, notify, weather, mcp, extra_tools)
        services.whatsapp = open_whatsapp(
            pool, services.brain, settings.whatsapp, settings.stt, settings.tts
        )
        app.state.services = services
        memory.start()
        await home.start()
        if services.whatsapp is not None:
            services.whatsapp.start(notify.dispatcher)  # before the dispatcher's first poll
        notify.start()
        await mcp.start()
        try:
            yield
        finally:
            await mcp.aclose()
            await notify.aclose()
            if services.whatsapp is not None:
                await services.whatsapp.aclose()
            await weather_client.aclose()
            await home.aclose()
            await memory.aclose()
            await services.livekit.rooms.aclose()
            for provider in (services.brain.provider, learner_llm):
                if provider is not None:
                    await provider.aclose()
            await pool.close()

    redact_tokens()
    # /docs is the web app's page (no CDN); /openapi.json is served by openapi_router.
    app = FastAPI(
        title="Butler API",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.server.max_body_bytes,
        path_limits={whatsapp.WEBHOOK_PATH: whatsapp.WEBHOOK_MAX_BYTES},
        read_timeout=settings.server.body_read_timeout_seconds,
    )
    app.add_middleware(NoStoreApi)
    app.add_middleware(SecurityHeaders, livekit_browser_url=settings.livekit.browser_url)
    app.add_middleware(RequestMetrics)  # its time includes the others'
    app.add_middleware(RequestIds)  # outermost: every log line of a request carries its id
    for router in (
        health.router,
        auth.router,
        users.router,
        admin.router,
        latency.router,
        checks.router,
        chat.router,
        voice.router,
        livekit_webhook.router,
        livekit_relay.router,
        certificate.router,
        memory_routes.router,
        home_routes.router,
        reminders.router,
        voice_notices.router,
        mcp_routes.router,
        whatsapp.router,
        openapi_router(admins_only=settings.mode is Mode.PRODUCTION),
        metrics_router(token=_optional(settings.server.metrics_token)),
    ):
        app.include_router(router)
    customise_openapi(app)
    mount_web_app(app, settings.server.web_dir, source_maps=settings.mode is not Mode.PRODUCTION)
    return app


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The API's OpenAPI document, without a database or secrets (for `butler openapi`)."""
    return create_app(settings, dsn="").openapi()
