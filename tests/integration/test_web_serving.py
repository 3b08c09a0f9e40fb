"""`butler serve` serves the built web app at / by the app's cache rules, and the API
keeps its own answers: JSON 404s and 405s, `no-store` on every response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from butler.config import Mode
from butler.users.models import Role
from tests.integration.test_cli import _butler, _env
from tests.support import live_server, make_settings, register


@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    (folder / "assets").mkdir()
    (folder / "index.html").write_text("<!doctype html><title>Butler</title><div id=root>")
    (folder / "assets" / "index-3f2a9c.js").write_text("console.log('app')")
    (folder / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (folder / "push-sw.js").write_text("self.addEventListener('push', () => {})")
    (folder / "manifest.webmanifest").write_text('{"name": "Butler"}')
    (folder / "api-docs.html").write_text(
        '<!doctype html><title>Butler API reference</title><script src="/assets/apiDocs.js">'
    )
    return folder


@pytest.fixture(scope="module")
def web(built_app: Path, dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("web-serving"))
    settings.server.web_dir = built_app
    with live_server(settings, dsn) as url:
        yield url


def test_the_shell_and_the_service_worker_are_revalidated_assets_cached(web: str) -> None:
    shell = httpx.get(web + "/")
    assert shell.status_code == 200 and "<div id=root>" in shell.text
    assert shell.headers["cache-control"] == "no-cache"
    # The service worker imports push-sw.js through the HTTP cache: never a stale one.
    for path in ("/sw.js", "/push-sw.js", "/manifest.webmanifest"):
        assert httpx.get(web + path).headers["cache-control"] == "no-cache", path
    asset = httpx.get(web + "/assets/index-3f2a9c.js")
    assert asset.text == "console.log('app')"
    assert "immutable" in asset.headers["cache-control"]


def test_app_routes_get_the_shell_but_missing_files_stay_missing(web: str) -> None:
    for path in ("/settings", "/chat/today", "/?invite=ABC"):
        response = httpx.get(web + path)
        assert response.status_code == 200 and "<div id=root>" in response.text, path
    assert httpx.get(web + "/assets/gone-123.js").status_code == 404
    assert httpx.get(web + "/icons/nothing.png").status_code == 404


def test_paths_outside_the_folder_are_never_served(web: str) -> None:
    for path in (
        "/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/..%2f..%2fsecrets.json",
    ):
        response = httpx.get(web + path)
        assert "root:" not in response.text and "jwt" not in response.text, path


def test_the_api_keeps_its_json_errors_and_is_never_cached(web: str) -> None:
    missing = httpx.get(web + "/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert missing.headers["cache-control"] == "no-store"
    wrong_method = httpx.get(web + "/api/chat")
    assert wrong_method.status_code == 405
    assert httpx.get(web + "/healthz").headers["content-type"].startswith("application/json")
    refused = httpx.post(web + "/api/auth/refresh")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"


def test_without_a_build_the_root_says_how_to_build_it(
    dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("no-web"))
    settings.server.web_dir = tmp_path_factory.mktemp("empty-dist")
    with live_server(settings, dsn) as url:
        response = httpx.get(url + "/")
        assert response.status_code == 503
        assert "make web" in response.text
        assert httpx.get(url + "/healthz").status_code == 200


def test_openapi_command_publishes_the_stream_events(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    result = _butler("openapi", "--out", str(out), env=_env(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(out.read_text())
    assert "/api/chat/stream" in document["paths"]
    events = document["components"]["schemas"]["ChatStreamEvents"]["properties"]
    assert set(events) == {"text_delta", "tool_started", "tool_finished", "done", "error"}
    done = document["components"]["schemas"]["DoneData"]
    assert set(done["required"]) == {"message_id", "should_end_turn", "home_action_id"}
    assert not (tmp_path / "data" / "secrets.json").exists()  # no secrets were made

    unwritable = _butler("openapi", "--out", "/proc/nope/openapi.json", env=_env(tmp_path))
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr


def test_the_app_and_the_api_carry_security_headers(web: str) -> None:
    shell = httpx.get(web + "/")
    policy = shell.headers["content-security-policy"]
    for rule in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
    ):
        assert rule in policy, rule
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    api = httpx.get(web + "/api/users/me")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    for response in (shell, api, httpx.get(web + "/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_a_livekit_server_elsewhere_may_be_reached_from_the_app(
    built_app: Path, dsn: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    settings.server.web_dir = built_app
    # Another origin on loopback: only named in a header, never contacted.
    settings.livekit.public_url = "wss://127.0.0.2:7443"
    with live_server(settings, dsn) as url:
        policy = httpx.get(url + "/").headers["content-security-policy"]
    connect = next(p for p in policy.split("; ") if p.startswith("connect-src"))
    assert connect.split() == [
        "connect-src",
        "'self'",
        "wss://127.0.0.2:7443",
        "https://127.0.0.2:7443",
    ]


def test_source_maps_are_served_only_outside_production(
    built_app: Path, dsn: str, tmp_path: Path, web: str
) -> None:
    (built_app / "assets" / "index-3f2a9c.js.map").write_text('{"version": 3}')
    assert httpx.get(web + "/assets/index-3f2a9c.js.map").status_code == 200
    production = make_settings(tmp_path)
    production.server.web_dir = built_app
    production.mode = Mode.PRODUCTION
    with live_server(production, dsn) as url:
        assert httpx.get(url + "/assets/index-3f2a9c.js.map").status_code == 404
        assert httpx.get(url + "/assets/index-3f2a9c.js").status_code == 200


def test_the_api_reference_is_the_apps_page_and_its_document_is_for_admins_in_production(
    built_app: Path, dsn: str, tmp_path: Path, web: str
) -> None:
    docs = httpx.get(web + "/docs")
    assert docs.status_code == 200 and "Butler API reference" in docs.text
    assert docs.headers["cache-control"] == "no-cache"
    # The app's own policy: no CDN script could load on this page.
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert httpx.get(web + "/redoc").status_code == 404
    # While developing, the document is public (the web build reads it too).
    assert "/api/chat" in httpx.get(web + "/openapi.json").json()["paths"]

    production = make_settings(tmp_path)
    production.server.web_dir = built_app
    production.mode = Mode.PRODUCTION
    with live_server(production, dsn) as url:
        assert httpx.get(url + "/docs").status_code == 200  # the page holds nothing
        anonymous = httpx.get(url + "/openapi.json")
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
        member = register(url, dsn)
        refused = member.client.get("/openapi.json", headers=member.auth)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        admin = register(url, dsn, Role.ADMIN)
        document = admin.client.get("/openapi.json", headers=admin.auth)
        assert document.status_code == 200 and "/api/chat" in document.json()["paths"]
        assert "/openapi.json" not in document.json()["paths"]
