"""Settings and secrets: generated in development, demanded in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from butler.config import Mode, Settings
from butler.errors import ConfigError
from butler.secret_keys import resolve_secrets

STRONG = "s" * 20 + "T0k3n-" + "q" * 30


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("BUTLER_", "LIVEKIT_")):
            monkeypatch.delenv(name)


def test_development_generates_secrets_once_and_keeps_them_private(tmp_path: Path) -> None:
    first = resolve_secrets(_settings(tmp_path))
    second = resolve_secrets(_settings(tmp_path))
    assert first.auth.jwt_secret is not None and second.auth.jwt_secret is not None
    assert first.auth.jwt_secret.get_secret_value() == second.auth.jwt_secret.get_secret_value()
    assert len(first.auth.jwt_secret.get_secret_value()) >= 32
    assert first.livekit.api_secret is not None
    store = tmp_path / "secrets.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


def test_explicit_secrets_win_over_generated_ones(tmp_path: Path) -> None:
    resolved = resolve_secrets(_settings(tmp_path, auth={"jwt_secret": STRONG}))
    assert resolved.auth.jwt_secret is not None
    assert resolved.auth.jwt_secret.get_secret_value() == STRONG


def test_secrets_never_appear_in_reprs(tmp_path: Path) -> None:
    resolved = resolve_secrets(_settings(tmp_path, auth={"jwt_secret": STRONG}))
    assert STRONG not in repr(resolved)
    assert STRONG not in str(resolved.model_dump())


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, "BUTLER_AUTH__JWT_SECRET is not set"),
        ({"auth": {"jwt_secret": "short"}}, "BUTLER_AUTH__JWT_SECRET is too short"),
        ({"auth": {"jwt_secret": "changeme"}}, "BUTLER_AUTH__JWT_SECRET is a well-known default"),
        (
            {
                "auth": {"jwt_secret": STRONG},
                "livekit": {"api_key": "devkey", "api_secret": STRONG},
            },
            "BUTLER_LIVEKIT__API_KEY (or LIVEKIT_API_KEY) is a well-known default",
        ),
        (
            {
                "auth": {"jwt_secret": STRONG},
                "livekit": {"api_key": "APIabcdef12", "api_secret": "secret"},
            },
            "BUTLER_LIVEKIT__API_SECRET (or LIVEKIT_API_SECRET) is a well-known default",
        ),
    ],
)
def test_production_refuses_missing_short_or_default_secrets(
    tmp_path: Path, values: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_secrets(_settings(tmp_path, mode="production", **values))
    assert named in caught.value.message
    assert not (tmp_path / "secrets.json").exists()


def test_production_accepts_strong_secrets(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        mode="production",
        auth={"jwt_secret": STRONG},
        livekit={"api_key": "APIabcdef12", "api_secret": STRONG + "x"},
    )
    assert resolve_secrets(settings).mode is Mode.PRODUCTION
    assert settings.cookie_secure is True


def test_livekit_variables_are_read_under_their_own_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://livekit.example.home")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIfromlivekit")
    monkeypatch.setenv("BUTLER_LIVEKIT__API_SECRET", STRONG)
    monkeypatch.setenv("BUTLER_AUTH__ACCESS_TOKEN_TTL_SECONDS", "600")
    settings = _settings(tmp_path)
    assert settings.livekit.url == "wss://livekit.example.home"
    assert settings.livekit.api_key is not None
    assert settings.livekit.api_key.get_secret_value() == "APIfromlivekit"
    assert settings.livekit.api_secret is not None
    assert settings.auth.access_token_ttl_seconds == 600


def test_butler_names_win_over_livekit_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEKIT_URL", "wss://from-livekit")
    monkeypatch.setenv("BUTLER_LIVEKIT__URL", "wss://from-butler")
    assert _settings(tmp_path).livekit.url == "wss://from-butler"


def test_access_tokens_cannot_outlive_fifteen_minutes(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        _settings(tmp_path, auth={"access_token_ttl_seconds": 3600})


def test_empty_variables_count_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUTLER_AUTH__JWT_SECRET", "")
    monkeypatch.setenv("BUTLER_AUTH__COOKIE_SECURE", "")
    resolved = resolve_secrets(_settings(tmp_path))
    assert resolved.auth.jwt_secret is not None
    assert len(resolved.auth.jwt_secret.get_secret_value()) >= 32
    assert resolved.cookie_secure is False


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")
    }

    def names(model: type, prefix: str) -> set[str]:
        found: set[str] = set()
        for field, info in model.model_fields.items():  # type: ignore[attr-defined]
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                found |= names(annotation, f"{prefix}{field.upper()}__")
            else:
                found.add(f"{prefix}{field.upper()}")
        return found

    assert names(Settings, "BUTLER_") == documented
