import { ConnectionState, DisconnectReason } from "livekit-client";
import { describe, expect, it } from "vitest";
import {
  describeVoiceError,
  mediaFailureName,
  reconnectsAfter,
  voiceUiState,
} from "../src/voice/state";

describe("voiceUiState", () => {
  it("is idle when not in a room, whatever the agent's last state", () => {
    expect(voiceUiState(ConnectionState.Disconnected, "speaking")).toBe("idle");
  });

  it("is connecting while the room or the agent is not ready", () => {
    expect(voiceUiState(ConnectionState.Connecting, "disconnected")).toBe("connecting");
    expect(voiceUiState(ConnectionState.Connected, "connecting")).toBe("connecting");
    expect(voiceUiState(ConnectionState.Connected, "initializing")).toBe("connecting");
    expect(voiceUiState(ConnectionState.Connected, "pre-connect-buffering")).toBe("connecting");
  });

  it("says when the connection is being restored", () => {
    expect(voiceUiState(ConnectionState.Reconnecting, "listening")).toBe("reconnecting");
    expect(voiceUiState(ConnectionState.SignalReconnecting, "speaking")).toBe("reconnecting");
  });

  it("says the butler is gone when it left (or never came), not while it may still come", () => {
    expect(voiceUiState(ConnectionState.Connected, "disconnected", true)).toBe("butler-gone");
    expect(voiceUiState(ConnectionState.Connected, "connecting", true)).toBe("butler-gone");
    expect(voiceUiState(ConnectionState.Connected, "disconnected", false)).toBe("connecting");
    expect(voiceUiState(ConnectionState.Connected, "listening", true)).toBe("listening");
  });

  it("follows the agent's lk.agent.state once connected", () => {
    expect(voiceUiState(ConnectionState.Connected, "listening")).toBe("listening");
    expect(voiceUiState(ConnectionState.Connected, "idle")).toBe("listening");
    expect(voiceUiState(ConnectionState.Connected, "thinking")).toBe("thinking");
    expect(voiceUiState(ConnectionState.Connected, "speaking")).toBe("speaking");
  });
});

describe("describeVoiceError", () => {
  it("explains a refused microphone and how to allow it", () => {
    const denied = new DOMException("Permission denied", "NotAllowedError");
    expect(describeVoiceError(denied)).toMatch(/Microphone access was refused.*site settings/);
    expect(describeVoiceError({ name: mediaFailureName("PermissionDenied") })).toMatch(/refused/);
  });

  it("names the LiveKit URL and the setting when the server cannot be reached", () => {
    const error = Object.assign(new Error("could not establish signal connection"), { name: "ConnectionError" });
    const text = describeVoiceError(error, "ws://127.0.0.1:7880");
    expect(text).toContain("ws://127.0.0.1:7880");
    expect(text).toContain("BUTLER_LIVEKIT__URL");
  });

  it("tells a rejected token apart from an unreachable server", () => {
    const error = Object.assign(new Error("unauthorized"), { name: "ConnectionError", reasonName: "NotAllowed" });
    expect(describeVoiceError(error)).toMatch(/refused Butler's token/);
  });

  it("never shows a member setting names or server addresses", () => {
    const unreachable = Object.assign(new Error("no signal"), { name: "ConnectionError" });
    const refused = Object.assign(new Error("unauthorized"), { name: "ConnectionError", reasonName: "NotAllowed" });
    for (const error of [unreachable, refused]) {
      const text = describeVoiceError(error, "ws://127.0.0.1:7880", false);
      expect(text).toMatch(/isn't working on this Butler/);
      expect(text).not.toMatch(/BUTLER_|LiveKit|ws:\/\//);
    }
  });

  it("says something useful about an unknown failure", () => {
    expect(describeVoiceError(new Error("boom"))).toBe("Voice could not start (boom).");
    expect(describeVoiceError({ name: mediaFailureName("NotFound") })).toMatch(/No microphone/);
  });
});

describe("reconnectsAfter", () => {
  it("replaces a room whose connection was lost", () => {
    for (const reason of [
      undefined,
      DisconnectReason.UNKNOWN_REASON,
      DisconnectReason.SERVER_SHUTDOWN,
      DisconnectReason.SIGNAL_CLOSE,
      DisconnectReason.JOIN_FAILURE,
      DisconnectReason.STATE_MISMATCH,
    ]) {
      expect(reconnectsAfter(reason)).toBe(true);
    }
  });

  it("leaves a room that was ended on purpose", () => {
    for (const reason of [
      DisconnectReason.CLIENT_INITIATED,
      DisconnectReason.ROOM_DELETED,
      DisconnectReason.PARTICIPANT_REMOVED,
      DisconnectReason.DUPLICATE_IDENTITY,
      DisconnectReason.ROOM_CLOSED,
    ]) {
      expect(reconnectsAfter(reason)).toBe(false);
    }
  });
});
