"""Authentication: passwords, JWT access tokens, refresh rotation, invites, LiveKit tokens."""
