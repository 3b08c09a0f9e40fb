"""Bad requests get a 4xx with a reason; none produce a 500."""

from __future__ import annotations

import random
import socket
import string
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Account, live_server, make_settings


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
        (b"[1, 2, 3]", {"Content-Type": "application/json"}),
        (b'"just a string"', {"Content-Type": "application/json"}),
        (b"null", {"Content-Type": "application/json"}),
        (b'{"username": "a", "password": "b"}', {"Content-Type": "text/plain"}),
        (b"username=a&password=b", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"\xff\xfe\x00garbage", {"Content-Type": "application/json"}),
    ],
)
def test_malformed_bodies_are_4xx_with_a_reason(
    base_url: str, content: bytes, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{base_url}/api/auth/login", content=content, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["error"]
    assert body["message"]


def test_invalid_json_says_so(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/api/auth/login",
        content=b'{"username": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["message"] == "The request body is not valid JSON."


def test_wrong_types_and_unknown_fields_name_the_field(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/api/auth/login", json={"username": 42, "password": ["x"], "admin": True}
    )
    assert response.status_code == 422
    body = response.json()
    fields = {detail["field"] for detail in body["details"]}
    assert {"username", "password", "admin"} <= fields


def test_rejected_input_is_never_echoed_back(base_url: str) -> None:
    secret = "my-secret-password-" + "p" * 2000
    response = httpx.post(f"{base_url}/api/auth/login", json={"username": "u", "password": secret})
    assert response.status_code == 422
    assert "my-secret-password" not in response.text


def test_oversized_bodies_are_refused(base_url: str) -> None:
    big = b'{"username": "' + b"a" * 200_000 + b'", "password": "x"}'
    declared = httpx.post(
        f"{base_url}/api/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "body_too_large"

    def chunks() -> Any:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    streamed = httpx.post(
        f"{base_url}/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_a_body_that_stops_arriving_is_refused_not_waited_for(dsn: str, tmp_path: Path) -> None:
    """Content-Length says 100, ten bytes come, then nothing: 408 after the read
    timeout, and the server answers others meanwhile."""
    settings = make_settings(tmp_path)
    settings.server.body_read_timeout_seconds = 1.0
    with live_server(settings, dsn) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                b'{"usernam'
            )
            assert httpx.get(url + "/healthz").status_code == 200
            started = time.monotonic()
            answer = sock.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408"), answer
        assert '"body_timeout"' in answer
        assert time.monotonic() - started < 5


def test_unknown_routes_and_methods_answer_json(base_url: str) -> None:
    missing = httpx.get(f"{base_url}/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = httpx.get(f"{base_url}/api/auth/login")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_bad_path_parameters_are_422(new_account: Callable[..., Account]) -> None:
    from butler.users.models import Role

    admin = new_account(Role.ADMIN)
    response = admin.client.delete("/api/admin/users/not-a-uuid", headers=admin.auth)
    assert response.status_code == 422


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**70), 2**70)
    if kind == 3:
        return rng.random() * 10 ** rng.randint(-5, 300)
    if kind == 4:
        alphabet = string.printable + "\u00e9\u4e2d\U0001f600\x00"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    if kind == 5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [
        "code",
        "username",
        "display_name",
        "password",
        "soul",
        "voice",
        "timezone",
        "role",
        "expires_in_days",
        "butler_name",
        "x",
    ]
    return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_random_bodies_never_cause_a_server_error(
    base_url: str, new_account: Callable[..., Account]
) -> None:
    from butler.users.models import Role

    admin = new_account(Role.ADMIN)
    rng = random.Random(20261126)
    targets = [
        ("POST", "/api/auth/register"),
        ("POST", "/api/auth/login"),
        ("PATCH", "/api/users/me"),
        ("POST", "/api/admin/invites"),
        ("PATCH", f"/api/admin/users/{admin.user['id']}"),
    ]
    for _ in range(150):
        method, path = rng.choice(targets)
        response = admin.client.request(method, path, headers=admin.auth, json=_random_value(rng))
        assert response.status_code < 500, (method, path, response.text)
    assert admin.client.get("/api/users/me", headers=admin.auth).json()["role"] == "admin"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/users/me", {"display_name": "a\u0000b"}),
        ("PATCH", "/api/users/me", {"soul": {"custom_instructions": "x\u0000"}}),
        ("POST", "/api/auth/login", {"username": "al\u0000ice", "password": "x"}),
        ("POST", "/api/admin/invites", {"role": "member\u0000"}),
    ],
)
def test_nul_characters_are_refused_not_crashed_on(
    new_account: Callable[..., Account], method: str, path: str, body: dict[str, Any]
) -> None:
    from butler.users.models import Role

    admin = new_account(Role.ADMIN)
    response = admin.client.request(method, path, json=body, headers=admin.auth)
    assert response.status_code == 422, response.text
    assert "NUL" in response.text or response.json()["error"] == "invalid_request"


def test_deeply_nested_json_is_a_4xx(base_url: str) -> None:
    body = "[" * 20000 + "]" * 20000
    response = httpx.post(
        f"{base_url}/api/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500


@pytest.fixture(scope="module")
def guarded_url(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("guarded"))
    settings.server.header_timeout_seconds = 1.0
    with live_server(settings, dsn) as url:
        yield url


def _raw(url: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10)


def _answer(sock: socket.socket) -> str:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data.decode(errors="replace")


def test_a_huge_header_is_refused_at_once(guarded_url: str) -> None:
    with _raw(guarded_url) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000)
        answer = _answer(sock)
    assert answer.startswith("HTTP/1.1 431"), answer[:200]
    assert "headers_too_large" in answer and time.monotonic() - started < 1.0
    assert httpx.get(guarded_url + "/healthz").status_code == 200


def test_headers_trickled_in_or_never_sent_are_cut_off(guarded_url: str) -> None:
    with _raw(guarded_url) as trickler, _raw(guarded_url) as silent:
        started = time.monotonic()
        trickler.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for n in range(20):  # a header line every 0.2 s: each is "progress"
                time.sleep(0.2)
                trickler.sendall(b"X-Slow-%d: 1\r\n" % n)
        except (BrokenPipeError, ConnectionResetError):
            pass
        trickled = _answer(trickler)
        said_nothing = _answer(silent)
    assert trickled.startswith("HTTP/1.1 408") and "headers_timeout" in trickled
    assert said_nothing == ""  # closed without a word
    assert time.monotonic() - started < 4.5


def test_kept_alive_connections_serve_request_after_request(guarded_url: str) -> None:
    with httpx.Client(base_url=guarded_url) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(0.6)  # idle between requests is not a slow head


def test_booleans_and_numbers_must_be_json_booleans_and_numbers(
    new_account: Callable[..., Account],
) -> None:
    person = new_account()
    loose = person.client.post(
        "/api/chat", json={"message": "hello", "temporary": 0}, headers=person.auth
    )
    assert loose.status_code == 422, loose.text
    assert loose.json()["details"][0]["field"] == "temporary"
    for confidence in (False, "0.5"):
        fact = person.client.post(
            "/api/memory/facts",
            json={"fact": "likes tea", "confidence": confidence},
            headers=person.auth,
        )
        assert fact.status_code == 422, fact.text
        assert fact.json()["details"][0]["field"] == "confidence"
    whole = person.client.post(
        "/api/memory/facts", json={"fact": "likes tea", "confidence": 1}, headers=person.auth
    )
    assert whole.status_code == 201, whole.text


def test_a_405_names_every_method_of_the_path(new_account: Callable[..., Account]) -> None:
    person = new_account()
    options = person.client.options("/api/users/me", headers=person.auth)
    assert options.status_code == 405
    assert {m.strip() for m in options.headers["allow"].split(",")} >= {"GET", "PATCH"}


def test_the_document_describes_the_answers_of_reading_a_body(base_url: str) -> None:
    document = httpx.get(f"{base_url}/openapi.json").json()
    register = document["paths"]["/api/auth/register"]["post"]["responses"]
    for status in ("400", "408", "413", "422"):
        assert register[status]["content"]["application/json"]["schema"], status
    undecodable = httpx.post(
        f"{base_url}/api/auth/register",
        content=b"\xff\xfe{",
        headers={"Content-Type": "application/json"},
    )
    assert str(undecodable.status_code) in register
    challenge = document["paths"]["/api/channels/whatsapp/webhook"]["get"]["responses"]
    assert list(challenge["404"]["content"]) == ["application/json"]
