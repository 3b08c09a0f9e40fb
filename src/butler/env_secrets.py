"""`butler secrets`: an environment file with strong random secrets for a production stack.

It holds every secret production mode demands (secret_keys.SECRETS) and the PostgreSQL
password deploy/compose.yml builds the database URL from. A value already in the file is
never replaced: running it again only adds what is missing, so the database password and
the signing keys of a running household never change under it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from butler.errors import ConfigError
from butler.secret_keys import SECRETS, SecretSpec, generate, problem

POSTGRES_PASSWORD = "POSTGRES_PASSWORD"  # noqa: S105 (a variable's name)
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_HEADER = """\
# Written by `butler secrets`. Keep it private (mode 0600) and out of version control,
# and back it up with the database: without these values the backups cannot be read
# by a new server (sessions, saved tokens) and voice cannot join LiveKit.
BUTLER_MODE=production
"""


def env_name(spec: SecretSpec) -> str:
    return spec.env_var.split()[0]  # "BUTLER_LIVEKIT__API_KEY (or LIVEKIT_API_KEY)"


@dataclass
class SecretsReport:
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # kept values production refuses


def _wanted() -> list[tuple[str, SecretSpec | None]]:
    return [(env_name(spec), spec) for spec in SECRETS] + [(POSTGRES_PASSWORD, None)]


def _unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def write_secrets(path: Path) -> SecretsReport:
    """Add each missing or empty secret to the file at `path` (created 0600 if absent)."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder: give the file to write, e.g. {path / '.env'}")
    try:
        text = path.read_text() if path.exists() else _HEADER
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from exc
    lines = text.splitlines()
    where: dict[str, tuple[int, str]] = {}  # name: (line index, value)
    for index, line in enumerate(lines):
        if match := _LINE.match(line):
            where[match.group(1)] = (index, _unquoted(match.group(2)))
    report = SecretsReport()
    for name, spec in _wanted():
        index, current = where.get(name, (-1, ""))
        if current:
            report.kept.append(name)
            if spec is not None and (trouble := problem(spec, SecretStr(current))):
                report.warnings.append(trouble)
            continue
        value = generate(spec) if spec is not None else secrets.token_urlsafe(32)
        if index < 0:
            lines.append(f"{name}={value}")
        else:
            lines[index] = f"{name}={value}"
        report.added.append(name)
    if report.added or not path.exists():
        _write_private(path, "\n".join(lines) + "\n")
    return report


def _write_private(path: Path, text: str) -> None:
    """Written whole or not at all, readable by its owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {path}: {exc}") from exc
