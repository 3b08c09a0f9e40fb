"""Secrets: generated and kept in the data folder in development, demanded in production.

In development a missing secret is generated once and stored in `<data_dir>/secrets.json`
(mode 0600) so tokens survive restarts. In production a missing, short or well-known
secret stops the server with a message naming the variable to set.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from butler.config import Mode, Settings
from butler.errors import ConfigError

# Values that appear in tutorials and sample files; never acceptable in production.
KNOWN_DEFAULTS = frozenset(
    {
        "devkey",
        "secret",
        "changeme",
        "change-me",
        "change_me",
        "password",
        "default",
        "test",
        "example",
        "your-secret-here",
        "supersecret",
    }
)


@dataclass(frozen=True)
class SecretSpec:
    section: str
    field: str
    env_var: str
    min_length: int
    # Optional secrets only enable a feature: production checks them only when set.
    required_in_production: bool = True


SECRETS = (
    SecretSpec("auth", "jwt_secret", "BUTLER_AUTH__JWT_SECRET", 32),
    SecretSpec("livekit", "api_key", "BUTLER_LIVEKIT__API_KEY (or LIVEKIT_API_KEY)", 8),
    SecretSpec("livekit", "api_secret", "BUTLER_LIVEKIT__API_SECRET (or LIVEKIT_API_SECRET)", 32),
    SecretSpec("auth", "encryption_key", "BUTLER_AUTH__ENCRYPTION_KEY", 32, False),
    SecretSpec("server", "metrics_token", "BUTLER_SERVER__METRICS_TOKEN", 32, False),
)


def _current(settings: Settings, spec: SecretSpec) -> SecretStr | None:
    value: SecretStr | None = getattr(getattr(settings, spec.section), spec.field)
    return value


def problem(spec: SecretSpec, value: SecretStr | None) -> str | None:
    if value is None or not value.get_secret_value().strip():
        return f"{spec.env_var} is not set"
    raw = value.get_secret_value()
    if raw.strip().lower() in KNOWN_DEFAULTS:
        return f"{spec.env_var} is a well-known default value; set a random one"
    if len(raw) < spec.min_length:
        return f"{spec.env_var} is too short: use at least {spec.min_length} random characters"
    return None


def check_production_secrets(settings: Settings) -> None:
    problems = [
        p
        for spec in SECRETS
        if (spec.required_in_production or _current(settings, spec) is not None)
        and (p := problem(spec, _current(settings, spec)))
    ]
    if problems:
        raise ConfigError(
            "Refusing to start in production mode: "
            + "; ".join(problems)
            + ". Generate values with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def generate(spec: SecretSpec) -> str:
    if spec.field == "api_key":
        return "butler-" + secrets.token_hex(8)
    return secrets.token_urlsafe(48)


def _load_store(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}. Fix or delete the file.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object. Fix or delete the file.")
    return {str(k): str(v) for k, v in data.items()}


def _write_store(path: Path, store: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(store, handle, indent=2)
    os.replace(tmp, path)


def resolve_secrets(settings: Settings) -> Settings:
    """Return settings with every secret present, or raise ConfigError (production)."""
    if settings.mode is Mode.PRODUCTION:
        check_production_secrets(settings)
        return settings

    path = settings.data_dir / "secrets.json"
    store = _load_store(path)
    changed = False
    updates: dict[str, dict[str, SecretStr]] = {}
    for spec in SECRETS:
        current = _current(settings, spec)
        if current is not None and current.get_secret_value().strip():
            continue
        key = f"{spec.section}.{spec.field}"
        if key not in store:
            store[key] = generate(spec)
            changed = True
        updates.setdefault(spec.section, {})[spec.field] = SecretStr(store[key])
    if changed:
        _write_store(path, store)
    sections = {
        name: getattr(settings, name).model_copy(update=fields) for name, fields in updates.items()
    }
    return settings.model_copy(update=sections)
