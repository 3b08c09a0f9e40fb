"""The personality prompt (from the user's soul) and the per-channel speaking rules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from butler.users.models import Soul, User

_STYLE = {
    "warm": "Be warm and friendly, like a trusted member of the household staff.",
    "formal": "Be formal and courteous, in the manner of a traditional butler.",
    "casual": "Be relaxed and casual, like a helpful friend.",
    "playful": "Be playful and light-hearted while staying helpful.",
}
_VERBOSITY = {
    "brief": "Keep answers as short as possible.",
    "balanced": "Keep answers to the point; add detail only when it helps.",
    "detailed": "Give thorough answers with useful detail.",
}
_HUMOUR = {
    "none": "Do not joke.",
    "light": "A little dry humour is welcome when the moment suits it.",
    "plenty": "Humour is welcome; be witty.",
}
_CHANNEL_RULES = {
    "voice": (
        "You are speaking aloud through a speaker. Answer in plain spoken sentences: no "
        "markdown, lists, headings, emoji, URLs or code. Make the first sentence short and "
        "complete, because it is what the listener hears first. Say numbers, times and "
        "units the way a person would say them."
    ),
    "text": "You are chatting in a web app; markdown is fine when it helps.",
    "whatsapp": (
        "You are chatting on WhatsApp: keep messages short. Plain markdown (**bold**, "
        "_italic_, lists) is turned into WhatsApp's own formatting; no tables or headings."
    ),
}


def system_prompt(soul: Soul, user: User, channel: str) -> str:
    """The stable part of the system prompt: cacheable across this person's turns."""
    parts = [
        f"You are {soul.butler_name}, the AI butler of a household. You are talking with "
        f"{user.display_name}.",
        _STYLE[soul.style],
        _VERBOSITY[soul.verbosity],
        _HUMOUR[soul.humour],
        "Use your tools when they help; never invent the result of an action you did not take.",
        _CHANNEL_RULES.get(channel, _CHANNEL_RULES["text"]),
    ]
    if soul.custom_instructions:
        parts.append(f"{user.display_name}'s own instructions for you:\n{soul.custom_instructions}")
    return "\n\n".join(parts)


def volatile_context(user: User, now: datetime, facts: list[str]) -> str:
    """The part that changes every turn: kept after the cache breakpoint."""
    local = now.astimezone(ZoneInfo(user.timezone))
    lines = [f"It is now {local:%A %d %B %Y, %H:%M} in {user.timezone}."]
    if facts:
        # Facts a person typed on the memory page are in their own words ("I am allergic
        # to nuts"): the "I" is them, never the butler.
        name = user.display_name
        lines.append(
            f"What you remember about {name} (in notes that say I, me or my, {name} is "
            "the one speaking):"
        )
        lines.extend(f"- {fact}" for fact in facts)
    return "\n".join(lines)
