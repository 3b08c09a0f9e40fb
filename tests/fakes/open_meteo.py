"""Open-Meteo's forecast and geocoding APIs on 127.0.0.1, answering as the real ones do
(the fields Butler asks for), for a few known places."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.threaded_http import serving_http

PLACES = {
    "leeds": {
        "name": "Leeds",
        "admin1": "England",
        "country": "United Kingdom",
        "latitude": 53.79648,
        "longitude": -1.54785,
        "timezone": "Europe/London",
    },
    "paris": {
        "name": "Paris",
        "admin1": "Île-de-France",
        "country": "France",
        "latitude": 48.85341,
        "longitude": 2.3488,
        "timezone": "Europe/Paris",
    },
}
# By latitude: (temperature now, feels like, WMO code now, [(code, min, max, rain %)]).
WEATHER = {
    53.79648: (7.4, 3.9, 61, [(63, 4.6, 8.9, 80), (3, 2.1, 6.0, 10)]),
    48.85341: (12.2, 11.0, 0, [(1, 8.0, 14.5, 0), (2, 7.5, 13.0, 5)]),
}


@dataclass
class FakeOpenMeteo:
    url: str = ""
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    failing: bool = False

    def _search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        found = PLACES.get(query.get("name", [""])[0].strip().lower())
        return {"results": [found]} if found else {"generationtime_ms": 0.1}

    def _forecast(self, query: dict[str, list[str]]) -> dict[str, Any]:
        latitude = float(query["latitude"][0])
        now, feels, code, days = WEATHER[latitude]
        count = int(query.get("forecast_days", ["7"])[0])
        days = (days * 4)[:count]
        return {
            "latitude": latitude,
            "current_units": {"temperature_2m": "°C", "wind_speed_10m": "km/h"},
            "current": {
                "time": "2026-12-02T12:00",
                "temperature_2m": now,
                "apparent_temperature": feels,
                "weather_code": code,
                "wind_speed_10m": 18.3,
            },
            "daily": {
                "time": [f"2026-12-{2 + i:02d}" for i in range(count)],
                "weather_code": [d[0] for d in days],
                "temperature_2m_min": [d[1] for d in days],
                "temperature_2m_max": [d[2] for d in days],
                "precipitation_probability_max": [d[3] for d in days],
            },
        }

    @contextmanager
    def running(self) -> Iterator[FakeOpenMeteo]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                fake.requests.append((parts.path, query))
                if fake.failing:
                    self._answer(500, {"error": True, "reason": "down"})
                elif parts.path == "/v1/search":
                    self._answer(200, fake._search(query))
                elif parts.path == "/v1/forecast":
                    self._answer(200, fake._forecast(query))
                else:
                    self._answer(404, {"error": True})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        with serving_http(Handler) as url:
            self.url = url
            yield self
