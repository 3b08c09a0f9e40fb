import {
  BarVisualizer,
  LiveKitRoom,
  RoomAudioRenderer,
  useConnectionState,
  useLocalParticipant,
  useRoomContext,
  useTranscriptions,
  useVoiceAssistant,
} from "@livekit/components-react";
import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { User, VoiceAvailability, VoiceGrant } from "../api/types";
import {
  describeVoiceError,
  mediaFailureName,
  microphoneUnavailableReason,
  reconnectsAfter,
  VOICE_LABELS,
  voiceUiState,
} from "./state";

// How long the butler may take to join a room before the screen says it did not.
const AGENT_JOIN_SECONDS = 30;
// After a lost connection: how long to keep trying for a new room, and how often.
const RECONNECT_SECONDS = 90;
const RECONNECT_EVERY_SECONDS = 2;

type Phase =
  | { name: "idle" }
  | { name: "fetching" }
  | { name: "reconnecting" }
  | { name: "joined"; grant: VoiceGrant };

const sleep = (seconds: number) => new Promise((done) => setTimeout(done, seconds * 1000));

function Transcript({ butlerName }: { butlerName: string }) {
  const { localParticipant } = useLocalParticipant();
  const streams = useTranscriptions();
  return (
    <div className="messages transcript" role="log" aria-live="polite" aria-label="Transcript">
      {streams.map((stream) => {
        const mine = stream.participantInfo.identity === localParticipant.identity;
        return (
          <article key={stream.streamInfo.id} className={`message ${mine ? "user" : "assistant"}`}>
            <span className="visually-hidden">{mine ? "You" : butlerName}: </span>
            <p className="plain">{stream.text}</p>
          </article>
        );
      })}
    </div>
  );
}

function Session({ butlerName, onEnd }: { butlerName: string; onEnd: () => void }) {
  const room = useRoomContext();
  const connection = useConnectionState();
  const { state: agentState, audioTrack } = useVoiceAssistant();
  const { isMicrophoneEnabled, localParticipant } = useLocalParticipant();
  const [agentSeen, setAgentSeen] = useState(false);
  const [waitedTooLong, setWaitedTooLong] = useState(false);
  useEffect(() => {
    if (["listening", "thinking", "speaking", "idle"].includes(agentState)) setAgentSeen(true);
  }, [agentState]);
  useEffect(() => {
    // A butler that never joins (no worker free) must not leave a spinner forever.
    const timer = setTimeout(() => setWaitedTooLong(true), AGENT_JOIN_SECONDS * 1000);
    return () => clearTimeout(timer);
  }, []);
  const state = voiceUiState(connection, agentState, agentSeen || waitedTooLong);

  const end = async () => {
    await room.disconnect();
    onEnd();
  };

  return (
    <>
      <div className="voice-stage" data-state={state}>
        <BarVisualizer state={agentState} barCount={5} track={audioTrack} className="visualiser" />
        <p className="voice-state" role="status" aria-live="polite" data-testid="voice-state">
          {VOICE_LABELS[state]}
        </p>
        <p className="hint">Speak any time, even while {butlerName} is talking, to interrupt.</p>
      </div>
      <div className="voice-controls">
        <button
          type="button"
          aria-pressed={!isMicrophoneEnabled}
          onClick={() => void localParticipant.setMicrophoneEnabled(!isMicrophoneEnabled)}
        >
          {isMicrophoneEnabled ? "Mute" : "Unmute"}
        </button>
        <button type="button" className="danger" onClick={() => void end()}>
          End
        </button>
      </div>
      <Transcript butlerName={butlerName} />
      <RoomAudioRenderer />
    </>
  );
}

/** Whether voice works on this Butler, asked before the microphone is offered. */
function useVoiceAvailability(): VoiceAvailability | null {
  const [availability, setAvailability] = useState<VoiceAvailability | null>(null);
  useEffect(() => {
    let current = true;
    api
      .json<VoiceAvailability>("/api/auth/voice")
      .then((found) => current && setAvailability(found))
      .catch((caught: unknown) =>
        current &&
        setAvailability({
          available: false,
          message: caught instanceof Error ? caught.message : String(caught),
        }),
      );
    return () => {
      current = false;
    };
  }, []);
  return availability;
}

export default function VoiceView({ user }: { user: User }) {
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [error, setError] = useState<string | null>(null);
  const availability = useVoiceAvailability();
  // A reconnection stops when the person leaves the voice screen: no room for nobody.
  const onScreen = useRef(true);
  useEffect(() => {
    onScreen.current = true;
    return () => {
      onScreen.current = false;
    };
  }, []);
  const butlerName = user.soul.butler_name;
  const admin = user.role === "admin";

  const fail = (message: string) => {
    setError(message);
    setPhase({ name: "idle" });
  };

  const start = async () => {
    setError(null);
    const unavailable = microphoneUnavailableReason();
    if (unavailable) return fail(unavailable);
    setPhase({ name: "fetching" });
    // The microphone first: a refusal is said at once, and no room is opened for nothing.
    try {
      const probe = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const track of probe.getTracks()) track.stop();
    } catch (caught) {
      return fail(describeVoiceError(caught, undefined, admin));
    }
    try {
      const grant = await api.json<VoiceGrant>("/api/auth/token", { method: "POST" });
      setPhase({ name: "joined", grant });
    } catch (caught) {
      fail(caught instanceof Error ? caught.message : String(caught));
    }
  };

  /**
   * The connection to the room was lost (the voice server restarted, say): once voice
   * is available again, a new room replaces the old one, with a new butler in it.
   */
  const reconnect = async (lost: VoiceGrant) => {
    setPhase({ name: "reconnecting" });
    const deadline = Date.now() + RECONNECT_SECONDS * 1000;
    while (Date.now() < deadline && onScreen.current) {
      try {
        const voice = await api.json<VoiceAvailability>("/api/auth/voice");
        if (voice.available && onScreen.current) {
          const grant = await api.json<VoiceGrant>("/api/auth/token", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ replaces: lost.room_name }),
          });
          setPhase({ name: "joined", grant });
          return;
        }
      } catch {
        // not back yet: try again shortly
      }
      await sleep(RECONNECT_EVERY_SECONDS);
    }
    if (onScreen.current) {
      fail("Voice was disconnected and could not reconnect. Tap the microphone to try again.");
    }
  };

  const grant = phase.name === "joined" ? phase.grant : null;
  const waiting = phase.name === "fetching" || phase.name === "reconnecting";
  return (
    <section className="voice" aria-label="Voice">
      {error && (
        <p className="error" role="alert" data-testid="voice-error">
          {error}
        </p>
      )}
      {grant ? (
        <LiveKitRoom
          serverUrl={grant.livekit_url}
          token={grant.livekit_token}
          connect
          audio
          video={false}
          className="voice-room"
          // Butler's ICE servers (none by default): never the public STUN servers a
          // LiveKit server hands out when it has none of its own.
          connectOptions={{
            rtcConfig: { iceServers: grant.ice_servers.map((urls) => ({ urls })) },
          }}
          onError={(caught) => fail(describeVoiceError(caught, grant.livekit_url, admin))}
          onMediaDeviceFailure={(failure) =>
            fail(describeVoiceError({ name: mediaFailureName(failure) }, grant.livekit_url, admin))
          }
          onDisconnected={(reason) => {
            if (reconnectsAfter(reason)) void reconnect(grant);
            else setPhase((p) => (p.name === "joined" ? { name: "idle" } : p));
          }}
        >
          <Session butlerName={butlerName} onEnd={() => setPhase({ name: "idle" })} />
        </LiveKitRoom>
      ) : availability && !availability.available ? (
        <div className="voice-stage" data-state="unavailable">
          <p className="voice-state" role="status" data-testid="voice-unavailable">
            {availability.message}
          </p>
          {availability.fix && (
            <p className="hint" data-testid="voice-fix">
              {availability.fix}
            </p>
          )}
        </div>
      ) : (
        <div className="voice-stage" data-state={waiting ? phase.name.replace("fetching", "connecting") : "idle"}>
          <button
            type="button"
            className="mic"
            onClick={() => void start()}
            disabled={waiting || availability === null}
            aria-label={`Talk to ${butlerName}`}
          >
            <svg viewBox="0 0 24 24" aria-hidden="true" width="40" height="40">
              <path
                fill="currentColor"
                d="M12 14a3 3 0 0 0 3-3V5a3 3 0 1 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"
              />
            </svg>
          </button>
          <p className="voice-state" role="status" data-testid="voice-state">
            {phase.name === "fetching"
              ? VOICE_LABELS.connecting
              : phase.name === "reconnecting"
                ? VOICE_LABELS.reconnecting
                : VOICE_LABELS.idle}
          </p>
        </div>
      )}
    </section>
  );
}
