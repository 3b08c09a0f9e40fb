"""The ButlerError hierarchy: domain errors carry a stable code and an HTTP status.

The API maps them to `{"error": code, "message": ...}` in one handler; the CLI prints
the message. `retryable` says whether the same call may succeed later.
"""

from __future__ import annotations


class ButlerError(Exception):
    code = "error"
    status = 400
    retryable = False
    retry_after_seconds: int | None = None  # sent as Retry-After when set

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(ButlerError):
    code = "config_error"
    status = 500


class InvalidInput(ButlerError):
    code = "invalid_request"
    status = 422


class NotAuthenticated(ButlerError):
    code = "not_authenticated"
    status = 401


class Forbidden(ButlerError):
    code = "forbidden"
    status = 403


class NotFound(ButlerError):
    code = "not_found"
    status = 404


class Conflict(ButlerError):
    code = "conflict"
    status = 409


class RateLimited(ButlerError):
    code = "rate_limited"
    status = 429
    retryable = True

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(ButlerError):
    code = "unavailable"
    status = 503
    retryable = True


class DatabaseUnavailable(Unavailable):
    """PostgreSQL is down, stalled or refusing connections; the request changed nothing."""

    code = "database_unavailable"
    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__("The database is not answering right now. Try again in a few seconds.")


class DatabaseLocked(ButlerError):
    """Another `butler serve` already owns this data folder."""

    code = "already_running"
    status = 409
