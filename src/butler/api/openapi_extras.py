"""What the OpenAPI document must say that FastAPI's routes cannot declare themselves:
the SSE event payloads, the answers of the body-reading middleware (400, 408, 413) on
every operation that takes a body, and that every error answer is JSON (FastAPI files an
error model under a route's own media type, text/plain for the WhatsApp challenge)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from butler.api.sse import ChatStreamEvents

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
_BODY_ERRORS = {
    "400": "The body could not be read: not UTF-8, or not the declared content type.",
    "408": "The body did not arrive in time (BUTLER_SERVER__BODY_READ_TIMEOUT_SECONDS).",
    "413": "The body is larger than this route accepts (BUTLER_SERVER__MAX_BODY_BYTES).",
}


def customise_openapi(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_openapi()  # FastAPI keeps it as app.openapi_schema
            _add_stream_events(document)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    _complete(operation)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _add_stream_events(document: dict[str, Any]) -> None:
    schema = TypeAdapter(ChatStreamEvents).json_schema(ref_template="#/components/schemas/{model}")
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["ChatStreamEvents"] = schema


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        for status, description in _BODY_ERRORS.items():
            responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            content: dict[str, Any] = response.get("content", {})
            first: dict[str, Any] = next(iter(content.values()), {})
            schema = first.get("schema", _ERROR_SCHEMA)
            response["content"] = {"application/json": {"schema": schema}}
