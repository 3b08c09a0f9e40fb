"""Home Assistant: the WebSocket client, the live registry, exposure and the fast path."""
