"""The Graph API client's error families, against httpx's mock transport: what is
tried again, what is not, and that a send is never repeated once Meta may have acted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from butler.channels.whatsapp.graph import GraphClient, WhatsAppError


def client(answers: list[httpx.Response | Exception]) -> tuple[GraphClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def no_wait(_: float) -> None:
        return None

    graph = GraphClient(
        "https://graph.example/v24.0",
        "1065",
        "token",
        timeout=5,
        client=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
        sleep=no_wait,
    )
    return graph, seen


def meta_error(status: int, code: int, details: str = "because") -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": "msg", "code": code, "error_data": {"details": details}}}
    )


def accepted(message_id: str = "wamid.1") -> httpx.Response:
    return httpx.Response(200, json={"messages": [{"id": message_id}]})


def send(graph: GraphClient) -> str:
    return asyncio.run(graph.send_text("447700900123", "hello", reply_to="wamid.in"))


def test_a_text_is_sent_as_the_cloud_api_expects() -> None:
    graph, seen = client([accepted("wamid.out")])
    assert send(graph) == "wamid.out"
    (request,) = seen
    assert request.url == "https://graph.example/v24.0/1065/messages"
    assert request.headers["authorization"] == "Bearer token"
    assert json.loads(request.content) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "text",
        "text": {"body": "hello", "preview_url": False},
        "context": {"message_id": "wamid.in"},
    }


def test_throttling_is_waited_out() -> None:
    graph, seen = client([meta_error(429, 130429), meta_error(400, 131056), accepted()])
    assert send(graph) == "wamid.1" and len(seen) == 3


def test_a_send_that_never_arrived_is_tried_again() -> None:
    graph, seen = client([httpx.ConnectError("refused"), accepted()])
    assert send(graph) == "wamid.1" and len(seen) == 2


@pytest.mark.parametrize(
    "failure",
    [lambda: meta_error(500, 131000), lambda: httpx.ReadTimeout("slow")],
)
def test_a_send_meta_may_have_acted_on_is_not_repeated(
    failure: Callable[[], httpx.Response | Exception],
) -> None:
    graph, seen = client([failure(), accepted()])
    with pytest.raises(WhatsAppError) as raised:
        send(graph)
    assert raised.value.retryable and len(seen) == 1  # retried later from the inbox


def test_a_safe_request_is_repeated_after_a_server_error() -> None:
    graph, seen = client([meta_error(503, 2), httpx.Response(200, json={"success": True})])
    asyncio.run(graph.mark_read("wamid.in", typing=True))
    assert len(seen) == 2
    assert json.loads(seen[1].content)["typing_indicator"] == {"type": "text"}


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [(401, 190, "ACCESS_TOKEN"), (400, 131047, "code 131047"), (400, 131026, "because")],
)
def test_permanent_failures_are_not_tried_again(status: int, code: int, words: str) -> None:
    graph, seen = client([meta_error(status, code)])
    with pytest.raises(WhatsAppError) as raised:
        send(graph)
    assert not raised.value.retryable and len(seen) == 1
    assert words in raised.value.message
    assert raised.value.outside_window == (code == 131047)


def test_media_is_fetched_with_the_token_and_size_checked() -> None:
    graph, seen = client(
        [
            httpx.Response(
                200,
                json={
                    "url": "https://cdn.example/m/1",
                    "mime_type": "audio/ogg; codecs=opus",
                    "file_size": 4,
                },
            ),
            httpx.Response(200, content=b"OggS"),
        ]
    )
    media = asyncio.run(graph.download("123"))
    assert (media.data, media.mime_type) == (b"OggS", "audio/ogg")
    assert all(r.headers["authorization"] == "Bearer token" for r in seen)
    big, _ = client(
        [httpx.Response(200, json={"url": "https://cdn.example/m/2", "file_size": 10**9})]
    )
    with pytest.raises(WhatsAppError, match="too large"):
        asyncio.run(big.download("124"))
    with pytest.raises(WhatsAppError):
        asyncio.run(big.download("../../me"))
