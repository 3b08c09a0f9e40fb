"""The voice worker: LiveKit Agents pipeline (VAD → STT → Butler API stream → TTS).

It talks to the Butler API over HTTP only and imports nothing from `api` or `agent`.
"""
