"""Text chat: JSON or a stream of server-sent events, and the shared history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from butler.agent.brain import TurnRequest
from butler.api.deps import CurrentUser, Db, ServicesDep, authenticate
from butler.api.schemas import (
    ChatRequest,
    ChatResponse,
    HistoryMessage,
    HistoryPage,
    error_responses,
)
from butler.api.sse import event_stream
from butler.api.turns import collect_while_connected, ensure_ready
from butler.errors import NotFound
from butler.memory import history
from butler.users.models import User

router = APIRouter(prefix="/api/chat", tags=["chat"])
_ERRORS = error_responses(401, 413, 422, 502, 503)
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}, "application/json": {}}}
}


async def get_chat_caller(body: ChatRequest, request: Request, services: ServicesDep) -> User:
    return await authenticate(request, services, turn_text=body.message)


# The caller of a turn: like CurrentUser, with the turn's recall started early.
ChatCaller = Annotated[User, Depends(get_chat_caller)]


def _turn(body: ChatRequest, user: User) -> TurnRequest:
    return TurnRequest(
        user=user,
        channel="text",
        text=body.message,
        session_id=body.session_id,
        temporary=body.temporary,
    )


@router.post(
    "",
    response_model=ChatResponse,
    responses={**_ERRORS, **_SSE},
    summary="Send a message; JSON reply, or SSE with Accept: text/event-stream",
)
async def chat(
    body: ChatRequest,
    user: ChatCaller,
    services: ServicesDep,
    request: Request,
    accept: Annotated[str, Header()] = "application/json",
) -> ChatResponse | StreamingResponse:
    brain = ensure_ready(services)
    events = brain.run(_turn(body, user))
    if "text/event-stream" in accept:
        return event_stream(events, keepalive=services.keepalive_seconds)
    finished = await collect_while_connected(request, events)
    return ChatResponse(response=finished.text, message_id=finished.message_id)


@router.post("/stream", responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def chat_stream(
    body: ChatRequest, user: ChatCaller, services: ServicesDep
) -> StreamingResponse:
    brain = ensure_ready(services)
    return event_stream(brain.run(_turn(body, user)), keepalive=services.keepalive_seconds)


@router.get("/history", response_model=HistoryPage, responses=_ERRORS)
async def get_history(
    user: CurrentUser,
    conn: Db,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    query: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",  # no control characters
            description="Only messages containing this text (any case).",
        ),
    ] = None,
) -> HistoryPage:
    entries = await history.page(conn, user.id, before=before, limit=limit, containing=query)
    return HistoryPage(
        messages=[HistoryMessage.of(e) for e in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )


@router.delete("/history", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_history(user: CurrentUser, conn: Db) -> Response:
    await history.clear(conn, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/history/{message_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422, 503),
    summary="Forget one exchange: a question and its reply, given the id of either",
)
async def delete_turn(
    user: CurrentUser, conn: Db, message_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    # Edit-and-resend: the edited question replaces this exchange instead of sitting
    # beside it, so the model is not asked to reconcile both versions.
    if not await history.forget_turn(conn, user.id, message_id):
        raise NotFound("No such message in your history.", code="message_not_found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
