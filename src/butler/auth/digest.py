"""One-way digests of bearer secrets (refresh tokens, invite codes) for storage.

The secrets are 128+ random bits, so a plain SHA-256 is enough: there is nothing to
brute-force, and lookup by digest stays a single indexed equality.
"""

from __future__ import annotations

import hashlib


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
