"""What the WhatsApp channel needs from a transport. The Cloud API (graph.GraphClient)
is the one there is; a linked-device transport would implement the same calls, and the
channel, the brain and the stores would not change."""

from __future__ import annotations

from typing import Protocol

from butler.channels.whatsapp.graph import Media


class Transport(Protocol):
    async def send_text(self, to: str, text: str, *, reply_to: str | None = None) -> str:
        """Send a text; the transport's id for the sent message."""
        ...

    async def send_voice_note(
        self, to: str, ogg_opus: bytes, *, reply_to: str | None = None
    ) -> str: ...

    async def send_template(
        self, to: str, name: str, language: str, parameters: list[str], *, code_button: bool = False
    ) -> str:
        """A pre-approved message, the only kind allowed outside the 24-hour window."""
        ...

    async def mark_read(self, message_id: str, *, typing: bool) -> None: ...

    async def download(self, media_id: str) -> Media: ...

    async def aclose(self) -> None: ...
