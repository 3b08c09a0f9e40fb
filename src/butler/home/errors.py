"""What can go wrong with Home Assistant, each with a sentence a person can hear."""

from __future__ import annotations

from butler.errors import ButlerError


class HomeError(ButlerError):
    code = "home_error"
    status = 502


class HomeNotConfigured(HomeError):
    code = "home_not_configured"
    status = 409


class HomeUnavailable(HomeError):
    code = "home_unavailable"
    status = 503
    retryable = True


class HomeRefused(HomeError):
    """Home Assistant refused the access token: retrying will not help."""

    code = "home_refused"
    status = 502


class HomeCommandFailed(HomeError):
    code = "home_command_failed"
    status = 502
