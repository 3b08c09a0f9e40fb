"""/metrics: Prometheus' text format, counting turns, model tokens and requests by route;
readable from this machine, by a scraper with the metrics token, or by an admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import SecretStr

from butler.users.models import Role
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import Account, live_server, make_settings, metric, register

SCRAPE_TOKEN = "a-scrape-token-for-prometheus-0123456789"
OUTSIDE = {"X-Forwarded-For": "203.0.113.7"}  # relayed by the trusted local proxy


def test_a_chat_turn_is_counted_with_its_tokens_and_its_request(
    chat_account: Account, wire: AnthropicWire
) -> None:
    def read() -> str:
        response = chat_account.client.get("/metrics")  # from this machine: no credential
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    before = read()
    wire.play(Reply.say("The bins go out on Thursday."))
    sent = chat_account.client.post(
        "/api/chat", json={"message": "When do the bins go out?"}, headers=chat_account.auth
    )
    assert sent.status_code == 200, sent.text
    after = read()

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("butler_turns_total", channel="text", outcome="answered") == 1
    assert grew("butler_model_tokens_total", kind="input") > 0
    assert grew("butler_model_tokens_total", kind="output") > 0
    assert (
        grew(
            "butler_http_request_duration_seconds_count",
            method="POST",
            route="/api/chat",
            status="200",
        )
        == 1
    )
    # Route templates, never raw paths, names or words of a conversation.
    assert "bins" not in after and chat_account.username not in after


def test_metrics_are_for_this_machine_a_scraper_with_the_token_or_an_admin(
    dsn: str, tmp_path: Path, new_account: Callable[..., Account]
) -> None:
    settings = make_settings(tmp_path)
    settings = settings.model_copy(
        update={
            "server": settings.server.model_copy(update={"metrics_token": SecretStr(SCRAPE_TOKEN)})
        }
    )
    with live_server(settings, dsn) as url, httpx.Client(base_url=url) as client:
        admin, member = register(url, dsn, Role.ADMIN), register(url, dsn)

        def status(headers: dict[str, str]) -> int:
            return client.get("/metrics", headers={**OUTSIDE, **headers}).status_code

        assert client.get("/metrics").status_code == 200  # this machine
        assert status({}) == 401
        assert status({"Authorization": "Bearer not-the-token"}) == 401
        assert status({"Authorization": f"Bearer {SCRAPE_TOKEN}"}) == 200
        assert status(member.auth) == 403
        assert status(admin.auth) == 200
        refused = client.get("/metrics", headers=OUTSIDE)
        assert refused.json()["error"] == "not_authenticated", "a JSON error like any other"
