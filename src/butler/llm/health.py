"""Does the configured model answer? One tiny request (a word or two, a fraction of a
cent), used by `butler doctor` and the admin's first-run checks."""

from __future__ import annotations

import asyncio

from butler.llm.base import LLMError, LLMProvider, Message, Prompt, Stop

_PROMPT = Prompt(
    system="You are being health-checked. Answer with one word.",
    messages=(Message.user("Say OK."),),
    max_tokens=16,
)


async def model_problem(provider: LLMProvider, *, seconds: float) -> str | None:
    """None when the model answered within `seconds`, else what went wrong, in words."""
    try:
        async with asyncio.timeout(seconds):
            async for event in provider.stream(_PROMPT):
                if isinstance(event, Stop):
                    return None
    except LLMError as exc:
        return exc.message
    except TimeoutError:
        return f"no answer within {seconds:.0f} s"
    return None
