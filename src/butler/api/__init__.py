"""The Butler HTTP API (FastAPI): auth, users, admin, health."""
