"""Encryption of secrets kept in the database (a Home Assistant token saved in the app).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with
HKDF from `BUTLER_AUTH__ENCRYPTION_KEY`, so a copy of the database alone reveals nothing.
The purpose goes into the derivation: one setting can serve several kinds of secret
without their keys being the same.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from butler.config import Settings
from butler.errors import ButlerError


class SecretUnreadable(ButlerError):
    """Stored with another key (BUTLER_AUTH__ENCRYPTION_KEY changed) or damaged."""

    code = "secret_unreadable"
    status = 409


class SecretBox:
    def __init__(self, key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"butler/{purpose}/v1".encode(),
        ).derive(key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise SecretUnreadable(
                "A saved secret cannot be read with this server's BUTLER_AUTH__ENCRYPTION_KEY"
                " (was it changed?): enter it again."
            ) from exc


def secret_box(settings: Settings, purpose: str) -> SecretBox | None:
    """The box for `purpose`, or None when no encryption key is set (production)."""
    key = settings.auth.encryption_key
    return SecretBox(key.get_secret_value(), purpose) if key else None
