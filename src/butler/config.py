"""Butler's settings: one pydantic-settings model, env prefix BUTLER_, nested with __.

Only entry points (the CLI, test fixtures) build `Settings`; everything below takes
arguments. `.env.example` documents every field here.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "butler"


class AuthSettings(BaseModel):
    jwt_secret: SecretStr | None = None
    # Encrypts secrets kept in the database (a Home Assistant token an admin saves in
    # the app). Generated in development; unset in production: such saving is refused.
    encryption_key: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    # A sign-in lasts at most this long, however often it is refreshed.
    session_max_days: int = Field(default=90, ge=1, le=3650)
    password_min_length: int = Field(default=10, ge=8, le=128)
    invite_ttl_days: float = Field(default=7, gt=0, le=90)
    cookie_secure: bool | None = None  # None: Secure in production, not in development
    rate_limit_window_seconds: int = Field(default=300, ge=1)
    rate_limit_per_ip: int = Field(default=30, ge=1)
    rate_limit_per_username: int = Field(default=10, ge=1)


class LiveKitSettings(BaseModel):
    # The LiveKit server the API and the voice worker use. Unset: `butler serve` runs and
    # supervises its own on this machine (the embedded stack), with a voice worker.
    url: str | None = None
    # The address browsers are told to connect to; unset: `url`, or the embedded server's.
    public_url: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    agent_name: str = "butler"
    token_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    voice_session_ttl_seconds: int = Field(default=3600, ge=60, le=4 * 3600)
    # ICE servers ("stun:host:port", "turn:host:port") handed to browsers and used by the
    # embedded server. None by default: on loopback and a home network, host candidates
    # connect, and nothing contacts an address outside the network.
    ice_servers: list[str] = []
    # The embedded server: its binary (unset: the project's .tools folder, then PATH),
    # the address media is offered on (`butler serve --lan` sets it to this machine's
    # address on the home network), and its ports (signalling, ICE over TCP and UDP).
    server_binary: Path | None = None
    node_ip: str = "127.0.0.1"
    port: int = Field(default=7880, ge=1, le=65535)
    rtc_tcp_port: int = Field(default=7881, ge=1, le=65535)
    rtc_udp_port: int = Field(default=7882, ge=1, le=65535)
    # Where a voice worker answers its health check (200 only while registered): the
    # port, and the address it listens on (127.0.0.1; in a container, 0.0.0.0 so that
    # the API can ask across the stack's private network).
    worker_health_port: int = Field(default=8081, ge=1, le=65535)
    worker_health_host: str = "127.0.0.1"
    # Where the API and `butler doctor` ask a worker running elsewhere whether it is
    # registered (e.g. http://voice:8081/); unset: such a worker is not checked.
    worker_health_url: str | None = None

    @property
    def embedded(self) -> bool:
        return not self.url

    @property
    def server_url(self) -> str:
        """The server's address for the API and the worker."""
        return self.url or f"ws://127.0.0.1:{self.port}"

    @property
    def browser_url(self) -> str | None:
        """The server's address for browsers; None: Butler's own origin, which relays
        the embedded server's signalling (see api/routes/livekit_relay.py)."""
        return self.public_url or self.url

    @property
    def http_url(self) -> str:
        """The server's HTTP API (room service, agent dispatch)."""
        url = self.server_url
        return "http" + url[2:] if url.startswith("ws") else url


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # A request's line and headers: at most this many bytes (431 above), arriving within
    # this many seconds (408, and the connection closed, after).
    max_header_bytes: int = Field(default=32 * 1024, ge=4096, le=1024 * 1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Seconds a request body may go without a byte before the request is refused (408).
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # API processes; more than one spreads requests over the cores (the API is stateless).
    workers: int = Field(default=1, ge=1, le=64)
    forwarded_allow_ips: str = "127.0.0.1"
    # "local": HTTPS with a certificate for this machine's addresses, signed by a
    # certificate authority Butler makes once in the data folder (`butler serve --lan`
    # sets it: a phone's browser gives the microphone only to a secure page).
    tls: Literal["off", "local"] = "off"
    # The built web app (`make web`); unset means web/dist beside the source tree.
    web_dir: Path | None = None
    # A bearer token a Prometheus server presents for /metrics from another machine
    # (from this machine no token is needed; an admin's access token also works).
    metrics_token: SecretStr | None = None


class LLMSettings(BaseModel):
    provider: Literal["anthropic", "openai"] = "anthropic"
    model: str = "claude-sonnet-5-5"
    api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None  # read from ANTHROPIC_API_KEY
    base_url: str | None = None
    max_tokens: int = Field(default=1024, ge=16, le=32_000)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_attempts: int = Field(default=3, ge=1, le=6)
    # Whether the model is shown photos sent on WhatsApp; unset: yes for Claude, no for
    # an OpenAI-compatible server (set true for a vision model there).
    vision: bool | None = None

    def key(self) -> str | None:
        """The API key for the chosen provider; ANTHROPIC_API_KEY only ever goes to Claude."""
        chosen = self.api_key or (self.anthropic_api_key if self.provider == "anthropic" else None)
        return chosen.get_secret_value() if chosen else None


class AgentSettings(BaseModel):
    history_days: float = Field(default=7, gt=0, le=365)
    history_max_messages: int = Field(default=40, ge=0, le=500)
    max_tool_rounds: int = Field(default=5, ge=1, le=20)
    tool_timeout_seconds: float = Field(default=20, gt=0, le=300)
    keepalive_seconds: float = Field(default=15, gt=0, le=300)


class MemorySettings(BaseModel):
    # Embeddings: "local" runs all-MiniLM-L6-v2 (int8) in-process; "openai" calls
    # any OpenAI-compatible /v1/embeddings server; "none" leaves recall to full-text search.
    embedding_provider: Literal["local", "openai", "none"] = "local"
    embedding_model: str = "all-MiniLM-L6-v2"  # the server's model id for "openai"
    embedding_base_url: str | None = None
    embedding_api_key: SecretStr | None = None
    embedding_dimensions: int = Field(default=384, ge=8, le=2000)  # pgvector HNSW limit
    # A turn waits this long for its query embedding, then recalls by full text alone.
    embedding_timeout_ms: int = Field(default=60, ge=1, le=5000)
    # Where the local model's int8 conversion is kept (made once, ~23 MB); unset:
    # $XDG_CACHE_HOME/butler/models, else ~/.cache/butler/models.
    model_cache_dir: Path | None = None
    context_facts: int = Field(default=8, ge=0, le=50)
    context_token_budget: int = Field(default=400, ge=0, le=4000)
    dedupe_similarity: float = Field(default=0.9, gt=0, le=1)
    history_retention_days: float = Field(default=365, gt=0)
    retention_interval_hours: float = Field(default=6, gt=0, le=24 * 7)
    learning: bool = True
    # A cheap model of the configured provider; unset: claude-haiku-4-5 for Anthropic, the
    # chat model for an OpenAI-compatible server.
    learning_model: str | None = None
    learning_daily_cap: int = Field(default=40, ge=0, le=10_000)

    @model_validator(mode="after")
    def _local_model_dimensions(self) -> Self:
        if self.embedding_provider == "local" and self.embedding_dimensions != 384:
            raise ValueError(
                "the local embedding model makes 384 dimensions: set "
                "BUTLER_MEMORY__EMBEDDING_DIMENSIONS=384, or choose another provider"
            )
        return self


class STTSettings(BaseModel):
    provider: Literal["groq", "local", "openai"] = "groq"
    model: str = "whisper-large-v3-turbo"  # groq/openai model; local uses tiny.en
    # openai: the OpenAI-compatible transcription server; groq: unset = Groq's own API
    base_url: str | None = None
    api_key: SecretStr | None = None  # read from GROQ_API_KEY for groq
    language: str = "en"
    fallback_to_local: bool = True


class TTSSettings(BaseModel):
    provider: Literal["kokoro", "piper"] = "kokoro"
    base_url: str = "http://localhost:8880/v1"
    model: str = "kokoro"
    fallback_to_local: bool = True


class VoiceSettings(BaseModel):
    vad_min_silence_seconds: float = Field(default=0.3, ge=0.05, le=3)
    # The quiet that ends the speech once its words are a complete home command (the
    # API answered them on its fast path, voice/command_endings): nothing more is needed,
    # and the reply is ready. Never longer than vad_min_silence_seconds.
    command_silence_seconds: float = Field(default=0.15, ge=0.05, le=3)
    # Transcribe the utterance so far after this much quiet and start the reply on it;
    # kept if the speech then ends (0 turns it off: transcription waits for the VAD).
    # Unset: 0.03 s (one of Silero's 32 ms windows) with an STT service, 0.06 s with the
    # local whisper, where a guess the speaker talks over still holds the CPU to its end.
    preflight_pause_seconds: float | None = Field(default=None, ge=0, le=1)
    # How long after the end of speech the reply may be heard: when the person sounds
    # finished; when the words do but the voice does not (unsure); when the words do not.
    # (Measured from the VAD's end of speech, itself ~50 ms after the sound stops.)
    endpointing_min_delay_seconds: float = Field(default=0.55, ge=0, le=3)
    endpointing_unsure_delay_seconds: float = Field(default=1.0, ge=0, le=10)
    endpointing_max_delay_seconds: float = Field(default=1.6, ge=0.1, le=10)
    # Who judges that the person has finished: the text rule on the transcript, an
    # audio model on how the speech ended (`livekit`: LiveKit's on-device
    # turn-detector-v1-mini; `smart-turn`: Smart Turn v3.2), or both ("text+…": the
    # words decide between short and long, the sound can make a short wait unsure).
    # See bench/turn_taking.py for the figures behind the default.
    end_of_turn: Literal["text", "livekit", "smart-turn", "text+livekit", "text+smart-turn"] = (
        "text+smart-turn"
    )
    smart_turn_model: Path | None = None  # unset: where `make setup` installs it
    api_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    # Speech over the reply this long pauses it (livekit's default is 0.5 s).
    interrupt_after_seconds: float = Field(default=0.06, ge=0.02, le=2)
    # For this long after the butler first speaks in a session, speech over it is not
    # heard (livekit's guard while the listener's echo canceller settles; 0 = none).
    aec_warmup_seconds: float = Field(default=3.0, ge=0, le=10)
    greeting: str = ""
    # Voice sessions one worker takes at once; more are refused until one ends.
    max_sessions: int = Field(default=4, ge=1, le=64)
    apology: str = "Sorry, I can't think straight right now. Please try again in a moment."
    # Spoken when speech could not be transcribed (the STT and its fallback failed).
    unheard_apology: str = "Sorry, I didn't catch that. Could you say it again?"


class HomeAssistantSettings(BaseModel):
    """Home Assistant, for controlling the home (unset URL: no home control). An admin
    may also set both in the app; what is set here wins."""

    url: str | None = None  # e.g. http://homeassistant.local:8123
    token: SecretStr | None = None  # a long-lived access token (HA profile → Security)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)  # one command's answer
    confirm_seconds: float = Field(default=60.0, ge=10, le=600)  # an unconfirmed "yes?" lasts
    # Carry out plain home commands ("turn off the kitchen lights") without the LLM.
    fast_path: bool = True


class RemindersSettings(BaseModel):
    """Reminders and timers, and the notifications that carry them."""

    # How often each API process looks for what is due (an indexed query; with several
    # processes one fires each reminder, the others skip it).
    poll_seconds: float = Field(default=1.0, ge=0.05, le=60)
    # Web Push: the contact push services may write to about this server (RFC 8292).
    push_subject: str = "mailto:butler@localhost"
    # How long a push service keeps a notification for a phone that is off (0 would
    # drop it at once).
    push_ttl_seconds: int = Field(default=86_400, ge=60, le=2_419_200)
    # The VAPID private key (PEM or base64url raw): only for several servers sharing
    # subscriptions; unset, one is generated once into the data folder.
    vapid_private_key: SecretStr | None = None
    # Accept push endpoints on private, loopback and link-local addresses (a lab's own
    # push server, the tests). Off: such endpoints are refused as the server's networks.
    allow_private_push_endpoints: bool = False


class WeatherSettings(BaseModel):
    """Open-Meteo (no key needed): its forecast and geocoding services."""

    forecast_url: str = "https://api.open-meteo.com"
    geocoding_url: str = "https://geocoding-api.open-meteo.com"


McpPeople = Literal["everyone", "admins"]


def mcp_address(value: str) -> str:
    """A streamable-HTTP MCP server's address, or ValueError saying what it must be."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https address, like http://127.0.0.1:9000/mcp")
    return value


class McpServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Part of each of its tools' names (mcp_<name>__<tool>), so short and plain.
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")
    # stdio: the command and its arguments (and extra environment variables)...
    command: str | None = Field(default=None, min_length=1, max_length=500)
    args: list[str] = Field(default_factory=list, max_length=50)
    env: dict[str, str] = Field(default_factory=dict)
    # ...or streamable HTTP: the server's address.
    url: str | None = Field(default=None, max_length=2000)
    # Who may use its tools: its tools act with Butler's rights, not the person's.
    people: McpPeople = "admins"

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return None if value is None else mcp_address(value)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either a command (stdio) or a url (streamable HTTP)")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"


class McpSettings(BaseModel):
    """MCP servers whose tools the model may use (admins may add HTTP ones in the app).
    BUTLER_MCP__SERVERS is a JSON list, e.g.
    [{"name": "notes", "command": "uvx", "args": ["notes-mcp"], "people": "everyone"},
     {"name": "files", "url": "http://127.0.0.1:9000/mcp"}]"""

    servers: list[McpServerConfig] = Field(default_factory=list)
    # One tool call's limit (the agent's tool timeout still applies on top).
    call_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Connecting and listing a server's tools.
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class WhatsAppSettings(BaseModel):
    """The WhatsApp Cloud API channel: off until all four secrets are set."""

    access_token: SecretStr | None = None  # a system user's permanent token
    phone_number_id: str | None = Field(default=None, pattern=r"^[0-9]{1,30}$")
    app_secret: SecretStr | None = None  # signs every webhook (X-Hub-Signature-256)
    verify_token: SecretStr | None = None  # you choose it; Meta echoes it when subscribing
    api_base_url: str = "https://graph.facebook.com/v24.0"
    # Butler's number as people see it (shown in the app next to "link your number").
    display_number: str | None = Field(default=None, max_length=40)
    # Approved message templates for messages Butler starts outside WhatsApp's 24-hour
    # window: a reminder (one body parameter: the reminder) and a linking code (an
    # authentication template). Unset: a reminder falls back to push, and a code needs
    # the person to have written to Butler in the last 24 hours.
    reminder_template: str | None = Field(default=None, max_length=512)
    code_template: str | None = Field(default=None, max_length=512)
    template_language: str = Field(default="en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    poll_seconds: float = Field(default=1.0, ge=0.05, le=60)
    # How long a claim on a received message lasts: the process answering it renews it
    # every third of this; a process that died loses it after this long.
    lease_seconds: float = Field(default=60.0, ge=1, le=3600)

    @property
    def configured(self) -> bool:
        return bool(
            self.access_token and self.phone_number_id and self.app_secret and self.verify_token
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUTLER_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `BUTLER_AUTH__JWT_SECRET=` (as in .env.example) means "not set", not "empty".
        env_ignore_empty=True,
    )

    mode: Mode = Mode.DEVELOPMENT
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=2, le=200)
    # A statement running longer is ended and the request answers 503 database_unavailable.
    database_statement_timeout_seconds: float = Field(default=10, gt=0, le=600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object a line (for a log collector); "auto": JSON in production.
    log_format: Literal["auto", "text", "json"] = "auto"
    auth: AuthSettings = AuthSettings()
    livekit: LiveKitSettings = LiveKitSettings()
    server: ServerSettings = ServerSettings()
    llm: LLMSettings = LLMSettings()
    agent: AgentSettings = AgentSettings()
    memory: MemorySettings = MemorySettings()
    api_url: str = "http://127.0.0.1:8000"  # where the voice worker finds the Butler API
    # The authority that signed the API's certificate, if not a public one (the embedded
    # stack sets it when Butler serves HTTPS with its own local certificate).
    api_ca_file: Path | None = None
    stt: STTSettings = STTSettings()
    tts: TTSSettings = TTSSettings()
    voice: VoiceSettings = VoiceSettings()
    home_assistant: HomeAssistantSettings = HomeAssistantSettings()
    reminders: RemindersSettings = RemindersSettings()
    weather: WeatherSettings = WeatherSettings()
    mcp: McpSettings = McpSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()

    @property
    def cookie_secure(self) -> bool:
        if self.auth.cookie_secure is not None:
            return self.auth.cookie_secure
        return self.mode is Mode.PRODUCTION

    @property
    def json_logs(self) -> bool:
        if self.log_format == "auto":
            return self.mode is Mode.PRODUCTION
        return self.log_format == "json"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            VendorEnvSource(settings_cls),
            file_secret_settings,
        )


class VendorEnvSource(PydanticBaseSettingsSource):
    """Vendors' own variable names (LIVEKIT_URL, ANTHROPIC_API_KEY, ...) as fallbacks.

    The voice worker, livekit-server and the SDKs read those names, so one environment
    serves them all; a BUTLER_* variable still wins.
    """

    NAMES = {
        ("livekit", "url"): "LIVEKIT_URL",
        ("livekit", "api_key"): "LIVEKIT_API_KEY",
        ("livekit", "api_secret"): "LIVEKIT_API_SECRET",
        ("llm", "anthropic_api_key"): "ANTHROPIC_API_KEY",
        ("stt", "api_key"): "GROQ_API_KEY",
    }

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for (section, key), name in self.NAMES.items():
            if os.environ.get(name):
                found.setdefault(section, {})[key] = os.environ[name]
        return found
