/**
 * What the voice screen shows, derived only from the room's connection state and the
 * agent's own `lk.agent.state` attribute (never from timers).
 */
import type { AgentState } from "@livekit/components-react";
import { ConnectionState, DisconnectReason } from "livekit-client";

export type VoiceUiState =
  | "idle"
  | "connecting"
  | "reconnecting"
  | "listening"
  | "thinking"
  | "speaking"
  | "butler-gone";

/**
 * `agentSeen`: the butler has been in this room, or was waited for long enough; if it
 * is not there now (its worker stopped, or none came), the screen says so instead of
 * waiting for it forever.
 */
export function voiceUiState(
  connection: ConnectionState,
  agent: AgentState,
  agentSeen = false,
): VoiceUiState {
  switch (connection) {
    case ConnectionState.Disconnected:
      return "idle";
    case ConnectionState.Connecting:
      return "connecting";
    case ConnectionState.Reconnecting:
    case ConnectionState.SignalReconnecting:
      return "reconnecting";
    case ConnectionState.Connected:
      break;
  }
  const present = ["listening", "idle", "thinking", "speaking"].includes(agent);
  if (agentSeen && !present && agent !== "initializing") return "butler-gone";
  switch (agent) {
    case "listening":
    case "idle": // the agent is there and waiting for the user: they may speak
      return "listening";
    case "thinking":
      return "thinking";
    case "speaking":
      return "speaking";
    default: // connecting, initializing, pre-connect-buffering, disconnected, failed
      return "connecting";
  }
}

export const VOICE_LABELS: Record<VoiceUiState, string> = {
  idle: "Tap the microphone to talk",
  connecting: "Connecting…",
  reconnecting: "The connection dropped. Reconnecting…",
  "butler-gone": "The butler isn't there. Press End, then tap the microphone to try again.",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
};

/**
 * A sentence that says what went wrong and what to do about it. Only admins are told
 * about servers and settings; everyone else gets a plain sentence.
 */
export function describeVoiceError(error: unknown, serverUrl?: string, admin = true): string {
  const name = (error as { name?: unknown } | null)?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return "Microphone access was refused. Allow the microphone for this site in your browser's site settings, then try again.";
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return "No microphone was found. Connect one (or pick another in your system settings) and try again.";
  }
  if (name === "NotReadableError") {
    return "The microphone is busy in another app. Close that app and try again.";
  }
  const reason = (error as { reasonName?: unknown } | null)?.reasonName;
  if ((name === "ConnectionError" || name === "NegotiationError") && !admin) {
    return "Voice isn't working on this Butler right now. Try again in a moment, and if it keeps happening, tell an admin.";
  }
  if (name === "ConnectionError" && reason === "NotAllowed") {
    return "The voice server refused Butler's token. The API's LiveKit key and secret (BUTLER_LIVEKIT__API_KEY / __API_SECRET) must match the server's.";
  }
  if (name === "ConnectionError" || name === "NegotiationError") {
    const where = serverUrl ? ` at ${serverUrl}` : "";
    return `The voice server${where} cannot be reached. Check that LiveKit is running and that BUTLER_LIVEKIT__URL (or LIVEKIT_URL) points to it.`;
  }
  const detail = error instanceof Error && error.message ? ` (${error.message})` : "";
  return `Voice could not start${detail}.`;
}

/** The DOMException name that matches a LiveKit media device failure. */
export function mediaFailureName(failure: string | undefined): string {
  if (failure === "PermissionDenied") return "NotAllowedError";
  if (failure === "DeviceInUse") return "NotReadableError";
  return "NotFoundError";
}

/** Media capture needs a secure context: HTTPS, or localhost. */
export function microphoneUnavailableReason(): string | null {
  if (typeof window !== "undefined" && !window.isSecureContext) {
    return "Voice needs a secure connection. Open Butler over HTTPS (or on localhost) to use the microphone.";
  }
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) {
    return "This browser cannot record audio. Try a current Chrome, Edge, Firefox or Safari.";
  }
  return null;
}

/**
 * Whether a room that ended this way should be replaced by a new one at once: the
 * connection was lost (the voice server restarted, the network dropped), rather than
 * ended on purpose by the person, the butler or an admin.
 */
export function reconnectsAfter(reason: DisconnectReason | undefined): boolean {
  switch (reason) {
    case undefined:
    case DisconnectReason.UNKNOWN_REASON:
    case DisconnectReason.SERVER_SHUTDOWN:
    case DisconnectReason.STATE_MISMATCH:
    case DisconnectReason.JOIN_FAILURE:
    case DisconnectReason.MIGRATION:
    case DisconnectReason.SIGNAL_CLOSE:
      return true;
    default: // the person's End, the butler's goodbye, a removal, a duplicate
      return false;
  }
}
