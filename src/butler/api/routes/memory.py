"""A person's long-term memory: list and search facts, add, edit, delete, forget all."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from butler.api.deps import CurrentUser, Db, ServicesDep
from butler.api.schemas import (
    FactCreate,
    FactOut,
    FactPage,
    FactPatch,
    ForgetResult,
    error_responses,
)
from butler.errors import NotFound
from butler.memory.facts import forget_everything

router = APIRouter(prefix="/api/memory", tags=["memory"])
_ERRORS = error_responses(401, 422)
_NOT_FOUND = "No such fact."


@router.get("/facts", response_model=FactPage, responses=_ERRORS)
async def list_facts(
    user: CurrentUser,
    conn: Db,
    services: ServicesDep,
    query: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> FactPage:
    """Newest first, or with `query` the best matches first (hybrid recall)."""
    memory = services.memory
    if query and query.strip():
        vector = await memory.recall.query_vector(user.id, query)
        found = await memory.recall.search(
            conn, user.id, query, limit=limit, offset=offset, vector=vector
        )
        facts = [s.fact for s in found]
    else:
        facts = await memory.store.latest(conn, user.id, limit=limit, offset=offset)
    return FactPage(
        facts=[FactOut.of(f) for f in facts],
        next_offset=offset + limit if len(facts) == limit else None,
    )


@router.post(
    "/facts",
    response_model=FactOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ERRORS, 200: {"model": FactOut, "description": "An existing fact updated"}},
)
async def add_fact(
    body: FactCreate, user: CurrentUser, conn: Db, services: ServicesDep, response: Response
) -> FactOut:
    """Remember a fact; one that repeats a stored fact updates it (200) instead."""
    fact, created = await services.memory.store.remember(
        conn, user.id, body.fact, category=body.category, confidence=body.confidence
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return FactOut.of(fact)


@router.patch(
    "/facts/{fact_id}", response_model=FactOut, responses=error_responses(401, 404, 409, 422)
)
async def edit_fact(
    fact_id: uuid.UUID, body: FactPatch, user: CurrentUser, conn: Db, services: ServicesDep
) -> FactOut:
    fact = await services.memory.store.update(
        conn,
        user.id,
        fact_id,
        text=body.fact,
        category=body.category,
        confidence=body.confidence,
    )
    if fact is None:
        raise NotFound(_NOT_FOUND)
    return FactOut.of(fact)


@router.delete(
    "/facts/{fact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
async def delete_fact(
    fact_id: uuid.UUID, user: CurrentUser, conn: Db, services: ServicesDep
) -> Response:
    if not await services.memory.store.delete(conn, user.id, fact_id):
        raise NotFound(_NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", response_model=ForgetResult, responses=_ERRORS)
async def forget_all(user: CurrentUser, conn: Db) -> ForgetResult:
    """Forget everything about the signed-in person: facts, history, tool and voice records."""
    return ForgetResult(deleted=await forget_everything(conn, user.id))
