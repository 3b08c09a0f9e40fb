"""The app factory each uvicorn worker process calls when `butler serve` runs several.

The parent process has started the database, applied migrations and resolved the
development secrets into the data folder; a worker reads the same settings from the
environment (and that file) and gets the database address from WORKER_DSN_VARIABLE.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from butler import logs
from butler.api.app import create_app
from butler.config import Settings
from butler.secret_keys import resolve_secrets

WORKER_DSN_VARIABLE = "BUTLER_INTERNAL_WORKER_DSN"


def create_worker_app() -> FastAPI:
    settings = resolve_secrets(Settings())
    logs.configure(settings.log_level, json_lines=settings.json_logs)
    return create_app(settings, os.environ[WORKER_DSN_VARIABLE])
