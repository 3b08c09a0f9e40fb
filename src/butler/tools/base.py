"""What a tool is: a typed async function with a docstring, and the context it runs in.

    @tool(label="Checking the time")
    async def current_time(ctx: ToolContext) -> str:
        \"\"\"The current date and time where the user is.\"\"\"

The first parameter is always the ToolContext: the calling user comes from there, never
from the LLM's arguments. The other parameters become the JSON schema the LLM sees.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model

from butler.errors import ButlerError
from butler.llm.base import ToolSpec
from butler.users.models import User

Channel = Literal["text", "voice", "whatsapp"]


class ToolError(ButlerError):
    """A failure the LLM should hear about (its message is shown to the model)."""

    code = "tool_error"


@dataclass
class ToolContext:
    user: User
    channel: Channel
    session_id: str | None
    now: Callable[[], datetime]
    end_requested: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


ToolFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    label: str
    arguments: type[BaseModel]
    function: ToolFunction
    # Offered to the model only while this says so (home tools: while Home Assistant
    # is connected); None: always.
    available: Callable[[], bool] | None = None
    # Offered to and run for only the people this admits; None: everyone.
    allowed: Callable[[User], bool] | None = None
    # The arguments' JSON schema when it comes from elsewhere (an MCP server), not from
    # `arguments` (which then admits any object: the other side checks it).
    schema: dict[str, Any] | None = None

    @property
    def spec(self) -> ToolSpec:
        schema = self.schema if self.schema is not None else _clean_schema(self.arguments)
        return ToolSpec(self.name, self.description, schema)

    def offered_to(self, user: User) -> bool:
        if self.available is not None and not self.available():
            return False
        return self.allowed is None or self.allowed(user)

    async def __call__(self, ctx: ToolContext, arguments: BaseModel) -> Any:
        return await self.function(ctx, **dict(arguments))


def _clean_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def tool(*, label: str, name: str | None = None) -> Callable[[ToolFunction], Tool]:
    """Turn an async function into a Tool; `label` is shown while it runs."""

    def wrap(function: ToolFunction) -> Tool:
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"tool {function.__name__} must be an async function")
        signature = inspect.signature(function)
        hints = get_type_hints(function, include_extras=True)
        params = list(signature.parameters.values())
        if not params or hints.get(params[0].name) is not ToolContext:
            raise TypeError(f"tool {function.__name__}: the first parameter must be a ToolContext")
        fields: dict[str, Any] = {}
        for param in params[1:]:
            if param.name not in hints:
                raise TypeError(f"tool {function.__name__}: parameter {param.name} needs a type")
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (hints[param.name], default)
        tool_name = name or function.__name__
        arguments = create_model(
            f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        description = inspect.cleandoc(function.__doc__ or "").strip()
        if not description:
            raise TypeError(f"tool {tool_name} needs a docstring: it is what the LLM reads")
        return Tool(tool_name, description, label, arguments, function)

    return wrap
