"""The admin's first-run checks: the model asked for a word, voice looked at, Home
Assistant's connection reported, each with what to fix."""

from __future__ import annotations

from collections.abc import Callable

from butler.users.models import Role
from tests.fakes.wire import AnthropicWire, Reply
from tests.support import Account, register


def _checks(account: Account) -> dict[str, dict[str, object]]:
    response = account.client.get("/api/admin/checks", headers=account.auth)
    assert response.status_code == 200, response.text
    return {check["name"]: check for check in response.json()}


def test_a_working_model_and_an_optional_home(chat_url: str, dsn: str, wire: AnthropicWire) -> None:
    admin = register(chat_url, dsn, Role.ADMIN)
    checks = _checks(admin)
    assert checks["model"]["ok"] is True and "Answering" in str(checks["model"]["detail"])
    assert wire.requests[-1]["max_tokens"] <= 16
    assert checks["home"]["ok"] is True and "optional" in str(checks["home"]["detail"])
    assert set(checks) == {"model", "voice", "home"}

    wire.play(Reply.fail(401, "authentication_error"))
    refused = _checks(admin)["model"]
    assert refused["ok"] is False and refused["fix"]
    assert "sk-ant-test" not in str(refused)

    member = register(chat_url, dsn)
    assert member.client.get("/api/admin/checks", headers=member.auth).status_code == 403


def test_no_model_says_what_to_set(new_account: Callable[..., Account]) -> None:
    model = _checks(new_account(Role.ADMIN))["model"]
    assert model["ok"] is False
    assert "ANTHROPIC_API_KEY" in str(model["fix"])
