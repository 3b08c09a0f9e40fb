"""VAD, STT and TTS chosen by configuration; local models load once per process."""

from __future__ import annotations

import dataclasses
import logging

from livekit.agents import stt, tts, vad
from livekit.plugins import silero

from butler.config import STTSettings, TTSSettings, VoiceSettings
from butler.errors import ConfigError
from butler.users.voices import DEFAULT_VOICE

log = logging.getLogger(__name__)

LOCAL_VOICE = "piper_joe"
GROQ_BASE_URL = "https://api.groq.com/openai/v1"
FALLBACK_ATTEMPT_SECONDS = 5.0  # a transcription slower than this is as good as failed
# Silero's speech probability thresholds (its defaults, set here because the preflight
# transcription judges pauses by the same measure).
VAD_ACTIVATION = 0.5
VAD_DEACTIVATION = 0.35
# The preflight's pause (VoiceSettings.preflight_pause_seconds unset): one Silero window
# where a guess costs one more request; two where it costs the CPU a whole transcription.
PAUSE_FOR_STT_SERVICE = 0.03
PAUSE_FOR_LOCAL_STT = 0.06


def build_vad(settings: VoiceSettings) -> vad.VAD:
    vad_model: vad.VAD = silero.VAD.load(
        min_silence_duration=settings.vad_min_silence_seconds,
        activation_threshold=VAD_ACTIVATION,
        deactivation_threshold=VAD_DEACTIVATION,
    )
    return vad_model


def session_vad(shared: vad.VAD) -> vad.VAD:
    """A session's own VAD on the process's loaded model: its options (the shorter quiet
    that ends a complete command, voice/command_endings) then change for that session
    alone. Silero's streams share their VAD's options object, hence the copy."""
    if not isinstance(shared, silero.VAD):
        return shared
    own_options = dataclasses.replace(shared._opts)
    return silero.VAD(session=shared._onnx_session, opts=own_options)


def preflight_pause(engine: stt.STT, settings: VoiceSettings) -> float:
    """The quiet after which the utterance so far is transcribed (see VoiceSettings)."""
    from butler.voice.local_stt import LocalSTT

    if settings.preflight_pause_seconds is not None:
        return settings.preflight_pause_seconds
    return PAUSE_FOR_LOCAL_STT if isinstance(engine, LocalSTT) else PAUSE_FOR_STT_SERVICE


def streaming_stt(engine: stt.STT, vad_model: vad.VAD, settings: VoiceSettings) -> stt.STT:
    """The STT the session uses: the batch engine behind the VAD, transcribing at the
    first pause unless `preflight_pause_seconds` is 0, and reporting failures so the
    session can say it did not catch the words (see preflight_stt)."""
    from butler.voice.preflight_stt import PreflightSTT

    return PreflightSTT(
        stt_engine=engine,
        vad_model=vad_model,
        pause_seconds=preflight_pause(engine, settings),
        quiet_below=VAD_ACTIVATION,
    )


def build_stt(settings: STTSettings, vad_model: vad.VAD) -> stt.STT:
    from butler.voice.local_stt import LocalSTT

    if settings.provider == "local":
        return LocalSTT(language=settings.language)
    key = settings.api_key.get_secret_value() if settings.api_key else None
    primary: stt.STT
    if settings.provider == "groq":
        from livekit.plugins import groq

        if not key:
            log.warning("BUTLER_STT__PROVIDER=groq but GROQ_API_KEY is not set: using local STT")
            return LocalSTT(language=settings.language)
        primary = groq.STT(
            model=settings.model,
            api_key=key,
            language=settings.language,
            base_url=settings.base_url or GROQ_BASE_URL,
        )
    else:
        from livekit.plugins import openai

        primary = openai.STT(
            use_realtime=False,  # compatible servers offer the batch transcription endpoint
            model=settings.model,
            base_url=settings.base_url or "http://localhost:8000/v1",
            api_key=key or "not-needed",
            language=settings.language,
        )
    if not settings.fallback_to_local:
        return primary
    # A failing provider hands over at once (livekit's defaults retry it first, seconds
    # apart): someone is waiting for the answer. It is tried again in the background.
    return stt.FallbackAdapter(
        [primary, LocalSTT(language=settings.language)],
        vad=vad_model,
        max_retry_per_stt=0,
        attempt_timeout=FALLBACK_ATTEMPT_SECONDS,
    )


def _local_tts() -> tts.TTS | None:
    """Piper, when the optional `local-voice` extra (GPL-3.0) is installed."""
    try:
        from butler.voice.local_tts import LocalTTS

        return LocalTTS()
    except ImportError:
        return None


def _fallback_voices(settings: TTSSettings) -> list[tts.TTS]:
    """Piper if installed, then espeak-ng if on the PATH: robotic beats silent."""
    if not settings.fallback_to_local:
        return []
    from butler.voice.espeak_tts import EspeakTTS, espeak_path

    voices = [voice for voice in [_local_tts()] if voice is not None]
    executable = espeak_path()
    if executable:
        voices.append(EspeakTTS(executable))
    return voices


def build_tts(settings: TTSSettings, voice: str) -> tts.TTS:
    chain: list[tts.TTS]
    if settings.provider == "piper":
        local = _local_tts()
        if local is None:
            raise ConfigError(
                "BUTLER_TTS__PROVIDER=piper needs the local voice: "
                "pip install 'butler[local-voice]'"
            )
        chain = [local]
    else:
        from livekit.plugins import openai

        chain = [
            openai.TTS(
                model=settings.model,
                voice=DEFAULT_VOICE if voice == LOCAL_VOICE else voice,
                base_url=settings.base_url,
                api_key="kokoro",  # Kokoro takes no key; the plugin insists on one.
                response_format="pcm",
            )
        ]
    chain += [v for v in _fallback_voices(settings) if type(v) is not type(chain[0])]
    if len(chain) == 1:
        return chain[0]
    return tts.FallbackAdapter(chain, max_retry_per_tts=0)  # as for STT


def prewarm_local_models(stt_settings: STTSettings, tts_settings: TTSSettings) -> None:
    """Load the local models now (once per process) rather than on the first turn."""
    from butler.voice.local_stt import LocalWhisper

    if stt_settings.provider == "local" or stt_settings.fallback_to_local:
        LocalWhisper.shared()
    if tts_settings.provider == "piper" or tts_settings.fallback_to_local:
        _local_tts()
