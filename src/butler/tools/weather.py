"""Weather from Open-Meteo (no key): current conditions and a short forecast, for the
person's home place or a place they name.

Both base URLs are settings, so tests (and a household's own mirror) point them
elsewhere. Places are found with Open-Meteo's geocoding API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from butler.errors import ButlerError, InvalidInput
from butler.tools.base import Tool, ToolContext, ToolError, tool

TIMEOUT = httpx.Timeout(6.0, connect=3.0)
MAX_DAYS = 7
# WMO weather interpretation codes, as Open-Meteo reports them.
_CONDITIONS = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "freezing fog",
    51: "light drizzle",
    53: "drizzle",
    55: "heavy drizzle",
    56: "light freezing drizzle",
    57: "freezing drizzle",
    61: "light rain",
    63: "rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "freezing rain",
    71: "light snow",
    73: "snow",
    75: "heavy snow",
    77: "snow grains",
    80: "light showers",
    81: "showers",
    82: "violent showers",
    85: "snow showers",
    86: "heavy snow showers",
    95: "thunderstorms",
    96: "thunderstorms with hail",
    99: "thunderstorms with heavy hail",
}


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "latitude": self.latitude, "longitude": self.longitude}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Place:
        return cls(str(value["name"]), float(value["latitude"]), float(value["longitude"]))


class WeatherUnavailable(ButlerError):
    code = "weather_unavailable"
    status = 502


class OpenMeteo:
    def __init__(self, forecast_url: str, geocoding_url: str, client: httpx.AsyncClient) -> None:
        self._forecast = forecast_url.rstrip("/")
        self._geocoding = geocoding_url.rstrip("/")
        self._client = client

    async def find_place(self, name: str) -> Place:
        """The best match for a place name; InvalidInput when there is none."""
        wanted = " ".join(name.split())
        if not 2 <= len(wanted) <= 100:
            raise InvalidInput("a place name is 2 to 100 characters")
        found = await self._get(
            f"{self._geocoding}/v1/search",
            {"name": wanted, "count": 1, "language": "en", "format": "json"},
        )
        results = found.get("results") or []
        if not results:
            raise InvalidInput(f"No place called {wanted!r} was found.")
        best = results[0]
        parts = (best.get("name"), best.get("admin1"), best.get("country"))
        label = ", ".join(str(part) for part in parts if part)
        return Place(label, float(best["latitude"]), float(best["longitude"]))

    async def report(self, place: Place, days: int) -> str:
        """The weather now and for `days` days, as sentences."""
        data = await self._get(
            f"{self._forecast}/v1/forecast",
            {
                "latitude": place.latitude,
                "longitude": place.longitude,
                "current": "temperature_2m,apparent_temperature,weather_code,wind_speed_10m",
                "daily": "weather_code,temperature_2m_max,temperature_2m_min,"
                "precipitation_probability_max",
                "timezone": "auto",
                "forecast_days": days,
            },
        )
        try:
            return _describe(place, data, days)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise WeatherUnavailable("The weather service answered something unexpected.") from exc

    async def _get(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.get(url, params=params, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            raise WeatherUnavailable("The weather service cannot be reached.") from exc
        if response.status_code != 200:
            raise WeatherUnavailable(f"The weather service answered {response.status_code}.")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise WeatherUnavailable("The weather service answered something unexpected.") from exc
        return body


def _describe(place: Place, data: dict[str, Any], days: int) -> str:
    current = data["current"]
    units = data.get("current_units") or {}
    degrees = units.get("temperature_2m", "°C")
    wind_unit = units.get("wind_speed_10m", "km/h")
    lines = [
        f"{place.name} now: {round(current['temperature_2m'])}{degrees}"
        f" (feels like {round(current['apparent_temperature'])}{degrees}),"
        f" {_condition(current['weather_code'])},"
        f" wind {round(current['wind_speed_10m'])} {wind_unit}."
    ]
    daily = data.get("daily") or {}
    for index, day in enumerate((daily.get("time") or [])[:days]):
        label = "Today" if index == 0 else "Tomorrow" if index == 1 else day
        rain = (daily.get("precipitation_probability_max") or [None] * (index + 1))[index]
        chance = f", {rain}% chance of rain" if rain is not None else ""
        lines.append(
            f"{label}: {_condition(daily['weather_code'][index])},"
            f" {round(daily['temperature_2m_min'][index])} to"
            f" {round(daily['temperature_2m_max'][index])}{degrees}{chance}."
        )
    return " ".join(lines)


def _condition(code: Any) -> str:
    return _CONDITIONS.get(int(code), "unsettled")


def weather_tools(service: OpenMeteo) -> list[Tool]:
    @tool(label="Checking the weather")
    async def weather(ctx: ToolContext, place: str = "", days: int = 1) -> str:
        """Current weather and the forecast for `days` days (1 to 7; 2 includes
        tomorrow). `place`: a town or city the user named; empty for where the user
        lives (their home place)."""
        days = min(MAX_DAYS, max(1, days))
        try:
            if place.strip():
                where = await service.find_place(place)
            elif ctx.user.home_place is not None:
                where = Place.from_json(ctx.user.home_place)
            else:
                raise ToolError(
                    "The user has not set their home place (Settings in the app); "
                    "ask which town they mean."
                )
            return await service.report(where, days)
        except (InvalidInput, WeatherUnavailable) as exc:
            raise ToolError(exc.message) from exc

    return [weather]
