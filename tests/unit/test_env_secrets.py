"""`butler secrets`: a production environment file with strong random secrets, written
once and never changed under a running household."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from butler.cli import main
from butler.config import Mode, Settings
from butler.secret_keys import check_production_secrets

NAMES = {
    "BUTLER_AUTH__JWT_SECRET",
    "BUTLER_AUTH__ENCRYPTION_KEY",
    "BUTLER_LIVEKIT__API_KEY",
    "BUTLER_LIVEKIT__API_SECRET",
    "BUTLER_SERVER__METRICS_TOKEN",
    "POSTGRES_PASSWORD",
}


def test_a_new_file_holds_every_secret_strong_and_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "deploy" / ".env"
    assert main(["secrets", "--out", str(env)]) == 0
    values = dotenv_values(env)
    assert set(values) >= NAMES and values["BUTLER_MODE"] == "production"
    secrets = [values[name] or "" for name in NAMES]
    assert len(set(secrets)) == len(NAMES), "each secret is its own"
    assert all(len(s) >= 16 for s in secrets)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    printed = capsys.readouterr()
    assert all(s not in printed.out + printed.err for s in secrets), "values are never shown"
    # Production accepts what it wrote.
    monkeypatch.chdir(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value or "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.mode is Mode.PRODUCTION
    check_production_secrets(settings)


def test_running_it_again_changes_nothing(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert main(["secrets", "--out", str(env)]) == 0
    before = env.read_bytes()
    assert main(["secrets", "--out", str(env)]) == 0
    assert env.read_bytes() == before


def test_existing_values_and_comments_are_kept_and_empty_ones_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    mine = "my-own-jwt-secret-that-is-long-enough-0123456789"
    env.write_text(
        "# my settings\n"
        f"BUTLER_AUTH__JWT_SECRET='{mine}'\n"
        "BUTLER_LIVEKIT__API_SECRET=\n"  # as copied from .env.example: not set
        "BUTLER_DOMAIN=butler.example.org\n"
    )
    assert main(["secrets", "--out", str(env)]) == 0
    text = env.read_text()
    values = dotenv_values(env)
    assert text.startswith("# my settings\n")
    assert values["BUTLER_AUTH__JWT_SECRET"] == mine
    assert values["BUTLER_DOMAIN"] == "butler.example.org"
    assert len(values["BUTLER_LIVEKIT__API_SECRET"] or "") >= 32
    assert text.count("BUTLER_LIVEKIT__API_SECRET=") == 1, "filled in place, not repeated"
    assert "BUTLER_MODE" not in values, "an existing file's mode is the person's choice"
    out = capsys.readouterr().out
    assert "kept BUTLER_AUTH__JWT_SECRET" in out and "added BUTLER_LIVEKIT__API_SECRET" in out


def test_a_weak_value_is_kept_but_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("BUTLER_LIVEKIT__API_SECRET=secret\n")
    assert main(["secrets", "--out", str(env)]) == 1
    assert dotenv_values(env)["BUTLER_LIVEKIT__API_SECRET"] == "secret"
    assert "well-known default" in capsys.readouterr().err


def test_a_folder_or_unwritable_place_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["secrets", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("groceries")
    assert main(["secrets", "--out", str(not_a_folder / ".env")]) == 2
    assert "Cannot write" in capsys.readouterr().err
    assert not_a_folder.read_text() == "groceries"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"], "nothing half-written"
