"""Speech services on the wire (the OpenAI-style transcription API that Groq and
compatible servers speak, and Kokoro's speech API), with fixed delays: for the latency
benchmark, and for tests of the real STT/TTS plugins and their fallbacks.

POST /v1/audio/transcriptions answers after STT_DELAY with a fixed transcript (or,
built with `stt_status`, with OpenAI's error object and that status);
POST /v1/audio/speech (Kokoro's API) streams 24 kHz PCM after TTS_DELAY (or fails
with `tts_status`).
Run: python -m tests.fakes.speech_services PORT STT_DELAY TTS_DELAY
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

RATE = 24_000


def build(
    stt_delay: float, tts_delay: float, stt_status: int = 200, tts_status: int = 200
) -> Starlette:
    transcriptions: list[int] = []
    syntheses: list[dict[str, object]] = []  # each speech request's JSON body
    requests: list[dict[str, object]] = []

    async def transcribe(request: Request) -> JSONResponse:
        body = await request.body()
        await asyncio.sleep(stt_delay)
        transcriptions.append(stt_status)
        model = re.search(rb'name="model"\r\n\r\n([^\r]*)', body)
        requests.append(
            {
                "authorization": request.headers.get("authorization", ""),
                "model": model.group(1).decode() if model else "",
                "has_audio": b'name="file"' in body and b"RIFF" in body,
            }
        )
        if stt_status != 200:
            error = {"message": "scripted failure", "type": "server_error", "code": None}
            return JSONResponse({"error": error}, status_code=stt_status)
        return JSONResponse({"text": "Please turn off the kitchen lights."})

    async def speech(request: Request) -> Response:
        body = await request.json()
        syntheses.append(body)
        if tts_status != 200:
            error = {"message": "scripted failure", "type": "server_error", "code": None}
            return JSONResponse({"error": error}, status_code=tts_status)
        seconds = max(0.5, 0.06 * len(str(body.get("input", ""))))

        async def pcm() -> AsyncIterator[bytes]:
            await asyncio.sleep(tts_delay)
            chunk = RATE // 10
            for start in range(0, int(seconds * RATE), chunk):
                yield b"".join(
                    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * (start + i) / RATE)))
                    for i in range(chunk)
                )

        return StreamingResponse(pcm(), media_type="audio/pcm")

    app = Starlette(
        routes=[
            Route("/v1/audio/transcriptions", transcribe, methods=["POST"]),
            Route("/v1/audio/speech", speech, methods=["POST"]),
        ]
    )
    app.state.transcriptions = transcriptions  # the status of each one answered
    app.state.requests = requests  # what each transcription request carried
    app.state.syntheses = syntheses
    return app


if __name__ == "__main__":
    port, stt_delay, tts_delay = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    uvicorn.run(build(stt_delay, tts_delay), host="127.0.0.1", port=port, log_level="warning")
